import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadHandler, filesystem, signedLinks } from '../../src/index.js';
import { createMedia, type Media } from './support.js';

const SECRET = 'kQ3v9ZfL0pX7rT2mW8yB4nH6sJ1cD5gA';
let media: Media;
const clock = { now: Date.UTC(2026, 11, 2, 12) };
const links = signedLinks({ secret: SECRET, now: () => clock.now });
let GET: ReturnType<typeof downloadHandler>;

beforeAll(() => {
  media = createMedia();
  GET = downloadHandler({ source: filesystem({ root: media.root }), authorize: links.authorize() });
});
afterAll(() => media.cleanup());

/** GET the link as Next would route it under app/files/[...path]. */
async function get(link: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  const url = new URL(link, 'http://localhost');
  const key = url.pathname.replace(/^\/files\//, '').split('/').map(decodeURIComponent);
  return GET(new Request(url, { headers, method }), { params: Promise.resolve({ path: key }) });
}

describe('signed links through downloadHandler', () => {
  it('serves the file for a valid link, and resumes with Range until it expires', async () => {
    const link = await links.sign('/files/data.bin', { expiresIn: 60 });
    const full = await get(link);
    expect(full.status).toBe(200);
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(bytes.equals(media.files['data.bin']!)).toBe(true);
    clock.now += 59_000;
    const resumed = await get(link, { range: 'bytes=1000000-' });
    expect(resumed.status).toBe(206);
    expect(Buffer.from(await resumed.arrayBuffer()).equals(media.files['data.bin']!.subarray(1_000_000))).toBe(true);
    expect((await get(link, {}, 'HEAD')).status).toBe(200);
    clock.now += 60_000;
    const expired = await get(link, { range: 'bytes=1000000-' });
    expect(expired.status).toBe(410);
    expect(await expired.text()).toBe('Gone\n');
    expect(expired.headers.get('cache-control')).toBe('no-store');
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
    const response = await get(link);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('odd\n');
  });
});
