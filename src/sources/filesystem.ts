/** `filesystem({ root })`: files below a directory, addressed by a relative key. */
import type { Stats } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { DownloadError, invalidOption } from '../errors.js';
import type { DownloadFile, Located, RequestContext, Source } from '../types.js';
import { CHUNK_SIZE } from '../streams/body-stream.js';
import { callsFor, descriptorBody, threadpoolCalls, type FilesystemCalls, type FilesystemIo } from './filesystem-io.js';
import { keyFromParam, keySegments } from './key.js';
import { defaultOpenFileCache, OpenFileCache, openFileCacheOptions, type OpenFileCacheOptions } from './open-file-cache.js';
import { isMissing, openVerified, type OpenTarget } from './open-verified.js';

export interface FilesystemOptions {
  /**
   * Directory the files live in. Relative paths resolve against `process.cwd()` when the
   * factory is called. Followed as configured on every request, like nginx: a root that is a
   * symlink (`current → releases/r2`) serves the new release as soon as it is switched.
   * Symlinks inside it are followed only while they stay inside it.
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
  /**
   * After opening a file, check where the descriptor really is (`/proc/self/fd/N`, Linux): it
   * must be the key's path below the root's current real path. This is what makes a race
   * harmless in which a directory on the key's path is swapped for a symlink leaving the root
   * between the checks and the open (a 503, never the outside file). Needs Linux with /proc
   * mounted; `true` elsewhere throws here. Off, that one race is not detected: see
   * docs/security.md for what each setting guarantees.
   * @default true on Linux; false elsewhere (with a warning once per process, as the guarantee is weaker)
   * @example verifyOpenedPath: false // macOS development, acknowledged
   */
  verifyOpenedPath?: boolean;
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

const ioModes: readonly FilesystemIo[] = ['auto', 'blocking', 'threadpool'];

let warnedUnverified = false;

export function filesystem(options: FilesystemOptions): FilesystemSource {
  if (typeof options?.root !== 'string' || options.root === '') invalidOption('filesystem.root', 'must be a non-empty path');
  if (options.root.includes('\0')) invalidOption('filesystem.root', 'must not contain NUL');
  if (options.param !== undefined && (typeof options.param !== 'string' || options.param === '')) {
    invalidOption('filesystem.param', 'must be a non-empty string');
  }
  if (options.key !== undefined && typeof options.key !== 'function') invalidOption('filesystem.key', 'must be a function');
  // A string such as 'false' would silently mean "deny"; say so instead.
  if (options.dotfiles !== undefined && typeof options.dotfiles !== 'boolean') invalidOption('filesystem.dotfiles', 'must be a boolean');
  if (options.io !== undefined && !ioModes.includes(options.io)) invalidOption('filesystem.io', `must be one of ${ioModes.join(', ')}`);
  const cacheOption = openFileCacheOptions(options.openFileCache, (message) => invalidOption('filesystem.openFileCache', message));
  const verifyOpenedPath = verifyOpenedPathOption(options.verifyOpenedPath);

  const root = resolve(options.root);
  const io = options.io ?? 'auto';
  const param = options.param ?? 'path';
  const denyDotfiles = options.dotfiles !== true;
  const rules = { denyDotfiles };
  // The filesystem's mode is decided once, lazily (the directory may be mounted after startup),
  // and retried while the root cannot be resolved. Once known it is read without an await.
  let resolved: FilesystemRoot | undefined;
  let resolving: Promise<FilesystemRoot> | undefined;
  const resolveRoot = (): Promise<FilesystemRoot> => {
    resolving ??= (async () => {
      const real = await threadpoolCalls.realpath(root);
      const calls = await callsFor(io, real);
      if (verifyOpenedPath) await checkProcFd(calls, real);
      const cache = cacheOption ?? (calls.mode === 'blocking' ? defaultOpenFileCache : false);
      resolved = new FilesystemRoot(root, real, calls, cache ? new OpenFileCache(calls, cache) : undefined, verifyOpenedPath, denyDotfiles);
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
      load: () => loadFile(resolved ?? resolveRoot(), segments, candidate),
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

/** Validated `verifyOpenedPath`: on by default where /proc/self/fd exists, refused where it cannot. */
function verifyOpenedPathOption(value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean') invalidOption('filesystem.verifyOpenedPath', 'must be a boolean');
  const linux = process.platform === 'linux';
  if (value === true && !linux) {
    invalidOption('filesystem.verifyOpenedPath', `needs /proc/self/fd (Linux), which ${process.platform} does not have; set false and see docs/security.md`);
  }
  if (value === undefined && !linux && !warnedUnverified) {
    // Not silent: the weaker guarantee is the platform's, and the user should know it.
    warnedUnverified = true;
    console.warn(
      `[next-downloadview] filesystem(): ${process.platform} has no /proc/self/fd, so a directory below the root swapped for a symlink ` +
        'during a request is not detected (docs/security.md). Set verifyOpenedPath: false to acknowledge, or offload to nginx.',
    );
  }
  return value ?? linux;
}

/** Fails at resolution, naming the option, when /proc/self/fd does not show where descriptors are. */
async function checkProcFd(calls: FilesystemCalls, realRoot: string): Promise<void> {
  let works = false;
  try {
    const fd = await calls.open(realRoot, 0);
    try {
      works = (await calls.readlink(`/proc/self/fd/${fd}`)) === realRoot;
    } finally {
      await calls.close(fd);
    }
  } catch {
    works = false;
  }
  if (!works) {
    throw new DownloadError('source_error', 'filesystem.verifyOpenedPath: /proc/self/fd does not name open files here (mount /proc, or set verifyOpenedPath: false; see docs/security.md)');
  }
}

/**
 * The root as configured, its last known real path, the calls made on its filesystem and its
 * descriptor cache. Keys are looked up through the configured path on every request, so the
 * kernel follows a root that is a symlink as it is now; the real path is only a cache for the
 * checks below, refreshed when they meet a switched root.
 */
class FilesystemRoot {
  /** The real root with a trailing separator: the start of every real path below it. */
  private realPrefix: string;

  constructor(
    readonly configured: string,
    real: string,
    readonly calls: FilesystemCalls,
    readonly openFiles: OpenFileCache | undefined,
    readonly verifyOpenedPath: boolean,
    readonly denyDotfiles: boolean,
  ) {
    this.realPrefix = withSeparator(real);
  }

  /** `real` relative to the real root (`a/b.txt`), or `undefined` when it is not below it. */
  relativeOf(real: string): string | undefined {
    const prefix = this.realPrefix;
    return real.startsWith(prefix) && real.length > prefix.length ? real.slice(prefix.length) : undefined;
  }

  /** Resolve the configured root again (after a symlink-flip deploy); false when that changed nothing. */
  async refresh(): Promise<boolean> {
    const previous = this.realPrefix;
    try {
      this.realPrefix = withSeparator(await this.calls.realpath(this.configured));
    } catch {
      return false;
    }
    return this.realPrefix !== previous;
  }

  /**
   * Whether the descriptor `fd` is open on `<real root>/<relative>`. Linux names the file an open
   * descriptor refers to in /proc/self/fd/N (its current path, " (deleted)" appended once
   * unlinked): a file opened through a directory swapped for a symlink names its place outside.
   */
  async isAt(fd: number, relative: string): Promise<boolean> {
    const actual = await this.calls.readlink(`/proc/self/fd/${fd}`);
    if (actual === this.realPrefix + relative) return true;
    return (await this.refresh()) && this.relativeOf(actual) === relative;
  }
}

function withSeparator(path: string): string {
  return path.endsWith(sep) ? path : path + sep;
}

async function loadFile(rootOrPromise: FilesystemRoot | Promise<FilesystemRoot>, segments: readonly string[], candidate: string): Promise<DownloadFile | null> {
  let root: FilesystemRoot | undefined;
  let found: Found | null | undefined;
  try {
    // A root that does not exist (yet) is a 404 like a missing file, and is looked up again next time.
    root = rootOrPromise instanceof Promise ? await rootOrPromise : rootOrPromise;
    found = await walkBelowRoot(root.calls, root.configured, segments, candidate);
    // Only a symlink on the way (undefined) needs full resolution; null is already a 404.
    if (found === undefined) found = await resolveSymlinked(root, candidate);
  } catch (error) {
    if (!isMissing(error)) throw new DownloadError('source_error', 'filesystem lookup failed', { cause: error });
    // A deleted file's cached descriptor would hold its disk space until the idle timeout.
    root?.openFiles?.forget(candidate);
    return null;
  }
  // Directories, FIFOs (which would block the read forever), sockets and devices are not files.
  if (!found || !found.stats.isFile()) {
    if (found) root.openFiles?.forget(found.path);
    return null;
  }
  const { path, stats, relative, located } = found;
  const { calls, openFiles } = root;
  const verifiedRoot = root.verifyOpenedPath ? root : undefined;
  const target: OpenTarget = { path, stats, isInPlace: verifiedRoot && ((fd) => verifiedRoot.isAt(fd, relative)) };
  return {
    kind: 'filesystem',
    // The name asked for, as nginx, `send` and django-downloadview do: a symlink's target may
    // have a hidden name (`invoice.pdf → blobs/7f3a9c`) and no extension to take a type from.
    name: segments[segments.length - 1]!,
    size: stats.size,
    mtime: stats.mtime,
    path: located,
    // Only files read in one go share a cached descriptor: concurrent streams through one descriptor
    // share one readahead state, which interleaved reads defeat, and a stream's own open() is
    // nothing next to its reads.
    open: openFiles && stats.size <= CHUNK_SIZE
      ? () => openFiles.open(path, stats, () => openVerified(calls, target))
      : async () => {
          const { fd, identity } = await openVerified(calls, target);
          return descriptorBody(calls, fd, identity, () => calls.close(fd));
        },
  };
}

/** A file below the root: the path to open, its metadata, its place below the real root, and the path offered to proxies. */
interface Found {
  path: string;
  stats: Stats;
  /** Its path below the real root, `/`-separated. */
  relative: string;
  located: string;
}

/**
 * The common case: walk the key from the root with one lstat per segment. With no component
 * below the root a symlink, the path is inside the root by construction (keys never hold `..`,
 * `.`, empty segments, NUL or backslashes), and the last lstat is the file's own metadata: one
 * syscall for a flat key, where realpath makes one per component of the whole path and then a
 * stat. The root's own components are resolved by the kernel as configured, on every call.
 * `undefined` when a component is a symlink; `null` when one is not a directory.
 */
async function walkBelowRoot(calls: FilesystemCalls, root: string, segments: readonly string[], candidate: string): Promise<Found | null | undefined> {
  // Keys always have at least one segment (keySegments refuses empty ones).
  const last = segments.length - 1;
  let path = root.endsWith(sep) ? root.slice(0, -1) : root;
  for (let index = 0; ; index += 1) {
    path += sep + segments[index];
    const stats = await calls.lstat(path);
    if (stats.isSymbolicLink()) return undefined;
    if (index === last) return { path, stats, relative: segments.join('/'), located: candidate };
    if (!stats.isDirectory()) return null;
  }
}

/**
 * A key through a symlink: resolve it fully and check containment on the real path, so a link
 * that leaves the root is refused, and so is one that reaches a dotfile when those are denied
 * (`link → .env`, `gitdir → .git`): the rule holds for every component below the root.
 */
async function resolveSymlinked(root: FilesystemRoot, candidate: string): Promise<Found | null> {
  const real = await root.calls.realpath(candidate);
  let relative = root.relativeOf(real);
  // Outside the root as last resolved: the root itself may have been switched since.
  if (relative === undefined && (await root.refresh())) relative = root.relativeOf(real);
  if (relative === undefined) return null;
  const parts = relative.split(sep);
  if (root.denyDotfiles && parts.some((part) => part.startsWith('.'))) return null;
  // The location proxies get is the resolved file under the root *as configured*, so offload
  // rules can name the same root the app was given even when that root is itself a symlink.
  return { path: real, stats: await root.calls.stat(real), relative: parts.join('/'), located: join(root.configured, relative) };
}
