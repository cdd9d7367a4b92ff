/**
 * `npm run example:proxy -- <proxy>` as a user runs it: the example app behind each real proxy with
 * the shipped config. A signed-in download goes through (byte-exact, offloaded: the app's
 * onDownload audit says so), the Blob and URL files too (fetched by nginx itself, streamed by the
 * app behind the others: the support grid), the generated CSV is streamed by the app, a refusal
 * stays a refusal, and the script stops both servers on SIGTERM.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startExample, type RunningExample } from '../helpers/example.js';
import { ensureBuilt, exampleApp } from '../helpers/fixture.js';
import { createMediaRoot } from '../helpers/media.js';
import { hashedGet } from '../helpers/http.js';
import { PROXY_KINDS } from '../helpers/proxies.js';
import { describeEachProxy } from '../helpers/suites.js';
import { EXAMPLE_REMOTE_FILES } from '../servers/example-world.js';

const SECRET = 'example-proxies-test-secret-0d4e8b1a6f93c2';
const nonAscii = 'users/alice/Bericht für März.txt';
const expected = readFileSync(path.join(exampleApp, 'media', nonAscii));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let media: ReturnType<typeof createMediaRoot>;

beforeAll(async () => {
  // A copy in a world-readable temp dir: the proxies run as `nobody` under root, and a clone may
  // live where `nobody` cannot walk (/root/...).
  media = createMediaRoot('dv-example-media-');
  cpSync(path.join(exampleApp, 'media'), media.root, { recursive: true });
  chmodSync(media.root, 0o755);
  await ensureBuilt(exampleApp);
}, 300_000);

afterAll(() => media?.cleanup());

describeEachProxy(PROXY_KINDS)('npm run example:proxy -- %s', (kind) => {
  let script: RunningExample;
  let url: string;
  const output = () => script.output();

  beforeAll(async () => {
    const env = { DOWNLOADVIEW_SECRET: SECRET, MEDIA_ROOT: media.root };
    script = await startExample(['scripts/example-proxy.sh', kind], env, (printed, base) => printed.includes(`[example] ${kind} on ${base}`));
    url = script.base;
  }, 180_000);

  afterAll(async () => script?.stop());

  /** The local URL upstream, as the script prints it. */
  const upstreamOrigin = () => /URL file from (http:\/\/127\.0\.0\.1:\d+)/.exec(output())?.[1] ?? 'not printed';

  /** Wait until the app's audit log has printed `line`. */
  async function audited(line: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!output().includes(line) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(output()).toContain(line);
  }

  it('offloads a signed-in download to the proxy, byte-exact under its non-ASCII name', async () => {
    const cookie = await signIn(url, 'alice');
    const target = `/files/${nonAscii.split('/').map(encodeURIComponent).join('/')}`;
    const response = await hashedGet(`${url}${target}`, { cookie });
    expect(response.status).toBe(200);
    expect(response.sha256).toBe(sha256(expected));
    expect(response.headers['content-disposition']).toContain("filename*=UTF-8''Bericht%20f%C3%BCr%20M%C3%A4rz.txt");
    expect(response.headers['x-accel-redirect'] ?? response.headers['x-sendfile']).toBeUndefined();
    await audited(`[download] alice /files/${nonAscii} offloaded 200 0 bytes (offloaded to ${kind})`);
  });

  it(`serves the Blob and URL files byte-exact, ${kind === 'nginx' ? 'fetched by nginx' : 'streamed by the app'}`, async () => {
    const cookie = await signIn(url, 'alice');
    for (const file of Object.values(EXAMPLE_REMOTE_FILES)) {
      const bytes = readFileSync(file.file);
      const target = `/${file.route}/${file.key}`;
      const whole = await hashedGet(`${url}${target}`, { cookie });
      expect(whole.status, target).toBe(200);
      expect(whole.sha256, target).toBe(sha256(bytes));
      expect(whole.headers['content-disposition']).toBe(`attachment; filename="${path.basename(file.key)}"`);
      expect(whole.headers['content-type']).toBe('text/plain; charset=utf-8');
      // Neither the storage's address nor the offload headers reach the client.
      expect(JSON.stringify(whole.headers)).not.toMatch(/vercel-storage|x-accel|x-sendfile|set-cookie/i);
      expect(JSON.stringify(whole.headers)).not.toContain(upstreamOrigin());
      const range = await hashedGet(`${url}${target}`, { cookie, range: 'bytes=10-99' });
      expect(range.status, target).toBe(206);
      expect(range.sha256, target).toBe(sha256(bytes.subarray(10, 100)));
      await audited(
        kind === 'nginx'
          ? `[download] alice ${target} offloaded 200 0 bytes (offloaded to nginx)`
          : `[download] alice ${target} completed 200 ${bytes.length} bytes`,
      );
    }
  });

  it('streams the generated CSV from the app and refuses someone else’s file', async () => {
    const cookie = await signIn(url, 'bob');
    const csv = await hashedGet(`${url}/reports/invoices.csv`, { cookie });
    expect(csv.status).toBe(200);
    expect(csv.body!.toString()).toBe('number,amount_eur,updated_at\n2026-002,80.00,2026-03-02T09:00:00Z\n');
    const refused = await hashedGet(`${url}/files/${nonAscii.split('/').map(encodeURIComponent).join('/')}`, { cookie });
    expect(refused.status).toBe(403);
    expect(refused.body!.toString()).not.toContain(expected.toString());
  });

  it('stops both servers and the local remote ones on SIGTERM', async () => {
    const upstream = upstreamOrigin();
    expect(upstream).toMatch(/^http:/);
    expect(await script.stop()).toBe(0);
    await expect(fetch(`${upstream}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(output()).toContain(`[example] ${kind} and next start stopped`);
    await expect(fetch(url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
