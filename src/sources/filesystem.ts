/** `filesystem({ root })`: files below a directory, addressed by a relative key. */
import { close, closeSync, constants, fstat, fstatSync, open, openSync, read, realpath, realpathSync, stat, statSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
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
  /**
   * Make the metadata calls (realpath, stat, open, fstat, close) synchronously on the event loop;
   * file contents are always read asynchronously. Faster for small files on local disks (see the
   * benchmark); never use it on network filesystems, where each call would block the server.
   * @default false
   */
  blockingMetadata?: boolean;
}

export interface FilesystemSource extends Source {
  readonly kind: 'filesystem';
  /** The absolute root, as configured (before resolving symlinks). */
  readonly root: string;
  /** Address a file by key directly, e.g. from a `record()` lookup; `null` if the key is refused. */
  file(key: string | readonly string[]): Located | null;
}

// The callback API on raw descriptors rather than fs/promises' FileHandle: measured ~30% less
// per-request overhead for the six calls a download makes (no FileHandle object, no GC
// finaliser). Every descriptor is closed exactly once by the body's owner (streams/body-stream.ts).
interface MetadataCalls {
  realpath(path: string): Promise<string>;
  stat(path: string): Promise<Stats>;
  open(path: string, flags: number): Promise<number>;
  fstat(fd: number): Promise<Stats>;
  close(fd: number): Promise<void>;
}

const threadpoolCalls: MetadataCalls = {
  realpath: promisify(realpath.native),
  stat: promisify(stat),
  open: promisify(open),
  fstat: promisify(fstat),
  close: promisify(close),
};

// The same calls made on the event loop. Each is a single syscall answered from the kernel's
// caches on a local disk (microseconds), while a threadpool hand-off costs far more on a busy
// 2-core server; but on a network filesystem each would stall every other request.
const blockingCalls: MetadataCalls = {
  realpath: async (path) => realpathSync.native(path),
  stat: async (path) => statSync(path),
  open: async (path, flags) => openSync(path, flags),
  fstat: async (fd) => fstatSync(fd),
  close: async (fd) => closeSync(fd),
};

function readAsync(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
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
  const calls = options.blockingMetadata === true ? blockingCalls : threadpoolCalls;
  const param = options.param ?? 'path';
  const rules = { denyDotfiles: options.dotfiles !== true };
  // The real root is resolved once, lazily: the directory may be mounted after startup.
  let realRoot: Promise<string> | undefined;
  const realRootOnce = (): Promise<string> => {
    realRoot ??= calls.realpath(root).catch((error: unknown) => {
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
      load: () => loadFile(calls, root, realRootOnce, candidate),
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

async function loadFile(calls: MetadataCalls, root: string, realRootOnce: () => Promise<string>, candidate: string): Promise<DownloadFile | null> {
  let real: string;
  let stats: Stats;
  let located: string;
  try {
    const rootPath = await realRootOnce();
    real = await calls.realpath(candidate);
    // Containment is checked on real paths, so a symlink that leaves the root is refused.
    if (!isInside(real, rootPath)) return null;
    // The location proxies get is the resolved file under the root *as configured*, so offload
    // rules can name the same root the app was given even when that root is itself a symlink.
    located = join(root, relative(rootPath, real));
    stats = await calls.stat(real);
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
    open: () => openVerified(calls, real, stats),
  };
}

/**
 * Open the file and check it is still the one whose metadata went into the headers. O_NOFOLLOW
 * refuses a symlink swapped in at the last component after the containment check.
 */
async function openVerified(calls: MetadataCalls, path: string, expected: Stats): Promise<FileBody> {
  let fd: number;
  try {
    fd = await calls.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (isMissing(error)) throw new DownloadError('file_changed', 'file disappeared before it was opened', { cause: error });
    throw new DownloadError('source_error', 'cannot open file', { cause: error });
  }
  let actual: Stats;
  try {
    actual = await calls.fstat(fd);
  } catch (error) {
    await calls.close(fd);
    throw new DownloadError('source_error', 'cannot stat opened file', { cause: error });
  }
  if (actual.ino !== expected.ino || actual.dev !== expected.dev || actual.size !== expected.size || actual.mtimeMs !== expected.mtimeMs) {
    await calls.close(fd);
    throw new DownloadError('file_changed', 'file changed between stat and open');
  }
  return descriptorBody(calls, fd);
}

function descriptorBody(calls: MetadataCalls, fd: number): FileBody {
  return {
    async read(position, length) {
      // A fresh buffer per chunk: the stream hands it to the socket and never reuses it.
      const buffer = Buffer.allocUnsafe(length);
      const bytesRead = await readAsync(fd, buffer, length, position);
      return bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    },
    close: () => calls.close(fd),
  };
}

function isInside(path: string, root: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && missingCodes.has(String((error as { code?: unknown }).code));
}

