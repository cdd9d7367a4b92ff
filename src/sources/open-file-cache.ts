/**
 * Descriptors of recently served files, kept open so a hot small file costs one `pread` instead of
 * open + fstat + read + close (like nginx's `open_file_cache`, but checked on every request). The
 * source uses it for files read in one go; streamed files get their own descriptor.
 *
 * Why it cannot serve the wrong file: every request still walks the key with lstat, and a cached
 * descriptor is used only when that lstat names the same inode (device and inode number) with the
 * same ctime. While we hold the descriptor the inode cannot be freed, so its number cannot be
 * reused by another file; any write, truncate, chmod, chown or rename onto the path changes the
 * ctime or the inode and the file is opened afresh. Reads through a descriptor see the file's
 * current bytes, exactly as a newly opened one would.
 *
 * Only for local filesystems (the source enables it in blocking mode): on NFS and other network
 * filesystems a fresh open() is what revalidates cached data (close-to-open consistency).
 */
import type { Stats } from 'node:fs';
import type { FileBody } from '../types.js';
import { descriptorBody, type FilesystemCalls } from './filesystem-io.js';

export interface OpenFileCacheOptions {
  /** Most descriptors kept open; the least recently used is closed beyond it. @default 128 */
  max?: number;
  /** Milliseconds a descriptor may stay unused before it is closed. @default 10000 */
  idle?: number;
}

/** The identity a cached descriptor must still have: same inode, unchanged since it was opened. */
export interface FileIdentity {
  dev: number;
  ino: number;
  ctimeMs: number;
  /** With `ctimeMs`, the version every read is checked against (filesystem-io.ts descriptorBody). */
  size: number;
  mtimeMs: number;
}

interface Entry extends FileIdentity {
  path: string;
  fd: number;
  /** Bodies reading through this descriptor right now. */
  users: number;
  /** `performance.now()` when the last user was done: a monotonic clock, and no wall-clock read. */
  lastUsed: number;
  /** Out of the cache: closed as soon as its last user is done. */
  retired: boolean;
}

/** Opens a verified descriptor for the file the request's lstat/stat described (rejects when it changed). */
export type OpenDescriptor = () => Promise<{ fd: number; identity: FileIdentity }>;

export const defaultOpenFileCache: Required<OpenFileCacheOptions> = { max: 128, idle: 10_000 };

export class OpenFileCache {
  private readonly entries = new Map<string, Entry>();
  private readonly max: number;
  private readonly idle: number;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly calls: FilesystemCalls,
    options: Required<OpenFileCacheOptions>,
  ) {
    this.max = options.max;
    this.idle = options.idle;
  }

  /**
   * A body for the file at `path`, which the caller's lstat/stat just described as `stats`: a
   * cached descriptor of that same unchanged inode, else a new one from `openDescriptor` (which
   * verifies what it opened), kept for the next requests.
   */
  async open(path: string, stats: Stats, openDescriptor: OpenDescriptor): Promise<FileBody> {
    const cached = this.entries.get(path);
    if (cached) {
      if (isSameFile(cached, stats)) {
        // Most recently used goes last: Map order is the eviction order.
        this.entries.delete(path);
        this.entries.set(path, cached);
        return this.borrow(cached);
      }
      this.retire(cached);
    }
    const { fd, identity } = await openDescriptor();
    const current = this.entries.get(path);
    if (current && isSameFile(current, stats)) {
      // Another request cached the same file while this one was opening it.
      return this.borrow({ ...identity, path, fd, users: 0, lastUsed: 0, retired: true });
    }
    if (current) this.retire(current);
    const entry: Entry = { ...identity, path, fd, users: 0, lastUsed: 0, retired: false };
    this.entries.set(path, entry);
    if (this.entries.size > this.max) this.retire(this.entries.values().next().value!);
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, this.idle / 2)).unref();
    return this.borrow(entry);
  }

  /** Forget `path` (it no longer names a servable file); its descriptor closes when unused. */
  forget(path: string): void {
    const entry = this.entries.get(path);
    if (entry) this.retire(entry);
  }

  /** Close every descriptor now, or as soon as the body using it is done. */
  clear(): void {
    for (const entry of [...this.entries.values()]) this.retire(entry);
  }

  private borrow(entry: Entry): FileBody {
    entry.users += 1;
    return descriptorBody(this.calls, entry.fd, entry, async () => {
      entry.users -= 1;
      entry.lastUsed = performance.now();
      if (entry.retired && entry.users === 0) await this.calls.close(entry.fd);
    });
  }

  private retire(entry: Entry): void {
    if (entry.retired) return;
    entry.retired = true;
    if (this.entries.get(entry.path) === entry) this.entries.delete(entry.path);
    if (this.entries.size === 0) this.stopSweeping();
    // A close that fails leaves nothing to retry: the descriptor is gone from the cache either way.
    if (entry.users === 0) this.calls.close(entry.fd).catch(() => undefined);
  }

  private sweep(): void {
    const cutoff = performance.now() - this.idle;
    for (const entry of [...this.entries.values()]) {
      if (entry.users === 0 && entry.lastUsed <= cutoff) this.retire(entry);
    }
  }

  private stopSweeping(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

function isSameFile(identity: FileIdentity, stats: Stats): boolean {
  return identity.ino === stats.ino && identity.dev === stats.dev && identity.ctimeMs === stats.ctimeMs;
}

/** Validated options: `false` when turned off, `undefined` when not given (the source decides by io mode). */
export function openFileCacheOptions(value: boolean | OpenFileCacheOptions | undefined, invalid: (message: string) => never): Required<OpenFileCacheOptions> | false | undefined {
  if (value === undefined) return undefined;
  if (value === false) return false;
  if (value === true) return defaultOpenFileCache;
  if (typeof value !== 'object' || value === null) invalid('must be a boolean or { max, idle }');
  const max = value.max ?? defaultOpenFileCache.max;
  const idle = value.idle ?? defaultOpenFileCache.idle;
  if (!Number.isSafeInteger(max) || max < 1) invalid('max must be a positive integer');
  if (!Number.isFinite(idle) || idle <= 0) invalid('idle must be a positive number of milliseconds');
  return { max, idle };
}
