/** What the four proxy backends share: rule mapping, the support grid, the empty 200. */
import { DownloadError } from '../errors.js';
import { isFieldValue } from '../http/field-value.js';
import { setLengthHint } from '../length-hint.js';
import type { DownloadFile, SourceKind } from '../types.js';
import type { BackendName, OffloadPlan, PlanContext, ProxyBackend } from './backend.js';
import { applyRules, normaliseRules, type OffloadRule, type OffloadRules } from './rules.js';

export interface OffloadBackendSpec {
  name: Exclude<BackendName, 'none'>;
  /** Response header naming the file for the proxy. */
  header: string;
  /** Source kinds this proxy can take (django-downloadview's support grid). */
  accepts: readonly SourceKind[];
  handlesPreconditions: boolean;
  /** `null`: no files on disk are offloaded (a remote-only nginx). */
  rules: OffloadRules | null;
  /** Turn a mapped location into the header value; `undefined` when it cannot be expressed. */
  encode: (location: string) => string | undefined;
  /** Fixed extra headers (nginx's X-Accel-*). */
  extraHeaders?: Record<string, string>;
  /**
   * Remote files (blob, URL): the internal location that fetches a URL, and the header carrying
   * the URL to it (nginx only: `proxy_pass` to a URL taken from the app's response).
   */
  remote?: { location: string; header: string };
}

export function offloadBackend(spec: OffloadBackendSpec): ProxyBackend {
  const rules: OffloadRule[] | null = spec.rules === null ? null : normaliseRules(spec.rules, `${spec.name}.rules`);
  return {
    name: spec.name,
    handlesPreconditions: spec.handlesPreconditions,
    plan(file: DownloadFile, context: PlanContext): OffloadPlan {
      if (file.kind === 'blob' || file.kind === 'remote') return planRemote(spec, file, context);
      if (!spec.accepts.includes(file.kind)) return { kind: 'stream', reason: `${spec.name} cannot serve ${file.kind} files; streamed by the app` };
      if (rules === null) return { kind: 'stream', reason: `${spec.name} has no rules for files on disk; streamed by the app` };
      if (file.path === undefined) return { kind: 'stream', reason: `${file.kind} file has no location for ${spec.name}; streamed by the app` };
      const mapped = applyRules(rules, file.path);
      if (!mapped) return { kind: 'stream', reason: `no ${spec.name} rule matches the file's location; streamed by the app` };
      const value = spec.encode(mapped.to + mapped.rest);
      // A value the header cannot carry exactly (a control character, a trailing space that
      // `Headers` would trim) could name a different file to the proxy: stream instead.
      if (value === undefined || value === '' || !isFieldValue(value)) return { kind: 'stream', reason: `the file's path cannot be expressed in ${spec.header}; streamed by the app` };
      return { kind: 'offload', location: value };
    },
    respond(location, headers) {
      const response = new Headers(headers);
      // The proxy does Range and sends its own length; these would be wrong or misleading here.
      response.delete('content-length');
      response.delete('content-range');
      if (spec.remote && isRemoteUrl(location)) {
        // The storage URL travels to the proxy only; nginx drops the app's headers on the internal redirect.
        response.set(spec.header, spec.remote.location);
        response.set(spec.remote.header, location);
      } else {
        response.set(spec.header, location);
      }
      for (const [name, value] of Object.entries(spec.extraHeaders ?? {})) response.set(name, value);
      // The body to the proxy is empty: with the instrumentation hook it goes out with
      // `Content-Length: 0` instead of an empty chunked body, which lets nginx and Caddy keep their
      // connection to the app (they close it when they take over before the last chunk arrived).
      setLengthHint(response, 0);
      return new Response(null, { status: 200, headers: response });
    },
  };
}

function isRemoteUrl(location: string): boolean {
  return location.startsWith('https://') || location.startsWith('http://');
}

/** A blob or URL: the proxy fetches it itself (presigned for the method) where it can. */
function planRemote(spec: OffloadBackendSpec, file: DownloadFile, context: PlanContext): OffloadPlan {
  const remote = file.remote;
  if (!spec.remote) return { kind: 'stream', reason: `${spec.name} cannot fetch ${file.kind} files; streamed by the app` };
  if (!remote?.offloadable) return { kind: 'stream', reason: `${file.kind} file needs the app's credentials to fetch; streamed by the app` };
  const method = context.method === 'HEAD' ? 'HEAD' : 'GET';
  return {
    kind: 'offload',
    remote: true,
    location: async () => {
      const url = await remote.url(method);
      // A URL the header cannot carry exactly must not reach the proxy altered.
      if (!isRemoteUrl(url) || !isFieldValue(url)) throw new DownloadError('upstream_error', `the ${file.kind} URL cannot be sent in ${spec.remote!.header}`);
      return url;
    },
  };
}
