/** `filesystem({ root })`: files below a directory, addressed by a relative key. */
import { constants, type Stats } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { DownloadError, invalidOption } from '../errors.js';
import type { DownloadFile, Located, RequestContext, Source } from '../types.js';
import { CHUNK_SIZE } from '../streams/body-stream.js';
import { callsFor, descriptorBody, threadpoolCalls, type FilesystemCalls, type FilesystemIo } from './filesystem-io.js';
import { keyFromParam, keySegments } from './key.js';
import { defaultOpenFileCache, OpenFileCache, openFileCacheOptions, type FileIdentity, type OpenFileCacheOptions } from './open-file-cache.js';

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
  /**
   * Keep descriptors of recently served small files (up to 256 KiB, read in one go) open, so a hot
   * file costs one read instead of open + fstat + read + close. Larger files, streamed in chunks,
   * get their own descriptor per download. Every request still checks with lstat that the path names the
   * same unchanged inode (device, inode, ctime); anything else opens the file afresh, so a
   * replaced, rewritten or re-permissioned file is never served from an old descriptor. Idle
   * descriptors close after `idle` ms (a deleted file's space is freed by then). `undefined`: on
   * when the source runs in `'blocking'` mode (local disks), off on network filesystems, where a
   * fresh open is what revalidates cached data.
   * @default { max: 128, idle: 10000 } in blocking mode, off in threadpool mode
   * @example openFileCache: false
   */
  openFileCache?: boolean | OpenFileCacheOptions;
}

export interface FilesystemSource extends Source {
  readonly kind: 'filesystem';
  /** The absolute root, as configured (before resolving symlinks). */
  readonly root: string;
  /** Address a file by key directly, e.g. from a `record()` lookup; `null` if the key is refused. */
  file(key: string | readonly string[]): Located | null;
  /** The mode the source runs in once the root is resolved (what `io: 'auto'` picked). */
  ioMode(): Promise<'blocking' | 'threadpool'>;
  /**
   * Close the descriptors the open-file cache holds (those in use close when their download ends),
   * e.g. before unmounting the root. The cache fills again on the next requests.
   */
  closeOpenFiles(): void;
}

/** The root with symlinks resolved, the calls made on its filesystem, and its descriptor cache. */
interface ResolvedRoot {
  real: string;
  calls: FilesystemCalls;
  openFiles: OpenFileCache | undefined;
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
  const cacheOption = openFileCacheOptions(options.openFileCache, (message) => invalidOption('filesystem.openFileCache', message));

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
      const calls = await callsFor(io, real);
      const cache = cacheOption ?? (calls.mode === 'blocking' ? defaultOpenFileCache : false);
      const openFiles = cache ? new OpenFileCache(calls, (path, stats) => openVerified(calls, path, stats), cache) : undefined;
      resolved = { real, calls, openFiles };
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
    closeOpenFiles: () => resolved?.openFiles?.clear(),
    async locate(request, context) {
      const key = options.key ? await options.key(request, context) : keyFromParam(context.params, param);
      return key === null || key === undefined ? null : file(key);
    },
  };
}

async function loadFile(resolvedRoot: ResolvedRoot | Promise<ResolvedRoot>, root: string, segments: readonly string[], candidate: string): Promise<DownloadFile | null> {
  let resolved: ResolvedRoot | undefined;
  let found: Found | null | undefined;
  try {
    // A root that does not exist (yet) is a 404 like a missing file, and is looked up again next time.
    resolved = resolvedRoot instanceof Promise ? await resolvedRoot : resolvedRoot;
    found = await walkBelowRoot(resolved.calls, resolved.real, segments, candidate);
    // Only a symlink on the way (undefined) needs full resolution; null is already a 404.
    if (found === undefined) found = await resolveSymlinked(resolved.calls, resolved.real, root, candidate);
  } catch (error) {
    if (!isMissing(error)) throw new DownloadError('source_error', 'filesystem lookup failed', { cause: error });
    // A deleted file's cached descriptor would hold its disk space until the idle timeout.
    resolved?.openFiles?.forget(join(resolved.real, ...segments));
    return null;
  }
  // Directories, FIFOs (which would block the read forever), sockets and devices are not files.
  if (!found || !found.stats.isFile()) {
    if (found) resolved.openFiles?.forget(found.real);
    return null;
  }
  const { real, stats, located } = found;
  const { calls, openFiles } = resolved;
  return {
    kind: 'filesystem',
    name: basename(real),
    size: stats.size,
    mtime: stats.mtime,
    path: located,
    // Only files read in one go share a cached descriptor: concurrent streams through one descriptor
    // share its readahead state (4 × 100 MiB measured ~20% slower), and a stream's own open() is
    // nothing next to its reads.
    open: openFiles && stats.size <= CHUNK_SIZE
      ? () => openFiles.open(real, stats)
      : async () => {
          const { fd } = await openVerified(calls, real, stats);
          return descriptorBody(calls, fd, () => calls.close(fd));
        },
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
async function openVerified(calls: FilesystemCalls, path: string, expected: Stats): Promise<{ fd: number; identity: FileIdentity }> {
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
  return { fd, identity: { dev: actual.dev, ino: actual.ino, ctimeMs: actual.ctimeMs } };
}

function isInside(path: string, root: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && missingCodes.has(String((error as { code?: unknown }).code));
}

