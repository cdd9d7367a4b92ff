/** `filesystem({ root })`: files below a directory, addressed by a relative key. */
import { constants, type Stats } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { DownloadError, invalidOption } from '../errors.js';
import type { DownloadFile, FileBody, Located, RequestContext, Source } from '../types.js';
import { callsFor, threadpoolCalls, type FilesystemCalls, type FilesystemIo } from './filesystem-io.js';
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
   * How filesystem calls are made. `'blocking'`: realpath, stat, open, fstat, close and reads up to
   * 64 KiB run synchronously on the event loop, as nginx does (each is microseconds from the
   * kernel's caches; a threadpool hand-off costs more). `'threadpool'`: every call goes through
   * libuv's threadpool, so a slow or network filesystem never stalls other requests. `'auto'`
   * picks `'blocking'` when the root is on a local Linux filesystem (ext4, xfs, btrfs, zfs, tmpfs,
   * overlayfs, …) and `'threadpool'` for NFS, SMB, FUSE and anything unknown. Choose
   * `'threadpool'` if a network filesystem is mounted somewhere *below* a local root.
   * @default 'auto'
   */
  io?: FilesystemIo;
}

export interface FilesystemSource extends Source {
  readonly kind: 'filesystem';
  /** The absolute root, as configured (before resolving symlinks). */
  readonly root: string;
  /** Address a file by key directly, e.g. from a `record()` lookup; `null` if the key is refused. */
  file(key: string | readonly string[]): Located | null;
  /** The mode the source runs in once the root is resolved (what `io: 'auto'` picked). */
  ioMode(): Promise<'blocking' | 'threadpool'>;
}

/** The root with symlinks resolved, and the calls made on its filesystem. */
interface ResolvedRoot {
  real: string;
  calls: FilesystemCalls;
}

const ioModes: readonly FilesystemIo[] = ['auto', 'blocking', 'threadpool'];

/** Errors that mean "no such file here" rather than "the server is broken" (as in `send`). */
const missingCodes = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR']);

export function filesystem(options: FilesystemOptions): FilesystemSource {
  if (typeof options?.root !== 'string' || options.root === '') invalidOption('filesystem.root', 'must be a non-empty path');
  if (options.root.includes('\0')) invalidOption('filesystem.root', 'must not contain NUL');
  if (options.param !== undefined && (typeof options.param !== 'string' || options.param === '')) {
    invalidOption('filesystem.param', 'must be a non-empty string');
  }
  if (options.key !== undefined && typeof options.key !== 'function') invalidOption('filesystem.key', 'must be a function');
  if (options.io !== undefined && !ioModes.includes(options.io)) invalidOption('filesystem.io', `must be one of ${ioModes.join(', ')}`);

  const root = resolve(options.root);
  const io = options.io ?? 'auto';
  const param = options.param ?? 'path';
  const rules = { denyDotfiles: options.dotfiles !== true };
  // The root is resolved once, lazily (the directory may be mounted after startup), and retried
  // while it fails. Once known it is read without an await on every request.
  let resolved: ResolvedRoot | undefined;
  let resolving: Promise<ResolvedRoot> | undefined;
  const resolveRoot = (): Promise<ResolvedRoot> => {
    resolving ??= (async () => {
      const real = await threadpoolCalls.realpath(root);
      resolved = { real, calls: await callsFor(io, real) };
      return resolved;
    })().catch((error: unknown) => {
      resolving = undefined;
      throw error;
    });
    return resolving;
  };

  function file(key: string | readonly string[]): Located | null {
    const segments = keySegments(key, rules);
    if (segments === null) return null;
    const relative = segments.join('/');
    const candidate = join(root, ...segments);
    return {
      target: { kind: 'filesystem', key: relative, path: candidate },
      load: () => loadFile(resolved ?? resolveRoot(), root, segments, candidate),
    };
  }

  return {
    kind: 'filesystem',
    root,
    file,
    ioMode: async () => (resolved ?? (await resolveRoot())).calls.mode,
    async locate(request, context) {
      const key = options.key ? await options.key(request, context) : keyFromParam(context.params, param);
      return key === null || key === undefined ? null : file(key);
    },
  };
}

async function loadFile(resolvedRoot: ResolvedRoot | Promise<ResolvedRoot>, root: string, segments: readonly string[], candidate: string): Promise<DownloadFile | null> {
  let calls: FilesystemCalls;
  let found: Found | null | undefined;
  try {
    // A root that does not exist (yet) is a 404 like a missing file, and is looked up again next time.
    const resolved = resolvedRoot instanceof Promise ? await resolvedRoot : resolvedRoot;
    calls = resolved.calls;
    found = await walkBelowRoot(calls, resolved.real, segments, candidate);
    // Only a symlink on the way (undefined) needs full resolution; null is already a 404.
    if (found === undefined) found = await resolveSymlinked(calls, resolved.real, root, candidate);
  } catch (error) {
    if (isMissing(error)) return null;
    throw new DownloadError('source_error', 'filesystem lookup failed', { cause: error });
  }
  // Directories, FIFOs (which would block the read forever), sockets and devices are not files.
  if (!found || !found.stats.isFile()) return null;
  const { real, stats, located } = found;
  return {
    kind: 'filesystem',
    name: basename(real),
    size: stats.size,
    mtime: stats.mtime,
    path: located,
    open: () => openVerified(calls, real, stats),
  };
}

/** A file below the root: its real path, its metadata, and the path offered to proxies. */
interface Found {
  real: string;
  stats: Stats;
  located: string;
}

/**
 * The common case: walk the key from the real root with one lstat per segment. With the root
 * real and no component a symlink, the path is real and inside the root by construction (keys
 * never hold `..`, `.`, empty segments, NUL or backslashes), and the last lstat is the file's own
 * metadata: one syscall for a flat key, where realpath makes one per component of the whole path
 * and then a stat. `undefined` when a component is a symlink; `null` when one is not a directory.
 */
async function walkBelowRoot(calls: FilesystemCalls, realRoot: string, segments: readonly string[], candidate: string): Promise<Found | null | undefined> {
  // Keys always have at least one segment (keySegments refuses empty ones).
  const last = segments.length - 1;
  let real = realRoot.endsWith(sep) ? realRoot.slice(0, -1) : realRoot;
  for (let index = 0; ; index += 1) {
    real += sep + segments[index];
    const stats = await calls.lstat(real);
    if (stats.isSymbolicLink()) return undefined;
    if (index === last) return { real, stats, located: candidate };
    if (!stats.isDirectory()) return null;
  }
}

/**
 * A key through a symlink: resolve it fully and check containment on the real path, so a link
 * that leaves the root is refused.
 */
async function resolveSymlinked(calls: FilesystemCalls, realRoot: string, root: string, candidate: string): Promise<Found | null> {
  const real = await calls.realpath(candidate);
  if (!isInside(real, realRoot)) return null;
  // The location proxies get is the resolved file under the root *as configured*, so offload
  // rules can name the same root the app was given even when that root is itself a symlink.
  return { real, stats: await calls.stat(real), located: join(root, relative(realRoot, real)) };
}

/**
 * Open the file and check it is still the one whose metadata went into the headers. O_NOFOLLOW
 * refuses a symlink swapped in at the last component after the containment check.
 */
async function openVerified(calls: FilesystemCalls, path: string, expected: Stats): Promise<FileBody> {
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

function descriptorBody(calls: FilesystemCalls, fd: number): FileBody {
  return {
    async read(position, length) {
      // A fresh buffer per chunk: the stream hands it to the socket and never reuses it.
      const buffer = Buffer.allocUnsafe(length);
      const bytesRead = await calls.read(fd, buffer, length, position);
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

