import { startBenchStore } from './remote-store.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os'; import path from 'node:path';
import { blob, downloadHandler, redirect } from '../src/index.js';
import { head, issueSignedToken, presignUrl } from '@vercel/blob';
const dir = mkdtempSync(path.join(os.tmpdir(), 'rd-'));
writeFileSync(path.join(dir, 'small.bin'), Buffer.alloc(1024, 7));
const store = await startBenchStore(dir, ['small.bin']);
const token = store.world.blob.token;
const lib = downloadHandler({ source: blob({ access: 'private', token, prefix: 'bench-private/' }), backend: redirect() });
let delegation: any;
async function bare(request: Request) {
  const pathname = 'bench-private/small.bin';
  await head(pathname, { token });
  delegation ??= issueSignedToken({ token, operations: ['get', 'head'], validUntil: Date.now() + 3_600_000 });
  const { presignedUrl } = await presignUrl(await delegation, { operation: 'get', pathname, access: 'private', validUntil: Date.now() + 300000 });
  const url = new URL(presignedUrl); url.searchParams.set('download', '1');
  return new Response(null, { status: 302, headers: { location: url.href, 'cache-control': 'private, no-store', 'referrer-policy': 'no-referrer' } });
}
const ctx = () => ({ params: Promise.resolve({ path: ['small.bin'] }) });
const which = process.argv[2];
async function run(n: number) {
  const t = process.cpuUsage(); const w = performance.now();
  for (let i = 0; i < n; i++) {
    const req = new Request('http://localhost/files/small.bin');
    const res = which === 'lib' ? await (lib.GET as any)(req, ctx()) : await bare(req);
    if (res.status !== 302) throw new Error(String(res.status));
  }
  const c = process.cpuUsage(t);
  return { cpuPerReqUs: ((c.user + c.system) / n).toFixed(0), wallPerReqUs: ((performance.now() - w) * 1000 / n).toFixed(0) };
}
await run(300);
console.log(which, await run(2000), await run(2000));
await store.close();
