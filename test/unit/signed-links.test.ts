import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalPath, secretsFromEnv, signedLinks, type SignedLinksOptions } from '../../src/signed-links.js';

const SECRET = 'kQ3v9ZfL0pX7rT2mW8yB4nH6sJ1cD5gA';
const OLD_SECRET = 'Old-secret-7h2K9pQ4xZ1vB8nM3cR6tY0wE5sA';
const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);

/** Links on a clock the test moves. */
function linksAt(options: SignedLinksOptions = {}) {
  const clock = { now: T0 };
  const links = signedLinks({ secret: SECRET, now: () => clock.now, ...options });
  return { links, clock };
}

const expiresOf = (link: string) => Number(new URL(link, 'http://x').searchParams.get('expires'));

describe('sign', () => {
  it('writes the canonical path, then expires, claims and signature', async () => {
    const { links } = linksAt();
    const link = await links.sign('/files/Bericht für März.txt', { expiresIn: 60, claims: { user: '42' } });
    const [path, query] = link.split('?');
    expect(path).toBe('/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt');
    expect(query).toMatch(new RegExp(`^expires=${T0 / 1000 + 60}&claims=eyJ1c2VyIjoiNDIifQ&signature=[A-Za-z0-9_-]{43}$`));
  });

  it('is HMAC-SHA256 over the documented canonical message (docs/signed-links.md)', async () => {
    const { links } = linksAt();
    const link = await links.sign('/files/a b.txt?z=1&a=%C3%A9', { expiresIn: 60 });
    const message = ['next-downloadview signed link v1', '/files/a%20b.txt', 'a=%C3%A9&z=1', String(T0 / 1000 + 60), ''].join('\n');
    const expected = createHmac('sha256', SECRET).update(message).digest('base64url');
    expect(new URL(link, 'http://x').searchParams.get('signature')).toBe(expected);
  });

  it('takes literal segments for names holding %, ? or #', async () => {
    const { links } = linksAt();
    const link = await links.sign(['files', 'odd names', 'ré sumé ?#%.txt']);
    expect(link.split('?')[0]).toBe('/files/odd%20names/r%C3%A9%20sum%C3%A9%20%3F%23%25.txt');
    expect((await links.verify(`http://host${link}`)).ok).toBe(true);
  });

  it('refuses paths it cannot sign unambiguously', async () => {
    const { links } = linksAt();
    await expect(links.sign('/files/100%.txt')).rejects.toThrow(/malformed percent-encoding.*%25/);
    await expect(links.sign('files/a.txt')).rejects.toThrow(/starting with a single "\/"/);
    await expect(links.sign('//evil.example/a.txt')).rejects.toThrow(/single "\/"/);
    await expect(links.sign('/files/a#b.txt')).rejects.toThrow(/%23/);
    await expect(links.sign('/files/a.txt?expires=1')).rejects.toThrow(/already has a "expires"/);
    await expect(links.sign('/a', { expiresIn: 0 })).rejects.toThrow(/expiresIn/);
    await expect(links.sign('/a', { expiresIn: 1.5 })).rejects.toThrow(/expiresIn/);
    await expect(links.sign('/a', { expires: new Date(Number.NaN) })).rejects.toThrow(/expires/);
    await expect(links.sign('/a', { claims: { 'a b': 'x' } })).rejects.toThrow(/claim name/);
    await expect(links.sign('/a', { claims: { user: 42 as unknown as string } })).rejects.toThrow(/claim "user"/);
  });
});

describe('verify: one canonical form', () => {
  it('accepts the signed path however the browser or a person encodes it', async () => {
    const { links } = linksAt();
    const link = await links.sign('/files/Bericht für März.txt');
    const query = link.slice(link.indexOf('?'));
    for (const path of [
      '/files/Bericht für März.txt',
      '/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt',
      '/files/Bericht%20f%c3%bcr%20M%c3%a4rz.txt',
      '/files/%42ericht%20für%20März.txt',
      '/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt/',
      '/files/x/../Bericht für März.txt',
    ]) {
      expect((await links.verify(`http://host${path}${query}`)).ok, path).toBe(true);
    }
  });

  it("treats !'()* encoded or not as the same name", async () => {
    const { links } = linksAt();
    const link = await links.sign("/files/it's (1)!.txt");
    const query = link.slice(link.indexOf('?'));
    expect(link).toContain('/files/it%27s%20%281%29%21.txt');
    expect((await links.verify(`http://host/files/it's%20(1)!.txt${query}`)).ok).toBe(true);
  });

  it('keeps apart what names different files: %2F and /, NFC and NFD, case', async () => {
    const { links } = linksAt();
    const signed = await links.sign('/files/a%2Fb.txt');
    const query = signed.slice(signed.indexOf('?'));
    expect((await links.verify(`http://host/files/a%2Fb.txt${query}`)).ok).toBe(true);
    expect(await links.verify(`http://host/files/a/b.txt${query}`)).toEqual({ ok: false, reason: 'bad-signature' });
    const nfc = await links.sign('/files/März.txt'.normalize('NFC'));
    const nfcQuery = nfc.slice(nfc.indexOf('?'));
    expect((await links.verify(`http://host/files/${encodeURIComponent('März.txt'.normalize('NFD'))}${nfcQuery}`)).ok).toBe(false);
    expect((await links.verify(`http://host/files/märz.txt${nfcQuery}`)).ok).toBe(false);
  });

  it('covers every other query parameter, in any order and spelling', async () => {
    const { links } = linksAt();
    const link = await links.sign('/records/7?format=pdf&lang=de');
    const url = new URL(link, 'http://host');
    const reordered = `/records/7?lang=de&${url.searchParams.toString().replace('format=pdf&lang=de&', '')}&format=%70df`;
    expect((await links.verify(`http://host${reordered}`)).ok).toBe(true);
    url.searchParams.set('format', 'csv');
    expect((await links.verify(url)).ok).toBe(false);
    url.searchParams.set('format', 'pdf');
    url.searchParams.append('utm_source', 'chat');
    expect(await links.verify(url)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('canonicalPath', () => {
    expect(canonicalPath('/files/a%2fb/%7Euser/')).toBe('/files/a%2Fb/~user');
    expect(canonicalPath('/')).toBe('/');
    expect(canonicalPath('/files/%c0%af')).toBeUndefined();
    expect(canonicalPath('/files/%')).toBeUndefined();
  });
});

describe('verify: failures told apart', () => {
  it('missing: no link parameters', async () => {
    const { links } = linksAt();
    expect(await links.verify('http://host/files/a.txt')).toEqual({ ok: false, reason: 'missing' });
    expect(await links.verify('http://host/files/a.txt?claims=e30')).toEqual({ ok: false, reason: 'missing' });
  });

  it('malformed: unreadable, duplicated or non-canonical parameters', async () => {
    const { links } = linksAt();
    const link = new URL(await links.sign('/files/a.txt', { claims: { user: '1' } }), 'http://host');
    const variant = (edit: (query: URLSearchParams) => void): URL => {
      const copy = new URL(link);
      edit(copy.searchParams);
      return copy;
    };
    const signature = link.searchParams.get('signature')!;
    for (const url of [
      variant((q) => q.set('expires', 'soon')),
      variant((q) => q.set('expires', '-5')),
      variant((q) => q.delete('expires')),
      variant((q) => q.delete('signature')),
      variant((q) => q.append('expires', '99999999999')),
      variant((q) => q.append('signature', signature)),
      variant((q) => q.set('signature', `${signature}A`)),
      variant((q) => q.set('signature', signature.replace(/.$/, '+'))),
      variant((q) => q.set('claims', '!!')),
      variant((q) => q.set('claims', btoa('[1]').replace(/=+$/, ''))),
      new URL(`http://host/files/%c0%af${link.search}`),
    ]) {
      expect(await links.verify(url), url.href).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('malformed: a second spelling of the same signature bytes (unused base64 bits set)', async () => {
    const { links } = linksAt();
    const link = new URL(await links.sign('/files/a.txt'), 'http://host');
    const signature = link.searchParams.get('signature')!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 43 characters carry 258 bits for 256: the last character's two low bits are unused.
    const last = alphabet.indexOf(signature.at(-1)!);
    link.searchParams.set('signature', signature.slice(0, -1) + alphabet[last ^ 1]);
    expect(await links.verify(link)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('bad-signature: any signed part changed, or another secret', async () => {
    const { links, clock } = linksAt();
    const link = new URL(await links.sign('/files/a.txt', { claims: { user: '1' } }), 'http://host');
    const later = new URL(link);
    later.searchParams.set('expires', String(expiresOf(link.href) + 3600));
    const otherUser = new URL(link);
    otherUser.searchParams.set('claims', btoa('{"user":"2"}').replace(/=+$/, ''));
    const noClaims = new URL(link);
    noClaims.searchParams.delete('claims');
    const otherFile = new URL(link);
    otherFile.pathname = '/files/b.txt';
    const flipped = new URL(link);
    const signature = link.searchParams.get('signature')!;
    flipped.searchParams.set('signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
    for (const url of [later, otherUser, noClaims, otherFile, flipped]) {
      expect(await links.verify(url), url.href).toEqual({ ok: false, reason: 'bad-signature' });
    }
    const stranger = signedLinks({ secret: 'another-secret-of-enough-length-9876543210', now: () => clock.now });
    expect(await stranger.verify(link)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('expired: after expiry plus the clock skew, not before', async () => {
    const { links, clock } = linksAt({ clockSkew: 30 });
    const link = `http://host${await links.sign('/files/a.txt', { expiresIn: 60 })}`;
    clock.now = T0 + 60_000 + 30_000;
    expect((await links.verify(link)).ok).toBe(true);
    clock.now += 1;
    expect(await links.verify(link)).toEqual({ ok: false, reason: 'expired', expires: new Date(T0 + 60_000), claims: {} });
    expect(links.refusalFor('expired')).toEqual({ refuse: 'gone', reason: 'signed-link:expired' });
    expect(linksAt({ expiredStatus: 403 }).links.refusalFor('expired')).toEqual({ refuse: 'forbidden', reason: 'signed-link:expired' });
  });

  it('expired is only told for a genuine link: a forged expiry is a bad signature', async () => {
    const { links } = linksAt();
    const link = new URL(await links.sign('/files/a.txt', { expires: new Date(T0 - 3_600_000) }), 'http://host');
    expect((await links.verify(link)).ok === false && (await links.verify(link))).toMatchObject({ reason: 'expired' });
    link.searchParams.set('expires', String(Math.floor(T0 / 1000) - 7200));
    expect(await links.verify(link)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('mismatched: a genuine link bound to other claims', async () => {
    const { links } = linksAt();
    const link = `http://host${await links.sign('/files/a.txt', { claims: { user: '1', org: 'acme' } })}`;
    expect(await links.verify(link, { claims: { user: '1' } })).toMatchObject({ ok: true, claims: { user: '1', org: 'acme' } });
    expect(await links.verify(link, { claims: { user: '2' } })).toMatchObject({ ok: false, reason: 'mismatched' });
    expect(await links.verify(link, { claims: { role: 'admin' } })).toMatchObject({ ok: false, reason: 'mismatched' });
  });

  it('verifies a link signed for a public path on the path it was rewritten to', async () => {
    const { links } = linksAt();
    const link = await links.sign('/d/report.pdf');
    const rewritten = `http://host/api/files/report.pdf${link.slice(link.indexOf('?'))}`;
    expect((await links.verify(rewritten)).ok).toBe(false);
    expect((await links.verify(rewritten, { path: '/d/report.pdf' })).ok).toBe(true);
  });
});

describe('secrets and rotation', () => {
  it('the first secret signs, every one verifies', async () => {
    const old = signedLinks({ secret: OLD_SECRET, now: () => T0 });
    const rotated = signedLinks({ secret: [SECRET, OLD_SECRET], now: () => T0 });
    const retired = signedLinks({ secret: SECRET, now: () => T0 });
    const fromOld = `http://host${await old.sign('/files/a.txt')}`;
    expect((await rotated.verify(fromOld)).ok).toBe(true);
    expect(await retired.verify(fromOld)).toEqual({ ok: false, reason: 'bad-signature' });
    const fromRotated = `http://host${await rotated.sign('/files/a.txt')}`;
    expect((await retired.verify(fromRotated)).ok).toBe(true);
    expect((await old.verify(fromRotated)).ok).toBe(false);
  });

  it('is stateless: instances sharing the secret accept each other’s links', async () => {
    const a = signedLinks({ secret: SECRET, now: () => T0 });
    const b = signedLinks({ secret: new TextEncoder().encode(SECRET), now: () => T0 });
    expect((await b.verify(`http://other-host${await a.sign('/x/y.bin')}`)).ok).toBe(true);
  });

  it('validates secrets at factory time without echoing them', () => {
    const attempts: [unknown, RegExp][] = [
      ['too-short-secret', /at least 32 bytes, got 16/],
      [[SECRET, 'short'], /secret #2/],
      ['a'.repeat(64), /placeholder/],
      [12345, /string or Uint8Array, got number/],
      [[], /names no secret/],
      [new Uint8Array(16), /at least 32 bytes/],
    ];
    for (const [secret, message] of attempts) {
      let error: unknown;
      try {
        signedLinks({ secret: secret as string });
      } catch (caught) {
        error = caught;
      }
      expect(error, String(secret)).toBeInstanceOf(Error);
      expect(String((error as Error).message)).toMatch(message);
      expect(String((error as Error).message)).not.toContain('too-short-secret');
    }
  });

  it('validates the other options, naming them', () => {
    expect(() => signedLinks({ secret: SECRET, clockSkew: 301 })).toThrow(/clockSkew/);
    expect(() => signedLinks({ secret: SECRET, clockSkew: -1 })).toThrow(/clockSkew/);
    expect(() => signedLinks({ secret: SECRET, expiresIn: 0 })).toThrow(/expiresIn/);
    expect(() => signedLinks({ secret: SECRET, expiredStatus: 404 as 403 })).toThrow(/expiredStatus/);
    expect(() => signedLinks({ secret: SECRET, params: { signature: 'expires' } })).toThrow(/three different/);
    expect(() => signedLinks({ secret: SECRET, params: { expires: 'a b' } })).toThrow(/params\.expires/);
    expect(() => signedLinks({ secret: SECRET }).authorize({ claims: 'user' as never })).toThrow(/authorize\.claims/);
  });

  it('while next build evaluates a route, defers a missing secret to first use (then names it)', async () => {
    const saved = { phase: process.env.NEXT_PHASE, secret: process.env.DOWNLOADVIEW_SECRET };
    delete process.env.DOWNLOADVIEW_SECRET;
    try {
      expect(() => signedLinks()).toThrow(/DOWNLOADVIEW_SECRET/);
      process.env.NEXT_PHASE = 'phase-production-build';
      const deferred = signedLinks();
      await expect(deferred.verify('http://h/a?expires=1&signature=x')).resolves.toEqual({ ok: false, reason: 'malformed' });
      await expect(deferred.sign('/a')).rejects.toThrow(/DOWNLOADVIEW_SECRET/);
      process.env.DOWNLOADVIEW_SECRET = SECRET;
      expect((await linksAt().links.verify(`http://h${await deferred.sign('/a')}`)).ok).toBe(true);
    } finally {
      for (const [name, value] of [['NEXT_PHASE', saved.phase], ['DOWNLOADVIEW_SECRET', saved.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('reads DOWNLOADVIEW_SECRET and DOWNLOADVIEW_SECRET_FALLBACKS', async () => {
    expect(secretsFromEnv({ DOWNLOADVIEW_SECRET: ` ${SECRET}\n`, DOWNLOADVIEW_SECRET_FALLBACKS: ` ${OLD_SECRET} , ,` })).toEqual([SECRET, OLD_SECRET]);
    expect(() => secretsFromEnv({})).toThrow(/DOWNLOADVIEW_SECRET/);
    const previous = process.env.DOWNLOADVIEW_SECRET;
    process.env.DOWNLOADVIEW_SECRET = SECRET;
    try {
      const fromEnv = signedLinks({ now: () => T0 });
      expect((await linksAt().links.verify(`http://h${await fromEnv.sign('/a')}`)).ok).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.DOWNLOADVIEW_SECRET;
      else process.env.DOWNLOADVIEW_SECRET = previous;
    }
  });
});

describe('authorize()', () => {
  const target = { kind: 'filesystem' as const, key: 'a.txt' };
  const context = { params: {} };

  it('allows a valid link and refuses with the reason otherwise', async () => {
    const { links, clock } = linksAt();
    const authorize = links.authorize();
    const link = `http://host${await links.sign('/files/a.txt', { expiresIn: 60 })}`;
    expect(await authorize(new Request(link), target, context)).toBe(true);
    expect(await authorize(new Request('http://host/files/a.txt'), target, context)).toEqual({ refuse: 'forbidden', reason: 'signed-link:missing' });
    expect(await authorize(new Request(link.replace('a.txt', 'b.txt')), target, context)).toEqual({ refuse: 'forbidden', reason: 'signed-link:bad-signature' });
    clock.now += 3_600_000;
    expect(await authorize(new Request(link), target, context)).toEqual({ refuse: 'gone', reason: 'signed-link:expired' });
  });

  it('binds to claims computed per request', async () => {
    const { links } = linksAt();
    const authorize = links.authorize({ claims: (request) => ({ user: request.headers.get('x-user') ?? '' }) });
    const link = `http://host${await links.sign('/files/a.txt', { claims: { user: 'alice' } })}`;
    expect(await authorize(new Request(link, { headers: { 'x-user': 'alice' } }), target, context)).toBe(true);
    expect(await authorize(new Request(link, { headers: { 'x-user': 'bob' } }), target, context)).toEqual({ refuse: 'forbidden', reason: 'signed-link:mismatched' });
  });

  it('lets `otherwise` decide unsigned requests, and allow past a failed link', async () => {
    const { links, clock } = linksAt();
    const session = (request: Request) => (request.headers.get('cookie') === 'session=alice' ? true : 'unauthenticated');
    const authorize = links.authorize({ otherwise: session });
    expect(await authorize(new Request('http://host/files/a.txt'), target, context)).toBe('unauthenticated');
    expect(await authorize(new Request('http://host/files/a.txt', { headers: { cookie: 'session=alice' } }), target, context)).toBe(true);
    const link = `http://host${await links.sign('/files/a.txt', { expiresIn: 60 })}`;
    clock.now += 3_600_000;
    expect(await authorize(new Request(link), target, context)).toEqual({ refuse: 'gone', reason: 'signed-link:expired' });
    expect(await authorize(new Request(link, { headers: { cookie: 'session=alice' } }), target, context)).toBe(true);
  });
});
