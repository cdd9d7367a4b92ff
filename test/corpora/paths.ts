/**
 * Hostile request paths, generated: every encoding of `..` crossed with every separator trick and
 * depth, plus absolute, drive-letter and UNC forms, NUL, 4 KiB paths, dotfiles, trailing dots and
 * spaces, Unicode look-alikes, symlinks and a hard link. Each entry is a request target tail (sent
 * byte-for-byte after a route prefix such as `/files/`) and what it must do.
 *
 * The layout it expects is built by {@link plantPathCorpusMedia}.
 */
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type PathExpectation =
  /** Must not be served: any status but 2xx (the bytes of the target never leave). */
  | { kind: 'refused' }
  /** Names this file below the root: 200 and exactly its bytes. */
  | { kind: 'file'; file: string }
  /**
   * Names this file in a form some layers refuse (4xx): an encoded separator (`sub%2Flegit.txt`,
   * the path guard, Apache), a fragment in the request-target. Otherwise exactly this file.
   */
  | { kind: 'file-or-refused'; file: string };

export interface PathCase {
  /** What follows the route prefix, as sent on the wire. */
  tail: string;
  expect: PathExpectation;
  /** The family the entry was generated from, for counts in failure messages and the docs. */
  family: string;
}

/** Files below the root a legit entry may name, with their bytes. */
export const LEGIT_FILES: Readonly<Record<string, string>> = {
  'legit.txt': 'legit bytes\n',
  'sub/legit.txt': 'nested legit bytes\n',
  'café.txt': 'nfc name bytes\n',
  'a b;c.txt': 'space and semicolon bytes\n',
};

/** The layout of a corpus run: where the secrets are, and markers that must never appear in a body. */
export interface PlantedMedia {
  /** The served root. */
  root: string;
  /** `<parent>/media-outside.txt`: the file every traversal aims at. */
  outside: string;
  /** Strings no response body may hold: the outside file's and the dotfile's unique markers. */
  secretMarkers: readonly string[];
  /**
   * Every file a corpus entry may name, with its bytes: {@link LEGIT_FILES} and `hardlink.txt`, a
   * hard link below the root to a file outside it (served: the documented limit).
   */
  files: Readonly<Record<string, string>>;
}

/**
 * Plant the corpus's files under `root` (a fresh folder from createMediaRoot) and next to it: legit
 * files, a dotfile, symlinks (file and directory) leaving the root, and a hard link to a file outside.
 */
export function plantPathCorpusMedia(root: string, marker: string): PlantedMedia {
  const parent = path.dirname(root);
  for (const [name, bytes] of Object.entries(LEGIT_FILES)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), bytes);
  }
  const outsideMarker = `OUTSIDE-ROOT-${marker}`;
  const dotMarker = `DOTFILE-SECRET-${marker}`;
  const outside = path.join(parent, 'media-outside.txt');
  writeFileSync(outside, `${outsideMarker}\n`);
  mkdirSync(path.join(parent, 'outside-dir'));
  writeFileSync(path.join(parent, 'outside-dir', 'secret.txt'), `${outsideMarker} (directory)\n`);
  writeFileSync(path.join(root, '.env'), `${dotMarker}\n`);
  mkdirSync(path.join(root, '.git'));
  writeFileSync(path.join(root, '.git', 'config'), `${dotMarker} (git)\n`);
  symlinkSync(outside, path.join(root, 'escape.txt'));
  symlinkSync('../media-outside.txt', path.join(root, 'escape-relative.txt'));
  symlinkSync(path.join(parent, 'outside-dir'), path.join(root, 'escape-dir'));
  symlinkSync('.env', path.join(root, 'env-link'));
  // docs/security.md: a hard link cannot be told from the file it links, so it is served.
  const hardLinkBytes = `hard-linked from outside ${marker}\n`;
  writeFileSync(path.join(parent, 'hardlink-source.txt'), hardLinkBytes);
  linkSync(path.join(parent, 'hardlink-source.txt'), path.join(root, 'hardlink.txt'));
  return { root, outside, secretMarkers: [outsideMarker, dotMarker], files: { ...LEGIT_FILES, 'hardlink.txt': hardLinkBytes } };
}

/** `..` written every way a decoder, a proxy or a file system might turn back into `..`. */
const DOT_DOTS = [
  '..',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  // Double encoding: decoded twice by a careless layer.
  '%252e%252e',
  '%252E%252E',
  // Overlong UTF-8 for `.` (2 and 3 bytes): invalid UTF-8, decoders must refuse it.
  '%c0%ae%c0%ae',
  '%e0%80%ae%e0%80%ae',
  // IIS-style %u escapes, raw and for U+FF0E FULLWIDTH FULL STOP.
  '%u002e%u002e',
  '%uff0e%uff0e',
  // U+FF0E as UTF-8: NFKC folds it to `.`.
  '%ef%bc%8e%ef%bc%8e',
  // `..` with trailing NUL, space or dot (Windows trims the last two).
  '..%00',
  '..%20',
  '...',
] as const;

/** Separators after a `..`: plain, encoded, double-encoded, overlong, backslash and doubled forms. */
const SEPARATORS = ['/', '%2f', '%2F', '%5c', '%5C', '\\', '%252f', '%c0%af', '%e0%80%af', '//', '/./'] as const;

/**
 * The corpus: {@link DOT_DOTS} × {@link SEPARATORS} × depth 1-2 (with and without a real directory
 * first), then absolute, drive-letter, UNC, NUL, long, dotfile, trailing-character, Unicode and
 * link cases, then the legit names. `outside` is the absolute path of the secret file.
 */
export function pathCorpus(root: string, outside: string): PathCase[] {
  const cases: PathCase[] = [];
  const refused = (family: string, tail: string) => cases.push({ tail, family, expect: { kind: 'refused' } });
  const outsideFrom = (depth: number) => path.relative(ancestor(root, depth), outside);

  for (const dots of DOT_DOTS) {
    for (const sep of SEPARATORS) {
      for (const depth of [1, 2]) {
        const climb = `${dots}${sep}`.repeat(depth);
        refused('dot-dot × separator', `${climb}${encodeSeparators(outsideFrom(depth), sep)}`);
        // Through a directory that exists, so the climb needs one more step.
        if (depth === 1) refused('dot-dot × separator', `sub${sep}${dots}${sep}${dots}${sep}${encodeSeparators(outsideFrom(1), sep)}`);
      }
    }
  }

  // The absolute path of the secret file, in every separator form.
  for (const sep of ['/', '%2f', '%2F', '%5c', '\\', '%252f']) {
    refused('absolute', encodeSeparators(outside, sep));
    refused('absolute', `sub/${encodeSeparators(outside, sep)}`);
  }
  for (const tail of ['/etc/passwd', '%2fetc%2fpasswd', 'file:%2f%2f%2fetc%2fpasswd', '~%2f.ssh%2fid_rsa', '~root/.ssh/id_rsa', '%7eroot%2f.bashrc']) refused('absolute', tail);

  // Drive letters and UNC shares (meaningless on Linux, dangerous wherever `\` is a separator).
  for (const drive of ['C:', 'c:', 'C%3a', 'C%3A']) {
    for (const sep of ['\\', '%5c', '/', '%2f']) {
      refused('drive letter', `${drive}${sep}Windows${sep}win.ini`);
      refused('drive letter', `${drive}${sep}..${sep}..${sep}media-outside.txt`);
    }
  }
  for (const unc of ['\\\\server\\share\\x', '%5c%5cserver%5cshare%5cx', '%5c%5c%3f%5cC:%5cx', '%5c%5c.%5cpipe%5cx', '//server/share/x', '%2f%2fserver%2fshare']) refused('UNC', unc);

  // NUL in every position and encoding.
  for (const tail of ['legit.txt%00', 'legit.txt%00.pdf', '%00legit.txt', 'sub%00/legit.txt', 'sub/%00', 'legit.txt%2500', 'legit.txt%c0%80']) refused('NUL', tail);

  // Empty, `.` and doubled segments.
  for (const tail of ['', '.', '%2e', './', '.%2f', 'sub/', 'sub//', 'sub/%2e/', 'sub/.', '/', '//']) refused('empty and dot segment', tail);

  // 4 KiB: one long segment (ENAMETOOLONG), many segments, a long climb.
  refused('4 KiB path', 'a'.repeat(4096));
  refused('4 KiB path', `${'a'.repeat(255)}/`.repeat(16).slice(0, -1));
  // With a trailing slash: Next answers with a 308 echoing the path twice (Location, Refresh).
  refused('4 KiB path', `${'a'.repeat(255)}/`.repeat(16));
  refused('4 KiB path', `${'../'.repeat(1365)}media-outside.txt`);
  refused('4 KiB path', `${'%2e%2e%2f'.repeat(455)}media-outside.txt`);
  refused('4 KiB path', `${'sub/'.repeat(1024)}legit.txt`);
  refused('4 KiB path', `${'%ff'.repeat(1365)}`);

  // Dotfiles, directly, encoded, through a symlink, and as directories.
  for (const tail of ['.env', '%2eenv', '%2Eenv', '.git/config', '%2egit/config', '.git%2fconfig', 'sub/../.env', 'env-link', '.env.', '.env%20', '.ENV', '.git', '.git/']) refused('dotfile', tail);

  // Trailing dots, spaces and Windows stream suffixes: a different name on Linux, never an alias.
  for (const suffix of ['.', '..', '%20', '%20.', '.%20', '%09', '::$DATA', '%3a%3a$DATA', ':stream', '%2e', '~1', '%0a', '%0d%0a', '%ff']) refused('trailing characters', `legit.txt${suffix}`);

  // Unicode look-alikes and normalisation: the file system compares bytes, so none is an alias.
  for (const tail of [
    'cafe%cc%81.txt', // NFD of café.txt
    'caf%c3%a9.txt%cc%81',
    '%ef%bd%8cegit.txt', // fullwidth ｌ
    'legit%ef%bc%8etxt', // fullwidth full stop
    'legit%e2%80%a4txt', // one dot leader
    'LEGIT.TXT',
    'legit%e2%80%8b.txt', // zero-width space
    'legit%e2%80%ae.txt', // RTL override
    'sub%ef%bc%8flegit.txt', // fullwidth solidus
    'sub%e2%88%95legit.txt', // division slash
    'sub%ef%bc%bclegit.txt', // fullwidth reverse solidus
    '%ef%bc%8e%ef%bc%8e%ef%bc%8fmedia-outside.txt',
    '%e2%80%a5%2fmedia-outside.txt', // two dot leader
    '%ed%a0%80legit.txt', // a lone surrogate in UTF-8 (invalid)
  ]) refused('unicode', tail);

  // Links below the root that leave it, and the documented hard-link limit.
  for (const tail of ['escape.txt', 'escape-relative.txt', 'escape-dir/secret.txt', 'escape-dir/', 'escape-dir/..%2fmedia-outside.txt', 'escape-dir%2fsecret.txt']) refused('symlink leaving the root', tail);
  cases.push({ tail: 'hardlink.txt', family: 'hard link (served: documented limit)', expect: { kind: 'file', file: 'hardlink.txt' } });

  // Legit names, written in the ways that must still reach them.
  const legit = (tail: string, file: string) => cases.push({ tail, family: 'legit', expect: { kind: 'file', file } });
  legit('legit.txt', 'legit.txt');
  legit('%6cegit.txt', 'legit.txt');
  legit('legit%2etxt', 'legit.txt');
  legit('sub/legit.txt', 'sub/legit.txt');
  legit('sub/../legit.txt', 'legit.txt');
  legit('sub/%2e%2e/legit.txt', 'legit.txt');
  legit('./legit.txt', 'legit.txt');
  legit('sub/./legit.txt', 'sub/legit.txt');
  legit('caf%c3%a9.txt', 'café.txt');
  legit('caf%C3%A9.txt', 'café.txt');
  legit('a%20b%3bc.txt', 'a b;c.txt');
  legit('a%20b;c.txt', 'a b;c.txt');
  legit('legit.txt?x=../../media-outside.txt', 'legit.txt');

  // `#` may not appear in a request-target (RFC 9112 §3.2): Apache and Caddy answer 400, Node ignores the fragment.
  cases.push({ tail: 'legit.txt#../../media-outside.txt', family: 'legit', expect: { kind: 'file-or-refused', file: 'legit.txt' } });
  cases.push({ tail: 'sub%2flegit.txt', family: 'legit', expect: { kind: 'file-or-refused', file: 'sub/legit.txt' } });
  cases.push({ tail: 'sub%2Flegit.txt', family: 'legit', expect: { kind: 'file-or-refused', file: 'sub/legit.txt' } });
  return cases;
}

/** `/`-separated `relative` with every `/` written as `sep`. */
function encodeSeparators(relative: string, sep: string): string {
  return relative.split('/').join(sep);
}

function ancestor(dir: string, depth: number): string {
  let out = dir;
  for (let i = 0; i < depth; i += 1) out = path.dirname(out);
  return out;
}

/** True when some segment of `target` cannot be percent-decoded (Next answers those with its own 500). */
export function hasMalformedEncoding(target: string): boolean {
  const pathOnly = target.split(/[?#]/, 1)[0]!;
  return pathOnly.split('/').some((segment) => {
    try {
      decodeURIComponent(segment);
      return false;
    } catch {
      return true;
    }
  });
}
