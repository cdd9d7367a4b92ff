/**
 * Tampered signed links, generated (issue #18): from a few genuine links (an ASCII name, a
 * non-ASCII one in NFC and in NFD, one with `%25`/`%3F`/`%23`, a nested path, one with claims, one whose signed path
 * has its own query), every variant below, each with the verdict the library's canonical form
 * (docs/signed-links.md, "The canonical form") gives it: `equivalent` (the same link written
 * another way: must serve exactly the signed file) or `tampered` (must be refused). The verdicts
 * come from what each variant changes, never from `verify()`: a test asking the code under test
 * for its own expectations could not fail.
 *
 * The files a wrong canonicalisation would land on (the other-case name, the NFD/NFC twin, the literal
 * `%68ello.txt`, …) are planted by {@link plantSignedLinkMedia}, so a false accept shows as wrong bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The refusal the library gives a tampered variant. */
export type SignedRefusal =
  /** 403 Forbidden: bad signature, malformed parameters, changed path/query/claims. */
  | 'forbidden'
  /** 410 Gone: a genuine link past its expiry. */
  | 'gone'
  /** 400 Bad Request from the path guard: malformed percent-encoding, encoded `/` or `\`, NUL. */
  | 'bad-path'
  /** No signature parameters left at all: 403 from the route, 401 from a proxy that also takes a session cookie. */
  | 'missing';

export type SignedVerdict = { verdict: 'equivalent' } | { verdict: 'tampered'; refusal: SignedRefusal };

export interface SignedVariant {
  /** What was done, e.g. `signature:flip@10`; the part before `:` is the family. */
  family: string;
  /** The genuine link it was made from. */
  base: string;
  /** The request target, sent byte for byte. */
  target: string;
  /** The file (relative to the media root) the genuine link is for: an equivalent variant serves exactly it. */
  file: string;
  expect: SignedVerdict;
}

/** A genuine link to tamper with. */
export interface BaseLink {
  id: string;
  /** The file on disk, relative to the media root. */
  file: string;
  /** The signed path as given to `sign()`, without the route prefix. */
  signedPath: string;
  claims?: Readonly<Record<string, string>>;
}

const NFC_NAME = 'Bericht für März.txt';
const NFD_NAME = NFC_NAME.normalize('NFD');

export const BASE_LINKS: readonly BaseLink[] = [
  { id: 'ascii', file: 'hello.txt', signedPath: '/hello.txt' },
  { id: 'non-ascii', file: NFC_NAME, signedPath: `/${NFC_NAME}` },
  // The same name decomposed (as macOS writes it): another file, each the other's decoy.
  { id: 'nfd', file: NFD_NAME, signedPath: `/${NFD_NAME}` },
  // A literal %, ? and # in the name, written %25, %3F, %23 (docs/signed-links.md).
  { id: 'reserved', file: '100% sure? #1.txt', signedPath: '/100%25 sure%3F %231.txt' },
  { id: 'nested', file: 'reports/2026/q1.txt', signedPath: '/reports/2026/q1.txt' },
  { id: 'claims', file: 'claims.txt', signedPath: '/claims.txt', claims: { user: '42', plan: 'pro' } },
  { id: 'query', file: 'query.txt', signedPath: '/query.txt?v=2&lang=de&q=März 1' },
];

/** Far in the future and fixed, so signatures (and so the variants) are the same on every run. */
export const VALID_UNTIL = new Date(4_102_444_800_000); // 2100-01-01
/** Long past: a genuine link with this expiry is `expired` (410). */
export const EXPIRED_AT = new Date(1_000_000_000_000); // 2001-09-09

/**
 * Files a wrong canonicalisation would serve instead of the signed one, each with bytes of its
 * own: the other-case names, the NFD name, the literal names a double decoding or a dropped
 * `%25` layer reaches, `;params` and trailing-dot names, a sibling and a parent-level copy.
 */
const DECOYS: readonly string[] = [
  'Hello.txt',
  'HELLO.TXT',
  '%68ello.txt', // `%2568ello.txt` decoded once
  'hello.txt;x=1',
  'hello.txt.',
  'hello.txt%00',
  'x/hello.txt', // `/x/../hello.txt` left unresolved by some layer
  'other.txt',
  '100%20sure? #1.txt', // `100%2520…` decoded once
  '100 sure? #1.txt', // … and twice
  '100% sure', // the name cut at a raw `?`
  'reports/2026/Q1.txt',
  'reports/q1.txt',
  'reports/2026/q1.txt;x=1',
  'Claims.txt',
  'Query.txt',
];

/** Every file of the corpus (signed ones and decoys) with its own bytes, for sha256 comparisons. */
export type PlantedFiles = Readonly<Record<string, Buffer>>;

/** Write the signed files and the decoys under `root`; every body carries `marker`. */
export function plantSignedLinkMedia(root: string, marker: string): PlantedFiles {
  const files: Record<string, Buffer> = {};
  for (const name of [...BASE_LINKS.map((base) => base.file), ...DECOYS]) {
    // Long enough that a Range sample is a strict slice; unique per file.
    const bytes = Buffer.from(`signed-corpus ${JSON.stringify(name)} ${marker}\n${'0123456789abcdef'.repeat(8)}\n`);
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), bytes);
    files[name] = bytes;
  }
  return files;
}

/** What marks every planted body: no refusal may carry it. */
export const FILE_MARKER = 'signed-corpus ';

type Sign = (path: string, options: { expires: Date; claims?: Readonly<Record<string, string>> }) => Promise<string>;

/** A link taken apart: its path, its own query pairs and the three link parameters, all as sent. */
interface Parts {
  path: string;
  own: string[]; // raw `name=value` pairs of the signed path's own query
  expires: string;
  claims?: string;
  signature: string;
}

function parse(link: string): Parts {
  const [pathPart, query = ''] = link.split('?') as [string, string?];
  const parts: Parts = { path: pathPart, own: [], expires: '', signature: '' };
  for (const pair of query.split('&')) {
    const [name, value = ''] = pair.split('=') as [string, string?];
    if (name === 'expires') parts.expires = value;
    else if (name === 'claims') parts.claims = value;
    else if (name === 'signature') parts.signature = value;
    else parts.own.push(pair);
  }
  return parts;
}

/** The link parameters in the order sign() writes them. */
function linkPairs(parts: Parts): string[] {
  return [`expires=${parts.expires}`, ...(parts.claims === undefined ? [] : [`claims=${parts.claims}`]), `signature=${parts.signature}`];
}

function target(pathPart: string, pairs: readonly string[]): string {
  return pairs.length === 0 ? pathPart : `${pathPart}?${pairs.join('&')}`;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `text` with the character at `index` moved `by` places along the base64url alphabet. */
function shifted(text: string, index: number, by: number): string {
  const at = BASE64URL.indexOf(text[index]!);
  return `${text.slice(0, index)}${BASE64URL[(at + by) % 64]}${text.slice(index + 1)}`;
}

function swapCase(text: string): string {
  return [...text].map((char) => (char === char.toUpperCase() ? char.toLowerCase() : char.toUpperCase())).join('');
}

const percent = (char: string) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
const base64urlJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The path with its last segment replaced by `last(segment)`. */
function withLast(pathPart: string, last: (segment: string) => string): string {
  const cut = pathPart.lastIndexOf('/');
  return `${pathPart.slice(0, cut + 1)}${last(pathPart.slice(cut + 1))}`;
}

/** The path with `insert` before its last segment (`/p/a/b` → `/p/a/<insert>b`). */
function beforeLast(pathPart: string, insert: string): string {
  return withLast(pathPart, (segment) => `${insert}${segment}`);
}

/**
 * The corpus for links under `prefix` (the public route prefix the links are signed for, e.g.
 * `/signed` or `/d`); `otherPrefix` is another route prefix: a link signed for the same file
 * there must not open it here (a replay). `sign` signs with the secret the server verifies with.
 */
export async function signedLinkCorpus(prefix: string, otherPrefix: string, sign: Sign): Promise<SignedVariant[]> {
  const variants: SignedVariant[] = [];
  for (const base of BASE_LINKS) {
    const link = await sign(`${prefix}${base.signedPath}`, { expires: VALID_UNTIL, claims: base.claims });
    const expiredLink = await sign(`${prefix}${base.signedPath}`, { expires: EXPIRED_AT, claims: base.claims });
    const parts = parse(link);
    const E = parts.expires;
    const S = parts.signature;
    const { own } = parts;
    const same = (family: string, to: string) => variants.push({ family, base: base.id, target: to, file: base.file, expect: { verdict: 'equivalent' } });
    const bad = (family: string, to: string, refusal: SignedRefusal = 'forbidden') =>
      variants.push({ family, base: base.id, target: to, file: base.file, expect: { verdict: 'tampered', refusal } });
    /** The link with its parameters replaced (path kept). */
    const withParams = (params: { expires?: string[]; claims?: string[]; signature?: string[] }, order: 'signed' | 'reversed' = 'signed'): string => {
      const expires = (params.expires ?? [E]).map((value) => `expires=${value}`);
      const claims = (params.claims ?? (parts.claims === undefined ? [] : [parts.claims])).map((value) => `claims=${value}`);
      const signature = (params.signature ?? [S]).map((value) => `signature=${value}`);
      const pairs = [...own, ...expires, ...claims, ...signature];
      return target(parts.path, order === 'signed' ? pairs : pairs.reverse());
    };
    const withPath = (pathPart: string) => target(pathPart, [...own, ...linkPairs(parts)]);

    // --- the genuine link, and the same link written otherwise ----------------------------------
    same('genuine', link);
    const signatureFirst = target(parts.path, [`signature=${S}`, ...own, ...linkPairs(parts).filter((pair) => !pair.startsWith('signature='))]);
    same('query:signature-first', signatureFirst);
    // With claims or an own query, the reverse order is yet another order.
    if (withParams({}, 'reversed') !== signatureFirst) same('query:reversed-order', withParams({}, 'reversed'));
    // The urlencoded parser skips empty pairs (WHATWG URL §5.1 step 1).
    same('query:empty-pairs', target(parts.path, ['', ...own, ...linkPairs(parts), '']).replace('?&', '?&&'));
    // A fragment is the client's, never part of the request URL (RFC 9110 §4.2.4): dropped before the check.
    same('query:fragment-at-end', `${link}#download`);
    same('expires:leading-zero', withParams({ expires: [`0${E}`] })); // still ≤ 12 digits: the number, not its spelling, is signed
    same('expires:percent-encoded-digit', withParams({ expires: [`${percent(E[0]!)}${E.slice(1)}`] }));
    same('signature:percent-encoded-char', withParams({ signature: [`${percent(S[0]!)}${S.slice(1)}`] }));
    same('path:encoded-unreserved', withPath(withLast(parts.path, (segment) => `${percent(segment[0]!)}${segment.slice(1)}`)));
    same('path:encoded-dot-lower', withPath(withLast(parts.path, (segment) => segment.replace(/\.(?=[^.]*$)/, '%2e'))));
    if (/%[0-9A-F]*[A-F]/.test(parts.path)) same('path:lower-case-%xx', withPath(parts.path.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())));
    same('path:dot-segment', withPath(beforeLast(parts.path, './')));
    same('path:dot-dot', withPath(beforeLast(parts.path, 'x/../')));
    same('path:encoded-dot-dot', withPath(beforeLast(parts.path, 'x/%2e%2E/')));
    same('path:trailing-slash', withPath(`${parts.path}/`));
    // WHATWG URL parsing reads `\\` as `/` in http(s) URLs, before the path is canonicalised.
    same('path:raw-backslash', withPath(beforeLast(parts.path, 'x\\..\\')));
    same('query:encoded-param-name', target(parts.path, [...own, ...linkPairs(parts).map((pair) => pair.replace(/^expires=/, 'expire%73='))]));
    if (base.id === 'non-ascii') same('path:raw-utf8', withPath(`${prefix}/${NFC_NAME}`.replaceAll(' ', '%20')));
    if (base.id === 'reserved') same('path:encoded-sub-delims', withPath(parts.path.replace('100', '%31%30%30')));
    if (base.claims) same('claims:percent-encoded-char', withParams({ claims: [`${percent(parts.claims![0]!)}${parts.claims!.slice(1)}`] }));
    if (own.length > 0) {
      same('query:own-reordered', target(parts.path, [...[...own].reverse(), ...linkPairs(parts)]));
      same('query:own-percent-encoded', target(parts.path, [...own.map((pair) => pair.replace('lang=de', 'lang=%64e')), ...linkPairs(parts)]));
      // form-urlencoded: `+` and `%20` are both a space.
      same('query:own-space-as-%20', target(parts.path, [...own.map((pair) => pair.replaceAll('+', '%20')), ...linkPairs(parts)]));
    }

    // --- the signature -----------------------------------------------------------------------
    for (const index of [0, 7, 21, 35, 41]) bad(`signature:flip@${index}`, withParams({ signature: [shifted(S, index, 1)] }));
    // The last character carries 4 bits and 2 unused ones: +1 sets an unused bit (a second spelling, malformed), +4 changes data.
    bad('signature:last-unused-bits', withParams({ signature: [shifted(S, 42, 1)] }));
    bad('signature:last-data-bits', withParams({ signature: [shifted(S, 42, 4)] }));
    bad('signature:truncated-1', withParams({ signature: [S.slice(0, -1)] }));
    bad('signature:truncated-half', withParams({ signature: [S.slice(0, 21)] }));
    bad('signature:empty', withParams({ signature: [''] }));
    bad('signature:extended-1', withParams({ signature: [`${S}A`] }));
    bad('signature:extended-4', withParams({ signature: [`${S}AAAA`] }));
    bad('signature:padded-=', withParams({ signature: [`${S}=`] }));
    bad('signature:padded-%3D%3D', withParams({ signature: [`${S}%3D%3D`] }));
    // Standard base64 for the same bytes: `+` decodes to a space in a query, `/` stays.
    if (/[-_]/.test(S)) bad('signature:std-base64', withParams({ signature: [S.replaceAll('-', '+').replaceAll('_', '/')] }));
    if (/[-_]/.test(S)) bad('signature:std-base64-encoded', withParams({ signature: [S.replaceAll('-', '%2B').replaceAll('_', '%2F')] }));
    bad('signature:case-swapped', withParams({ signature: [swapCase(S)] }));
    bad('signature:trailing-space', withParams({ signature: [`${S}%20`] }));
    bad('signature:duplicated-same', withParams({ signature: [S, S] }));
    bad('signature:duplicated-flipped-last', withParams({ signature: [S, shifted(S, 0, 1)] }));
    bad('signature:duplicated-flipped-first', withParams({ signature: [shifted(S, 0, 1), S] }));
    bad('signature:removed', withParams({ signature: [] }));
    bad('signature:from-expired-link', withParams({ signature: [parse(expiredLink).signature] }));

    // --- the expiry --------------------------------------------------------------------------
    const e = Number(E);
    bad('expires:plus-1', withParams({ expires: [String(e + 1)] }));
    bad('expires:minus-1', withParams({ expires: [String(e - 1)] }));
    bad('expires:far-future', withParams({ expires: ['999999999999'] }));
    bad('expires:13-digits', withParams({ expires: [`000${E}`] }));
    bad('expires:exponent', withParams({ expires: ['41024448e2'] }));
    bad('expires:1e10', withParams({ expires: ['1e10'] }));
    bad('expires:negative', withParams({ expires: [`-${E}`] }));
    bad('expires:hex', withParams({ expires: [`0x${e.toString(16)}`] }));
    bad('expires:fraction', withParams({ expires: [`${E}.0`] }));
    bad('expires:leading-space', withParams({ expires: [`%20${E}`] }));
    bad('expires:plus-as-space', withParams({ expires: [`+${E}`] }));
    bad('expires:trailing-space', withParams({ expires: [`${E}%20`] }));
    bad('expires:empty', withParams({ expires: [''] }));
    bad('expires:missing', withParams({ expires: [] }));
    bad('expires:duplicated-same', withParams({ expires: [E, E] }));
    bad('expires:duplicated-genuine-first', withParams({ expires: [E, String(e + 3600)] }));
    bad('expires:duplicated-genuine-last', withParams({ expires: [String(e + 3600), E] }));
    bad('expires:and-signature-missing', target(parts.path, [...own, ...(parts.claims === undefined ? [] : [`claims=${parts.claims}`])]), 'missing');

    // --- the claims ----------------------------------------------------------------------------
    if (base.claims) {
      const claims = parts.claims!;
      bad('claims:removed', withParams({ claims: [] }));
      bad('claims:value-changed', withParams({ claims: [base64urlJson({ ...base.claims, user: '43' })] }));
      bad('claims:one-dropped', withParams({ claims: [base64urlJson({ user: base.claims.user })] }));
      bad('claims:one-added', withParams({ claims: [base64urlJson({ ...base.claims, role: 'admin' })] }));
      bad('claims:re-encoded-unsorted', withParams({ claims: [base64urlJson({ user: base.claims.user, plan: base.claims.plan })] }));
      bad('claims:re-encoded-spaced', withParams({ claims: [Buffer.from(JSON.stringify(base.claims, null, 1)).toString('base64url')] }));
      const padded = `${claims}${'='.repeat((4 - (claims.length % 4)) % 4 || 4)}`;
      bad('claims:padded', withParams({ claims: [padded] }));
      // Standard base64 differs from the padded form only where the text holds `-` or `_`.
      const standard = Buffer.from(claims, 'base64url').toString('base64');
      if (standard !== claims && standard !== padded) bad('claims:std-base64', withParams({ claims: [standard] }));
      bad('claims:duplicated-same', withParams({ claims: [claims, claims] }));
      bad('claims:duplicated-other', withParams({ claims: [claims, base64urlJson({ user: '1' })] }));
      bad('claims:empty', withParams({ claims: [''] }));
    } else {
      bad('claims:added', withParams({ claims: [base64urlJson({ user: '42' })] }));
      bad('claims:added-empty-object', withParams({ claims: [base64urlJson({})] }));
    }

    // --- the path ------------------------------------------------------------------------------
    bad('path:other-file', withPath(`${prefix}/other.txt`));
    const recased = withLast(parts.path, (segment) => `${swapCase(segment[0]!)}${segment.slice(1)}`);
    if (recased !== parts.path) bad('path:case-first-letter', withPath(recased));
    bad('path:upper-case', withPath(withLast(parts.path, (segment) => segment.replace(/[a-z]/g, (char) => char.toUpperCase()))));
    bad('path:double-slash', withPath(beforeLast(parts.path, '/')));
    bad('path:two-trailing-slashes', withPath(`${parts.path}//`));
    bad('path:double-encoded-unreserved', withPath(withLast(parts.path, (segment) => `%25${percent(segment[0]!).slice(1)}${segment.slice(1)}`)));
    bad('path:encoded-slash', withPath(beforeLast(parts.path, 'x%2F')), 'bad-path');
    bad('path:encoded-slash-lower', withPath(beforeLast(parts.path, 'x%2f..%2f')), 'bad-path');
    bad('path:encoded-backslash', withPath(beforeLast(parts.path, 'x%5C..%5C')), 'bad-path');
    bad('path:overlong-slash', withPath(beforeLast(parts.path, 'x%c0%af..%c0%af')), 'bad-path');
    bad('path:overlong-dot', withPath(beforeLast(parts.path, 'x/%c0%ae%c0%ae/')), 'bad-path');
    bad('path:nul', withPath(`${parts.path}%00`), 'bad-path');
    bad('path:lone-percent', withPath(`${parts.path}%`), 'bad-path');
    bad('path:fullwidth-solidus', withPath(beforeLast(parts.path, 'x%EF%BC%8F..%EF%BC%8F')));
    bad('path:semicolon-params', withPath(`${parts.path};x=1`));
    bad('path:trailing-dot', withPath(`${parts.path}.`));
    bad('path:encoded-trailing-space', withPath(`${parts.path}%20`));
    bad('path:parent-segment-added', withPath(beforeLast(parts.path, 'x/')));
    // Signed for the same file under another route, presented here.
    const replayed = parse(await sign(`${otherPrefix}${base.signedPath}`, { expires: VALID_UNTIL, claims: base.claims }));
    bad('path:replayed-from-other-prefix', target(parts.path, [...own, ...linkPairs(replayed)]));
    if (base.id === 'nfd') bad('path:nfc', withPath(`${prefix}/${encodeURIComponent(NFC_NAME)}`));
    if (base.id === 'non-ascii') {
      bad('path:nfd', withPath(`${prefix}/${encodeURIComponent(NFD_NAME)}`));
      bad('path:raw-nfd-utf8', withPath(`${prefix}/${NFD_NAME}`.replaceAll(' ', '%20')));
      bad('path:latin1-escape', withPath(`${prefix}/Bericht%20f%FCr%20M%E4rz.txt`), 'bad-path');
    }
    if (base.id === 'reserved') {
      // Each literal written raw: `?` starts the query early; `#` cuts everything after it.
      bad('path:%25-dropped', withPath(parts.path.replace('%25', '')));
      bad('path:%25-double-encoded', withPath(parts.path.replace('%25%20', '%2520')));
      bad('path:raw-?', withPath(parts.path.replace('%3F', '?')));
      bad('path:raw-#', withPath(parts.path.replace('%23', '#')), 'missing');
      bad('path:raw-%', withPath(parts.path.replace('%25', '%')), 'bad-path');
    }
    if (base.id === 'nested') {
      bad('path:encoded-slashes', withPath(`${prefix}/reports%2F2026%2Fq1.txt`), 'bad-path');
      bad('path:segment-dropped', withPath(`${prefix}/reports/q1.txt`));
    }

    // --- the query -----------------------------------------------------------------------------
    bad('query:extra-last', target(parts.path, [...own, ...linkPairs(parts), 'download=1']));
    bad('query:extra-first', target(parts.path, ['utm_source=mail', ...own, ...linkPairs(parts)]));
    bad('query:extra-empty-value', target(parts.path, [...own, ...linkPairs(parts), 'x=']));
    bad('query:extra-bare-name', target(parts.path, [...own, ...linkPairs(parts), 'x']));
    bad('query:param-name-case', target(parts.path, [...own, ...linkPairs(parts).map((pair) => pair.replace(/^signature=/, 'Signature='))]));
    // `#` in the request target: what follows is a fragment, never the server's.
    bad('query:fragment-before-signature', target(parts.path, [...own, ...linkPairs(parts)]).replace('&signature=', '#&signature='));
    if (own.length > 0) {
      bad('query:own-removed', target(parts.path, [...own.slice(1), ...linkPairs(parts)]));
      bad('query:own-value-changed', target(parts.path, [own[0]!.replace(/=.*/, '=3'), ...own.slice(1), ...linkPairs(parts)]));
      bad('query:own-duplicated', target(parts.path, [...own, own[0]!, ...linkPairs(parts)]));
      bad('query:own-value-case', target(parts.path, [...own.map((pair) => pair.replace('lang=de', 'lang=DE')), ...linkPairs(parts)]));
      bad('query:own-moved-into-path', target(`${parts.path}%3F${own.join('%26')}`, linkPairs(parts)));
      bad('query:own-name-case', target(parts.path, [...own.map((pair) => pair.replace('lang=', 'Lang=')), ...linkPairs(parts)]));
    } else {
      bad('query:own-added', target(parts.path, ['v=2', ...linkPairs(parts)]));
    }

    // --- expiry reached --------------------------------------------------------------------------
    bad('expired:genuine', expiredLink, 'gone');
    bad('expired:genuine-reordered', target(parse(expiredLink).path, [...linkPairs(parse(expiredLink))].reverse().concat(own)), 'gone');
    bad('expired:path-changed', target(`${prefix}/other.txt`, [...own, ...linkPairs(parse(expiredLink))]));
  }
  return variants;
}

/** `family` without its detail (`signature:flip@7` → `signature:flip`), for counts. */
export function familyOf(variant: SignedVariant): string {
  return variant.family.replace(/@.*$/, '');
}
