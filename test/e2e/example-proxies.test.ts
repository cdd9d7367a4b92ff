/**
 * `npm run example:proxy -- <proxy>` as a user runs it: the example app behind each real proxy with
 * the shipped config. A signed-in download goes through (byte-exact, offloaded: the app's
 * onDownload audit says so), the generated CSV is streamed by the app, a refusal stays a refusal,
 * and the script stops both servers on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exampleApp } from '../helpers/fixture.js';
import { createMediaRoot } from '../helpers/media.js';
import { hashedGet } from '../helpers/http.js';
import { freePort, repositoryRoot } from '../helpers/next-server.js';
import { PROXY_KINDS } from '../helpers/proxies.js';
import { describeEachProxy } from '../helpers/suites.js';

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
  let script: ChildProcess;
  let output = '';
  let url: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'dv-example-proxy-'));
    const port = await freePort();
    script = spawn('bash', ['scripts/example-proxy.sh', kind], {
      cwd: repositoryRoot,
      env: { ...process.env, PORT: String(port), DOWNLOADVIEW_SECRET: SECRET, DATA_DIR: dataDir, MEDIA_ROOT: media.root, DOWNLOADVIEW_BACKEND: '', DOWNLOADVIEW_RULES: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    script.stdout!.on('data', (chunk) => (output += chunk));
    script.stderr!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 120_000;
    while (!output.includes(`[example] ${kind} on http://127.0.0.1:${port}`)) {
      if (script.exitCode !== null || Date.now() > deadline) throw new Error(`example:proxy ${kind} did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    url = `http://127.0.0.1:${port}`;
  }, 180_000);

  afterAll(async () => {
    if (script && script.exitCode === null) {
      script.kill('SIGTERM');
      await once(script, 'exit');
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Sign in through the proxy; the session cookie. */
  async function signIn(user: string): Promise<string> {
    const response = await fetch(`${url}/auth/sign-in`, { method: 'POST', body: new URLSearchParams({ user }), redirect: 'manual' });
    expect(response.status).toBe(303);
    return response.headers.get('set-cookie')!.split(';')[0]!;
  }

  it('offloads a signed-in download to the proxy, byte-exact under its non-ASCII name', async () => {
    const cookie = await signIn('alice');
    const target = `/files/${nonAscii.split('/').map(encodeURIComponent).join('/')}`;
    const response = await hashedGet(`${url}${target}`, { cookie });
    expect(response.status).toBe(200);
    expect(response.sha256).toBe(sha256(expected));
    expect(response.headers['content-disposition']).toContain("filename*=UTF-8''Bericht%20f%C3%BCr%20M%C3%A4rz.txt");
    expect(response.headers['x-accel-redirect'] ?? response.headers['x-sendfile']).toBeUndefined();
    const deadline = Date.now() + 10_000;
    while (!output.includes(`[download] alice /files/${nonAscii} offloaded 200 0 bytes (offloaded to ${kind})`) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain(`[download] alice /files/${nonAscii} offloaded 200 0 bytes (offloaded to ${kind})`);
  });

  it('streams the generated CSV from the app and refuses someone else’s file', async () => {
    const cookie = await signIn('bob');
    const csv = await hashedGet(`${url}/reports/invoices.csv`, { cookie });
    expect(csv.status).toBe(200);
    expect(csv.body!.toString()).toBe('number,amount_eur,updated_at\n2026-002,80.00,2026-03-02T09:00:00Z\n');
    const refused = await hashedGet(`${url}/files/${nonAscii.split('/').map(encodeURIComponent).join('/')}`, { cookie });
    expect(refused.status).toBe(403);
    expect(refused.body!.toString()).not.toContain(expected.toString());
  });

  it('stops both servers on SIGTERM', async () => {
    script.kill('SIGTERM');
    const [code] = (await once(script, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(output).toContain(`[example] ${kind} and next start stopped`);
    await expect(fetch(url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
