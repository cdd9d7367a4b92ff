/**
 * The path corpus (test/corpora/paths.ts) over remote keys, through `next start`: the fixture's
 * `blob` route (prefix `files/` in the project's Blob store) and `remote` route (an upstream base
 * under `/store/files`). Secret objects sit where a wrongly normalised key would land (next to the
 * prefix, at the store's root); no response may hold their bytes, no request may be a 500, nothing
 * of the store or upstream may leak, and the store's and upstream's own request logs must show no
 * request outside the allowed prefix (the traversal / SSRF evidence).
 */
import { randomBytes } from 'node:crypto';
import { put } from '@vercel/blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasMalformedEncoding, LEGIT_FILES, pathCorpus, type PathCase } from '../corpora/paths.js';
import { ensureBuilt, fixtureApp } from '../helpers/fixture.js';
import { rawGet, type RawResponse } from '../helpers/http.js';
import { findLeaks, type LeakMarkers } from '../helpers/hygiene.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { startRemoteWorld, useRemoteWorldHere, worldLeakMarkers, type RemoteWorld } from '../servers/remote-world.js';
import { storedObject } from '../servers/upstream-server.js';

const marker = randomBytes(6).toString('hex');
const secretBytes = `REMOTE-SECRET-${marker}\n`;
// The corpus aims at `<parent of root>/media-outside.txt`: with root /store/files, a key normalised
// wrongly lands on `media-outside.txt` (one climb) or `store/media-outside.txt` (two).
const root = '/store/files';
const outside = '/store/media-outside.txt';
const secretKeys = ['media-outside.txt', 'store/media-outside.txt', 'secret.bin', 'outside-dir/secret.txt', '.env'];

let world: RemoteWorld;
let next: RunningNext;
let corpus: PathCase[];

beforeAll(async () => {
  world = await startRemoteWorld();
  await useRemoteWorldHere(world);
  const token = world.blob.token;
  for (const [name, bytes] of Object.entries(LEGIT_FILES)) {
    await put(`files/${name}`, bytes, { access: 'private', token, contentType: 'text/plain' });
    world.upstream.routes.set(`${root}/${encodeURI(name)}`, { object: storedObject(Buffer.from(bytes)) });
  }
  for (const key of secretKeys) {
    await put(key, secretBytes, { access: 'private', token, contentType: 'text/plain' });
    world.upstream.routes.set(`/${key}`, { object: storedObject(Buffer.from(secretBytes)) });
    world.upstream.routes.set(`/store/${key}`, { object: storedObject(Buffer.from(secretBytes)) });
  }
  corpus = pathCorpus(root, outside);
  await ensureBuilt(fixtureApp);
  next = await startNext(fixtureApp, { ...world.nextEnv, TEST_BLOB_TOKEN: token, REMOTE_UPSTREAM_URL: `${world.upstream.url}${root}` });
}, 300_000);

afterAll(async () => {
  await next?.stop();
  await world?.close();
});

function markers(): LeakMarkers {
  const fromWorld = worldLeakMarkers(world);
  return { urls: fromWorld.urls, secrets: [...fromWorld.secrets, secretBytes.trim(), 'vercel-blob-signature'] };
}

/**
 * A logged path with a `..` segment (as decoded by the test server): a store or upstream that
 * normalises it (most real ones do) would serve something outside the prefix.
 */
function climbs(logged: string): boolean {
  return logged.split(/[/\\]/).includes('..');
}

/** The logged path as an upstream that percent-decodes a second time would read it. */
function decodedAgain(logged: string): string {
  return logged.replace(/%[0-9a-f]{2}/gi, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)));
}

/** Send the corpus under `prefix`: problems with any response (empty when all hold). */
async function runCorpus(prefix: string): Promise<{ problems: string[]; served: number; refused: number }> {
  const problems: string[] = [];
  let served = 0;
  let refused = 0;
  for (let i = 0; i < corpus.length; i += 12) {
    await Promise.all(
      corpus.slice(i, i + 12).map(async (entry) => {
        const target = `${prefix}${entry.tail}`;
        let response: RawResponse;
        try {
          response = await rawGet(next.port, target);
        } catch (error) {
          problems.push(`${target}: no response (${(error as Error).message})`);
          return;
        }
        const ok = response.status >= 200 && response.status < 300;
        if (response.body.includes(secretBytes.trim())) problems.push(`${target} [${entry.family}]: body holds a secret object's bytes`);
        problems.push(...findLeaks(response, { ...markers(), skipBody: false, reflected: target }).map((leak) => `${target} (${response.status}): ${leak}`));
        // Next's own 500 for malformed percent-encoding comes before any route (see hostile-inputs).
        if (response.status >= 500 && !(response.status === 500 && hasMalformedEncoding(target))) problems.push(`${target} [${entry.family}]: ${response.status}`);
        if (ok) served += 1;
        else refused += 1;
        if (entry.expect.kind === 'refused' && ok) problems.push(`${target} [${entry.family}]: served ${response.status}, must be refused`);
        if (entry.expect.kind !== 'refused' && ok && !response.body.equals(Buffer.from(LEGIT_FILES[entry.expect.file] ?? '\0'))) {
          problems.push(`${target} [${entry.family}]: 2xx but not the bytes of ${entry.expect.file}`);
        }
      }),
    );
  }
  return { problems, served, refused };
}

describe('remote keys: the path corpus through next start', () => {
  it('blob(): refused or byte-exact, no 500, no leak, the store sees only files/ keys', async () => {
    const before = world.blob.objectRequests.length;
    const { problems, served, refused } = await runCorpus('/blob/');
    const outsidePrefix = world.blob.objectRequests.slice(before).filter((request) => !request.pathname.startsWith('files/') || climbs(request.pathname));
    problems.push(...outsidePrefix.map((request) => `store asked for ${JSON.stringify(request.pathname)} (${request.method})`));
    console.log(`[hostile-remote] /blob: ${corpus.length} paths, ${served} served, ${refused} refused`);
    expect(problems).toEqual([]);
  });

  it('remote(): refused or byte-exact, no 500, no leak, the upstream sees only /store/files/ paths', async () => {
    const before = world.upstream.requests.length;
    const { problems, served, refused } = await runCorpus('/remote/');
    const seen = world.upstream.requests.slice(before);
    const outsidePrefix = seen.filter((request) => !request.path.startsWith(`${root}/`));
    problems.push(...outsidePrefix.map((request) => `upstream asked for ${JSON.stringify(request.path)} (${request.method})`));
    // The fixture route uses remote({ base }). Before base existed it built the URL in url() with
    // encodeURIComponent alone, which turns a param `../x` into `..%2Fx`; an upstream that decodes
    // %2F before resolving dot segments serves that from outside the prefix (this corpus found 70
    // such requests). None may reach the upstream, nor climb at an upstream that decodes twice.
    const climbing = seen.filter((request) => climbs(request.path) || climbs(decodedAgain(request.path)));
    console.log(`[hostile-remote] /remote: ${corpus.length} paths, ${served} served, ${refused} refused; ${climbing.length} upstream requests with an encoded climb`);
    problems.push(...climbing.map((request) => `upstream asked for an encoded climb ${JSON.stringify(request.path)} (${request.method})`));
    expect(problems).toEqual([]);
  });
});
