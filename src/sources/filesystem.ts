/** `filesystem({ root })`: files below a directory, addressed by a relative key. */
import { constants, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { DownloadError, invalidOption } from '../errors.js';
import type { DownloadFile, FileBody, Located, RequestContext, Source } from '../types.js';
import { keyFromParam, keySegments } from './key.js';

export interface FilesystemOptions {
  /**
   * Directory the files live in. Relative paths resolve against `process.cwd()` when the
   * factory is called. Symlinks inside it are followed only while they stay inside it.
   * @example filesystem({ root: '/srv/media' })
   */
  root: string;
  /**
   * Name of the catch-all route segment holding the key.
   * @default 'path' (for `app/files/[...path]/route.ts`)
   */
  param?: string;
  /**
   * Your own key resolver; return `null` for 404. Its result is validated like a param.
   * @example key: (request, { params }) => `${params.user}/${params.name}`
   */
  key?: (request: Request, context: RequestContext) => string | readonly string[] | null | undefined | Promise<string | readonly string[] | null | undefined>;
  /**
   * Whether names starting with `.` (`.env`, `.git/`) may be served.
   * @default false
   */
  dotfiles?: boolean;
}

export interface FilesystemSource extends Source {
  readonly kind: 'filesystem';
  /** The absolute root, as configured (before resolving symlinks). */
  readonly root: string;
  /** Address a file by key directly, e.g. from a `record()` lookup; `null` if the key is refused. */
  file(key: string | readonly string[]): Located | null;
}

/** Errors that mean "no such file here" rather than "the server is broken" (as in `send`). */
const missingCodes = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR']);

export function filesystem(options: FilesystemOptions): FilesystemSource {
  if (typeof options?.root !== 'string' || options.root === '') invalidOption('filesystem.root', 'must be a non-empty path');
  if (options.root.includes('\0')) invalidOption('filesystem.root', 'must not contain NUL');
  if (options.param !== undefined && (typeof options.param !== 'string' || options.param === '')) {
    invalidOption('filesystem.param', 'must be a non-empty string');
  }
  if (options.key !== undefined && typeof options.key !== 'function') invalidOption('filesystem.key', 'must be a function');

  const root = resolve(options.root);
  const param = options.param ?? 'path';
  const rules = { denyDotfiles: options.dotfiles !== true };
  // The real root is resolved once, lazily: the directory may be mounted after startup.
  let realRoot: Promise<string> | undefined;
  const realRootOnce = (): Promise<string> => {
    realRoot ??= realpath(root).catch((error: unknown) => {
      realRoot = undefined;
      throw error;
    });
    return realRoot;
  };

  function file(key: string | readonly string[]): Located | null {
    const segments = keySegments(key, rules);
    if (segments === null) return null;
    const relative = segments.join('/');
    const candidate = join(root, ...segments);
    return {
      target: { kind: 'filesystem', key: relative, path: candidate },
      load: () => loadFile(root, realRootOnce, candidate),
    };
  }

  return {
    kind: 'filesystem',
    root,
    file,
    async locate(request, context) {
      const key = options.key ? await options.key(request, context) : keyFromParam(context.params, param);
      return key === null || key === undefined ? null : file(key);
    },
  };
}

async function loadFile(root: string, realRootOnce: () => Promise<string>, candidate: string): Promise<DownloadFile | null> {
  let real: string;
  let stats: Stats;
  let located: string;
  try {
    const rootPath = await realRootOnce();
    real = await realpath(candidate);
    // Containment is checked on real paths, so a symlink that leaves the root is refused.
    if (!isInside(real, rootPath)) return null;
    // The location proxies get is the resolved file under the root *as configured*, so offload
    // rules can name the same root the app was given even when that root is itself a symlink.
    located = join(root, relative(rootPath, real));
    stats = await stat(real);
  } catch (error) {
    if (isMissing(error)) return null;
    throw new DownloadError('source_error', 'filesystem lookup failed', { cause: error });
  }
  // Directories, FIFOs (which would block the read forever), sockets and devices are not files.
  if (!stats.isFile()) return null;
  return {
    kind: 'filesystem',
    name: basename(real),
    size: stats.size,
    mtime: stats.mtime,
    path: located,
    open: () => openVerified(real, stats),
  };
}

/**
 * Open the file and check it is still the one whose metadata went into the headers. O_NOFOLLOW
 * refuses a symlink swapped in at the last component after the containment check.
 */
async function openVerified(path: string, expected: Stats): Promise<FileBody> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (isMissing(error)) throw new DownloadError('file_changed', 'file disappeared before it was opened', { cause: error });
    throw new DownloadError('source_error', 'cannot open file', { cause: error });
  }
  const actual = await handle.stat();
  if (actual.ino !== expected.ino || actual.dev !== expected.dev || actual.size !== expected.size || actual.mtimeMs !== expected.mtimeMs) {
    await handle.close();
    throw new DownloadError('file_changed', 'file changed between stat and open');
  }
  return fileHandleBody(handle);
}

function fileHandleBody(handle: FileHandle): FileBody {
  return {
    async read(position, length) {
      // A fresh buffer per chunk: the stream hands it to the socket and never reuses it.
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

function isInside(path: string, root: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && missingCodes.has(String((error as { code?: unknown }).code));
}

