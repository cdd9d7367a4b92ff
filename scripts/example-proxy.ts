// Started by scripts/example-proxy.sh: builds the library and the example app when stale, starts
// `next start` with the proxy's backend, then the proxy from example-app/deploy/ in front of it,
// with the same helpers the end-to-end tests use. Prints the app's log; stops both on SIGINT/SIGTERM.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, exampleApp } from '../test/helpers/fixture.js';
import { startNext } from '../test/helpers/next-server.js';
import { PROXY_KINDS, startProxy, type ProxyKind } from '../test/helpers/proxies.js';

const kind = process.argv[2] as ProxyKind;
if (!PROXY_KINDS.includes(kind)) throw new Error(`unknown proxy ${kind}; one of ${PROXY_KINDS.join(', ')}`);
const mediaRoot = realpathSync(process.env.MEDIA_ROOT ?? path.join(exampleApp, 'media'));
const port = Number(process.env.PORT ?? 8080);

await ensureBuilt(exampleApp);
const next = await startNext(exampleApp, {
  MEDIA_ROOT: mediaRoot,
  DOWNLOADVIEW_BACKEND: kind,
  // nginx needs its internal location; the others take the absolute path (identity rules).
  DOWNLOADVIEW_RULES: kind === 'nginx' ? `${mediaRoot}=/_protected/media` : '',
});
const proxy = await startProxy(kind, { upstreamPort: next.port, mediaRoot, port }).catch(async (error: unknown) => {
  await next.stop();
  throw error;
});
console.log(`[example] ${kind} on ${proxy.url} (next start on ${next.url}, files offloaded from ${mediaRoot})`);

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
  console.log(`[example] ${kind} and next start stopped`);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
