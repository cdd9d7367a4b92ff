/**
 * The signed-link tampering corpus (test/corpora/signed-links.ts) against `verify()` in process:
 * two independent sources of the same verdicts. The e2e suite never asks `verify()` (its oracle is
 * the generator's); here a disagreement points at a wrong verdict in the generator or a bug in
 * the canonical form, in milliseconds and without a server.
 */
import { describe, expect, it } from 'vitest';
import { unsafePathReason } from '../../src/path-guard.js';
import { signedLinks, type SignedLinkFailure } from '../../src/signed-links.js';
import { BASE_LINKS, signedLinkCorpus, type SignedRefusal } from '../corpora/signed-links.js';

const links = signedLinks({ secret: 'signed-corpus-unit-secret-3b9e71c05f2a48d6' });
const sign = (path: string, options: Parameters<typeof links.sign>[1]) => links.sign(path, options);

/** The refusal each failure reason becomes on a route with the default `expiredStatus`. */
const REFUSAL_OF: Readonly<Record<SignedLinkFailure, SignedRefusal>> = {
  missing: 'missing',
  malformed: 'forbidden',
  'bad-signature': 'forbidden',
  mismatched: 'forbidden',
  expired: 'gone',
};

describe('signedLinkCorpus', () => {
  it('is the same on every call, every target distinct, at least 300 variants', async () => {
    const first = await signedLinkCorpus('/signed', '/files', sign);
    const second = await signedLinkCorpus('/signed', '/files', sign);
    expect(second).toEqual(first);
    expect(first.length).toBeGreaterThanOrEqual(300);
    const targets = first.map((variant) => variant.target);
    expect(new Set(targets).size).toBe(targets.length);
    for (const base of BASE_LINKS) expect(first.some((variant) => variant.base === base.id && variant.family === 'genuine')).toBe(true);
  });

  it('gives each variant the verdict verify() (and, in front of it, the path guard) gives it', async () => {
    const disagreements: string[] = [];
    for (const variant of await signedLinkCorpus('/signed', '/files', sign)) {
      const url = new URL(variant.target, 'http://signed.test');
      const result = await links.verify(url);
      // The guard answers first for malformed encoding, encoded separators and NUL.
      const outcome = unsafePathReason(url.pathname) !== undefined ? 'bad-path' : result.ok ? 'equivalent' : REFUSAL_OF[result.reason];
      const expected = variant.expect.verdict === 'equivalent' ? 'equivalent' : variant.expect.refusal;
      if (outcome !== expected) disagreements.push(`${variant.family} [${variant.base}] ${variant.target}: generator ${expected}, verify ${outcome}`);
    }
    expect(disagreements.join('\n')).toBe('');
  });
});
