/** next-downloadview: protected downloads for Next.js route handlers. Curated public exports. */
export { downloadHandler, type DownloadRouteHandler } from './handler.js';
export type { Authorize, AuthorizeResult, DownloadHandlerOptions, PerFile, Refusal } from './options.js';
export { DownloadError, type DownloadErrorCode } from './errors.js';
export type { DownloadEvent, DownloadFileInfo, DownloadHook, DownloadOutcome } from './lifecycle.js';
export { canonicalPath, secretsFromEnv, signedLinks } from './signed-links.js';
export type * from './signed-links.js';
export { representationOf, serveFile, type Representation, type ServeOptions } from './serve.js';

export { filesystem, type FilesystemOptions, type FilesystemSource } from './sources/filesystem.js';
export type { FilesystemIo } from './sources/filesystem-io.js';
export { virtual, virtualFile, type VirtualBody, type VirtualFileSpec, type VirtualProducer, type VirtualSource } from './sources/virtual.js';
export { record, type RecordFile, type RecordOptions, type RecordSource } from './sources/record.js';
export { blob, type BlobOptions, type BlobSource } from './sources/blob.js';
export { remote, type RemoteBaseOptions, type RemoteCommonOptions, type RemoteOptions, type RemoteSource, type RemoteUrlOptions } from './sources/remote.js';

export { none, type BackendName, type OffloadPlan, type PlanContext, type ProxyBackend } from './proxies/backend.js';
export { redirect, type RedirectOptions } from './proxies/redirect.js';
export { nginx, type NginxOptions } from './proxies/nginx.js';
export { apache, type ApacheOptions } from './proxies/apache.js';
export { lighttpd, type LighttpdOptions } from './proxies/lighttpd.js';
export { caddy, type CaddyOptions } from './proxies/caddy.js';
export { backendFromEnv, type BackendEnv } from './proxies/from-env.js';
export type { OffloadRule, OffloadRules } from './proxies/rules.js';

export type {
  ByteRange,
  DownloadFile,
  FileBody,
  FileTarget,
  Located,
  RemoteObject,
  RequestContext,
  RouteContext,
  RouteParams,
  Source,
  SourceKind,
} from './types.js';
