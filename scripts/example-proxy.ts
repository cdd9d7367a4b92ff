// Started by scripts/example-proxy.sh: builds the library and the example app when stale, starts
// `next start` with the proxy's backend, then the proxy from example-app/deploy/ in front of it,
// with the same helpers the end-to-end tests use. The Blob and URL files come from the servers
// test/servers/example-world.ts starts (a local Blob store unless BLOB_READ_WRITE_TOKEN is set):
// nginx fetches them itself, the other proxies cannot, so the app streams them. Prints the app's
// log; stops everything on SIGINT/SIGTERM.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, exampleApp } from '../test/helpers/fixture.js';
import { startNext } from '../test/helpers/next-server.js';
import { PROXY_KINDS, startProxy, type ProxyKind } from '../test/helpers/proxies.js';
import { startExampleWorld } from '../test/servers/example-world.js';

const kind = process.argv[2] as ProxyKind;
if (!PROXY_KINDS.includes(kind)) throw new Error(`unknown proxy ${kind}; one of ${PROXY_KINDS.join(', ')}`);
const mediaRoot = realpathSync(process.env.MEDIA_ROOT ?? path.join(exampleApp, 'media'));
const port = Number(process.env.PORT ?? 8080);

await ensureBuilt(exampleApp);
const remote = await startExampleWorld({ nginx: kind === 'nginx' });
const next = await startNext(exampleApp, {
  ...remote.env,
  MEDIA_ROOT: mediaRoot,
  DOWNLOADVIEW_BACKEND: kind,
  // nginx needs its internal location; the others take the absolute path (identity rules).
  DOWNLOADVIEW_RULES: kind === 'nginx' ? `${mediaRoot}=/_protected/media` : '',
}).catch(async (error: unknown) => {
  await remote.stop();
  throw error;
});
const proxy = await startProxy(kind, { upstreamPort: next.port, mediaRoot, port, templateValues: remote.nginxValues }).catch(async (error: unknown) => {
  await next.stop();
  await remote.stop();
  throw error;
});
console.log(`[example] ${kind} on ${proxy.url} (next start on ${next.url}, files offloaded from ${mediaRoot})`);
console.log(`[example] Blob file from ${remote.blobStore === 'local' ? 'a local Blob-compatible store' : 'your store'}, URL file from ${remote.upstream.url}: ${kind === 'nginx' ? 'fetched by nginx' : 'streamed by the app'}`);

// Forward what the app prints (the onDownload audit lines among it).
let printed = 0;
const forward = setInterval(() => {
  const output = next.output();
  if (output.length > printed) process.stdout.write(output.slice(printed));
  printed = output.length;
}, 200);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(forward);
  await proxy.stop();
  await next.stop();
  await remote.stop();
  console.log(`[example] ${kind} and next start stopped`);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
