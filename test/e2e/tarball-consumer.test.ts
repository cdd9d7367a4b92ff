/**
 * The package as a user's app meets it: `npm pack` of this checkout installed into a throwaway
 * Next app outside the repository (test/fixtures/consumer: its own route files importing
 * `next-downloadview`, `next-downloadview/instrumentation` and `next-downloadview/proxy`), type-
 * checked with `tsc --noEmit` against the installed declarations, built with `next build`, started
 * with `next start`, and a download through each entry point checked by sha256.
 */
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packLibrary, repositoryRoot, type PackedLibrary } from '../../scripts/consumer-app.mjs';
import { ensureBuilt, nextMajor } from '../helpers/fixture.js';
import { hashedGet, rawGet, sha256 } from '../helpers/http.js';
import { createMediaRoot, writeLargeFile, type LargeFile } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';

const run = promisify(execFile);
const consumerApp = path.join(repositoryRoot, 'test/fixtures/consumer');
const MiB = 1 << 20;
const oddName = 'Bericht für März.txt';
const oddBytes = Buffer.from('Umsätze im März\n');

let media: ReturnType<typeof createMediaRoot>;
let big: LargeFile;
let packed: PackedLibrary;
let installed: string;
let server: RunningNext;

beforeAll(async () => {
  media = createMediaRoot('dv-consumer-');
  big = writeLargeFile(path.join(media.root, 'big.bin'), 5 * MiB + 123);
  media.write(oddName, oddBytes);
  media.write('private/secret.txt', 'private bytes\n');
  packed = await packLibrary();
  installed = await ensureBuilt(consumerApp);
  server = await startNext(consumerApp, { MEDIA_ROOT: media.root });
}, 900_000);

afterAll(async () => {
  await server?.stop();
  media?.cleanup();
});

/** Every file below `dir`, relative, with `/` separators. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

describe(`the installed package (Next ${nextMajor})`, () => {
  it('lives outside the repository, installed from the tarball as plain files', () => {
    expect(path.relative(repositoryRoot, installed).startsWith('..')).toBe(true);
    const packageDir = path.join(installed, 'node_modules/next-downloadview');
    expect(lstatSync(packageDir).isSymbolicLink()).toBe(false);
    expect(realpathSync(packageDir)).toBe(packageDir);
    expect(filesUnder(packageDir).sort()).toEqual([...packed.files].sort());
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies['next-downloadview']).toBe(`file:${packed.fileName}`);
    const next = JSON.parse(readFileSync(path.join(installed, 'node_modules/next/package.json'), 'utf8')) as { version: string };
    expect(Number(next.version.split('.')[0])).toBe(nextMajor);
  });

  it('built without a reference to the repository (no self-reference, alias or Turbopack root)', async () => {
    // Every path the build recorded (manifests, traces, server chunks) is inside the app.
    const { stdout } = await run('grep', ['-rlF', repositoryRoot, path.join(installed, '.next')]).catch((error: { code?: number; stdout?: string }) =>
      error.code === 1 ? { stdout: '' } : Promise.reject(error),
    );
    expect(stdout).toBe('');
  });

  it('type-checks its route files against the installed declarations (tsc --noEmit)', async () => {
    const tsc = path.join(installed, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '--noEmit', '-p', installed], { cwd: installed }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, output: error.stdout ?? '' }),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('a download through each entry point', () => {
  it('next-downloadview: the route streams the file byte-exact, whole and ranged, and enforces authorize', async () => {
    const full = await hashedGet(`${server.url}/files/big.bin`);
    expect(full.status).toBe(200);
    expect(full.sha256).toBe(big.sha256);
    const start = MiB + 7;
    const end = 4 * MiB + 11;
    const partial = await hashedGet(`${server.url}/files/big.bin`, { range: `bytes=${start}-${end}` });
    expect(partial.status).toBe(206);
    expect(partial.sha256).toBe(big.rangeHash(start, end));
    expect((await rawGet(server.port, '/files/private/secret.txt')).status).toBe(403);
    const report = await hashedGet(`${server.url}/report`);
    expect(report.status).toBe(200);
    expect(report.sha256).toBe(sha256(Buffer.from(Array.from({ length: 1000 }, (_, n) => `${n},${n * n}\n`).join(''))));
    expect(report.headers['content-disposition']).toBe('attachment; filename="report.csv"');
  });

  it('next-downloadview/instrumentation: the download declares its Content-Length, GET and HEAD', async () => {
    const full = await hashedGet(`${server.url}/files/big.bin`);
    expect(full.headers['content-length']).toBe(String(big.size));
    expect(full.headers['transfer-encoding']).toBeUndefined();
    expect(full.sha256).toBe(big.sha256);
    const head = await hashedGet(`${server.url}/files/big.bin`, {}, 'HEAD');
    expect(head.headers['content-length']).toBe(String(big.size));
    expect(head.length).toBe(0);
  });

  it(`next-downloadview/proxy (${nextMajor >= 16 ? 'proxy.ts' : 'middleware.ts'}): a guarded download goes through, a malformed path is a 400`, async () => {
    const guarded = await hashedGet(`${server.url}/files/${encodeURIComponent(oddName)}`);
    expect(guarded.status).toBe(200);
    expect(guarded.sha256).toBe(sha256(oddBytes));
    expect(guarded.headers['content-disposition']).toBe(`attachment; filename="Bericht fur Marz.txt"; filename*=UTF-8''Bericht%20f%C3%BCr%20M%C3%A4rz.txt`);
    // The guard's own answer: plain text (Next 15 answers malformed encoding itself with an HTML
    // 400, Next 16 with a 500), for malformed encoding and for an encoded separator.
    for (const target of ['/files/%c0%af.txt', '/files/a%2Fb.txt']) {
      const refused = await rawGet(server.port, target);
      expect(refused.status, target).toBe(400);
      expect(refused.headers['content-type'], target).toBe('text/plain; charset=utf-8');
      expect(refused.body.toString(), target).toBe('Bad Request\n');
    }
  });
});
