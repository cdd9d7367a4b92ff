import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadHandler, filesystem, signedLinks } from '../../src/index.js';
import { assertDownload } from '../../src/testing/index.js';
import { createMedia, fetchRoute, releaseUnread, type Media } from './support.js';

const SECRET = 'kQ3v9ZfL0pX7rT2mW8yB4nH6sJ1cD5gA';
let media: Media;
const clock = { now: Date.UTC(2026, 11, 2, 12) };
const links = signedLinks({ secret: SECRET, now: () => clock.now });
let GET: ReturnType<typeof downloadHandler>;

beforeAll(() => {
  media = createMedia();
  GET = downloadHandler({ source: filesystem({ root: media.root }), authorize: links.authorize() });
});
afterEach(releaseUnread);
afterAll(() => media.cleanup());

/** The link as Next would route it under app/files/[...path]. */
const get = (link: string, headers: Record<string, string> = {}, method = 'GET') => fetchRoute(GET, link, { headers, method });

describe('signed links through downloadHandler', () => {
  it('serves the file for a valid link, and resumes with Range until it expires', async () => {
    const link = await links.sign('/files/data.bin', { expiresIn: 60 });
    await assertDownload(await get(link), { filename: 'data.bin', body: media.files['data.bin']! });
    clock.now += 59_000;
    await assertDownload(await get(link, { range: 'bytes=1000000-' }), { status: 206, body: media.files['data.bin']!.subarray(1_000_000) });
    await assertDownload(await get(link, {}, 'HEAD'), { size: 0, headers: { 'content-length': String(media.files['data.bin']!.length) } });
    clock.now += 60_000;
    await assertDownload(await get(link, { range: 'bytes=1000000-' }), { status: 410, body: 'Gone\n', headers: { 'cache-control': 'no-store' } });
  });

  it('answers every other failure with a plain 403 that says nothing about why', async () => {
    const link = new URL(await links.sign('/files/hello.txt', { expiresIn: 60 }), 'http://localhost');
    const tampered = new URL(link);
    tampered.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 60));
    const bodies = new Set<string>();
    for (const url of [tampered, new URL('/files/hello.txt', link), new URL(`/files/nested/deep/report.pdf${link.search}`, link)]) {
      const response = await get(url.href);
      expect(response.status).toBe(403);
      expect(response.headers.get('content-disposition')).toBeNull();
      bodies.add(await response.text());
    }
    expect([...bodies]).toEqual(['Forbidden\n']);
  });

  it('signs and serves a non-ASCII name however the client encodes it', async () => {
    const link = await links.sign('/files/odd names/ré sumé 名前 %3F%23%25.txt');
    await assertDownload(await get(link), { filename: 'ré sumé 名前 ?#%.txt', body: 'odd\n' });
    const [path, query] = link.split('?');
    const loose = `${path!.replace('%E5%90%8D', '名').replace(/%([0-9A-F]{2})/g, (match) => match.toLowerCase())}?${query}`;
    await assertDownload(await get(loose), { body: 'odd\n' });
  });
});
