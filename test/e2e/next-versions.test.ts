/**
 * What differs between Next 15 and Next 16 where the library meets it, pinned through a real
 * `next start` of the fixture app (run by the `e2e` project on 16 and by `e2e-next15` on 15), so an
 * upgrade that changes one is noticed. docs/next-versions.md lists them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, fixtureApp, nextMajor } from '../helpers/fixture.js';
import { rawGet } from '../helpers/http.js';
import { createMediaRoot } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';

let media: ReturnType<typeof createMediaRoot>;
let installed: string;
/** The fixture with the Content-Length hook installed. */
let server: RunningNext;
const text = Array.from({ length: 3000 }, (_, n) => `line ${n}: compressible\n`).join('');
/** What /length-hint/transformable serves (see its route.ts). */
const hintText = Array.from({ length: 2000 }, (_, n) => `line ${n} of a compressible text\n`).join('');

beforeAll(async () => {
  media = createMediaRoot('dv-versions-');
  media.write('text.txt', text);
  installed = await ensureBuilt(fixtureApp);
  server = await startNext(fixtureApp, { MEDIA_ROOT: media.root, DOWNLOADVIEW_TEST_LENGTH_HOOK: '1' });
}, 900_000);

afterAll(async () => {
  await server?.stop();
  media?.cleanup();
});

const gzip = { 'accept-encoding': 'gzip' };

describe(`Next ${nextMajor}`, () => {
  it(`runs the path guard from ${nextMajor >= 16 ? 'proxy.ts' : 'middleware.ts (edge runtime)'}`, async () => {
    expect(existsSync(path.join(installed, 'proxy.ts'))).toBe(nextMajor >= 16);
    expect(existsSync(path.join(installed, 'middleware.ts'))).toBe(nextMajor < 16);
    // An encoded separator and malformed encoding: the guard answers both before Next routes,
    // with its plain-text 400.
    for (const target of ['/files/a%2Fb.txt', '/files/%c0%af.txt']) {
      const response = await rawGet(server.port, target);
      expect(response.status, target).toBe(400);
      expect(response.headers['content-type'], target).toBe('text/plain; charset=utf-8');
      expect(response.body.toString(), target).toBe('Bad Request\n');
    }
  });

  it(`answers malformed percent-encoding on an unguarded route itself: ${nextMajor >= 16 ? '500' : 'an HTML 400'}`, async () => {
    const response = await rawGet(server.port, '/control/%c0%af.txt');
    if (nextMajor >= 16) {
      expect(response.status).toBe(500);
    } else {
      expect(response.status).toBe(400);
      expect(String(response.headers['content-type'])).toMatch(/^text\/html/);
    }
  });

  it('strips the Content-Length a route handler sets', async () => {
    const response = await rawGet(server.port, '/control/text.txt');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.body.toString()).toBe(text);
  });

  it(`${nextMajor >= 16 ? 'gzips' : 'never compresses'} a route handler’s response when the client accepts gzip`, async () => {
    // next@15 stores every header copied from the Response as an array (base-http/node.js
    // appendHeader), and its compression middleware takes only a string Content-Type as
    // compressible; Next 16 keeps one value as a string.
    // The library's headers without no-transform (text/plain, compressible).
    const response = await rawGet(server.port, '/length-hint/transformable', gzip);
    expect(response.status).toBe(200);
    if (nextMajor >= 16) {
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.headers['content-length']).toBeUndefined();
      expect(gunzipSync(response.body).toString()).toBe(hintText);
    } else {
      // Still uncompressed, so the Content-Length hook sizes it as any download.
      expect(response.headers['content-encoding']).toBeUndefined();
      expect(response.headers['content-length']).toBe(String(Buffer.byteLength(hintText)));
      expect(response.body.toString()).toBe(hintText);
    }
  });
});
