/**
 * `next-downloadview/proxy`: everything a Next 16 `proxy.ts` (Node) or Next 15 `middleware.ts`
 * (edge) needs in front of download routes. Web globals only: nothing here imports `node:`.
 */
export { downloadPathGuard, unsafePathReason, type PathGuardOptions } from './path-guard.js';
export {
  DEFAULT_STRIPPED_HEADERS,
  downloadProxy,
  type DownloadProxy,
  type DownloadProxyOptions,
  type PrefixRewrite,
  type ProxyRefusal,
  type ProxyRefusalReason,
} from './download-proxy.js';
export { canonicalPath, secretsFromEnv, signedLinks } from './signed-links.js';
export type * from './signed-links.js';
