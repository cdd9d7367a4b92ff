/**
 * How the filesystem source makes its system calls: through libuv's threadpool, or directly on the
 * event loop. Chosen per source, by default from the type of filesystem the root lives on.
 */
import { close, closeSync, fstat, fstatSync, lstat, lstatSync, open, openSync, read, readlink, readlinkSync, readSync, realpath, realpathSync, stat, statfs, statSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { DownloadError } from '../errors.js';
import type { FileBody } from '../types.js';
import type { FileIdentity } from './open-file-cache.js';

/**
 * - `'auto'`: `'blocking'` when the root is on a local Linux filesystem, `'threadpool'` otherwise.
 * - `'blocking'`: metadata calls and reads up to 64 KiB run synchronously on the event loop.
 * - `'threadpool'`: every call goes through libuv's threadpool.
 */
export type FilesystemIo = 'auto' | 'blocking' | 'threadpool';

/** The calls one download makes, in the mode the source runs in. */
export interface FilesystemCalls {
  readonly mode: 'blocking' | 'threadpool';
  realpath(path: string): Promise<string>;
  lstat(path: string): Promise<Stats>;
  stat(path: string): Promise<Stats>;
  open(path: string, flags: number): Promise<number>;
  fstat(fd: number): Promise<Stats>;
  /** The target of a symlink; used on `/proc/self/fd/N`, where it names an open file's location. */
  readlink(path: string): Promise<string>;
  read(fd: number, buffer: Buffer, length: number, position: number): Promise<number>;
  close(fd: number): Promise<void>;
}

// The callback API on raw descriptors rather than fs/promises' FileHandle: less per-request
// overhead for the six calls a download makes (no FileHandle object, no GC finaliser). Every
// descriptor is closed exactly once by the body's owner (streams/body-stream.ts).
function readInThreadpool(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

export const threadpoolCalls: FilesystemCalls = {
  mode: 'threadpool',
  realpath: promisify(realpath.native),
  lstat: promisify(lstat),
  stat: promisify(stat),
  open: promisify(open),
  fstat: promisify(fstat),
  readlink: promisify(readlink),
  read: readInThreadpool,
  close: promisify(close),
};

/**
 * Reads at most this large are made on the event loop in blocking mode: one copy out of the page
 * cache (microseconds), like nginx's own blocking read(). Larger reads stream in 256 KiB chunks,
 * where one threadpool hand-off per chunk is cheap next to the copy and a cold read cannot stall
 * the server for long.
 */
const BLOCKING_READ_LIMIT = 64 * 1024;

// On a local disk each of these is one syscall answered from the kernel's caches (a few µs, see
// bench/results/fs-checks.md), far less than a hand-off to the threadpool and back; the bench's
// threadpool target shows the difference per mode. The promises keep one code path for both modes.
export const blockingCalls: FilesystemCalls = {
  mode: 'blocking',
  realpath: async (path) => realpathSync.native(path),
  lstat: async (path) => lstatSync(path),
  stat: async (path) => statSync(path),
  open: async (path, flags) => openSync(path, flags),
  fstat: async (fd) => fstatSync(fd),
  readlink: async (path) => readlinkSync(path),
  read: async (fd, buffer, length, position) =>
    length <= BLOCKING_READ_LIMIT ? readSync(fd, buffer, 0, length, position) : readInThreadpool(fd, buffer, length, position),
  close: async (fd) => closeSync(fd),
};

/**
 * `f_type` values (linux/magic.h) of filesystems backed by local block devices or memory, where a
 * metadata call cannot wait on a network. Anything else (NFS, SMB/CIFS, FUSE, 9p, Ceph, Lustre,
 * GlusterFS, virtiofs, unknown) keeps the threadpool.
 */
const localFilesystemTypes = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs (container images)
  0x73717368, // squashfs
  0xe0f5e1e2, // erofs
  0x3153464a, // jfs
  0x52654973, // reiserfs
]);

/** The mode `'auto'` picks for a filesystem of type `fsType` (statfs `f_type`) on `platform`. */
export function ioModeFor(fsType: number, platform: NodeJS.Platform = process.platform): 'blocking' | 'threadpool' {
  // f_type numbering is Linux's; elsewhere nothing is known, so nothing may block.
  return platform === 'linux' && localFilesystemTypes.has(fsType) ? 'blocking' : 'threadpool';
}

/** The calls for `io` on the filesystem holding `realRoot` (one statfs for `'auto'`). */
export async function callsFor(io: FilesystemIo, realRoot: string): Promise<FilesystemCalls> {
  if (io === 'blocking') return blockingCalls;
  if (io === 'threadpool') return threadpoolCalls;
  const type = await new Promise<number>((resolve, reject) => {
    statfs(realRoot, (error, stats) => (error ? reject(error) : resolve(stats.type)));
  });
  return ioModeFor(type) === 'blocking' ? blockingCalls : threadpoolCalls;
}

/**
 * Positional reads from an open descriptor of the file version `opened` (its fstat at open);
 * `release` runs once, on the first close().
 */
export function descriptorBody(calls: FilesystemCalls, fd: number, opened: FileIdentity, release: () => Promise<void>): FileBody {
  let released = false;
  return {
    async read(position, length) {
      // A fresh buffer per chunk: the stream hands it to the socket and never reuses it.
      const buffer = Buffer.allocUnsafe(length);
      const bytesRead = await calls.read(fd, buffer, length, position);
      // A file rewritten in place (`cp new file`: truncate, then write) or patched while it
      // streams would otherwise end as a complete-looking body mixing two versions under the old
      // ETag and Content-Length. The fstat comes after the read: when it still shows the version
      // the headers describe, nothing had changed the file when these bytes were read. One fstat
      // per chunk (256 KiB) costs microseconds.
      if (!isUnchanged(await calls.fstat(fd), opened)) throw new DownloadError('file_changed', 'file changed while it was being read');
      return bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    },
    close() {
      if (released) return Promise.resolve();
      released = true;
      return release();
    },
  };
}

/**
 * Whether `now` (an fstat) is still the version `opened`. Any write or truncate moves mtime and
 * ctime. ctime also moves when the file is renamed over or deleted (its link count drops): its
 * bytes stay as they were, so an unlinked file with its size and mtime is still that version
 * (atomic replacement by rename keeps serving the old file to the downloads already under way).
 */
function isUnchanged(now: Stats, opened: FileIdentity): boolean {
  if (now.size !== opened.size || now.mtimeMs !== opened.mtimeMs) return false;
  return now.ctimeMs === opened.ctimeMs || now.nlink === 0;
}
