/**
 * Opening a file below a filesystem root and proving the descriptor is the file whose metadata
 * went into the headers, at the place the key names: nothing swapped in between is ever read.
 */
import { constants, type Stats } from 'node:fs';
import { DownloadError } from '../errors.js';
import type { FilesystemCalls } from './filesystem-io.js';
import type { FileIdentity } from './open-file-cache.js';

/** What to open, and what it must turn out to be. */
export interface OpenTarget {
  /** The path to open. */
  path: string;
  /** The metadata the headers were built from (the request's lstat, or stat after realpath). */
  stats: Stats;
  /**
   * Whether the opened descriptor is where it must be (its real location, e.g. from
   * `/proc/self/fd/N`); `undefined` where that cannot be checked (see `verifyOpenedPath`).
   */
  isInPlace?: (fd: number) => Promise<boolean>;
}

// O_NOFOLLOW refuses a symlink swapped in at the last component after the containment check.
// O_NONBLOCK: a FIFO swapped in after the lstat would make open() wait for a writer, forever:
// the event loop stops in blocking mode, a libuv thread per request in threadpool mode, until
// every filesystem call in the process hangs. It changes nothing for regular files (Linux and
// POSIX ignore it for them), and the type is checked right after, as nginx does
// (ngx_open_cached_file opens with NGX_FILE_NONBLOCK, then fstat). On Windows these flags are
// undefined and count as 0.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Open `target.path` and check that the descriptor is a regular file with the device, inode, size
 * and mtime of `target.stats`, and (where it can be checked) in its place below the root. A file
 * replaced, swapped for a FIFO, device or directory, or reached through a directory swapped for
 * a symlink in between is a `file_changed` error (503), never read.
 */
export async function openVerified(calls: FilesystemCalls, target: OpenTarget): Promise<{ fd: number; identity: FileIdentity }> {
  let fd: number;
  try {
    fd = await calls.open(target.path, OPEN_FLAGS);
  } catch (error) {
    if (isMissing(error)) throw new DownloadError('file_changed', 'file disappeared before it was opened', { cause: error });
    throw new DownloadError('source_error', 'cannot open file', { cause: error });
  }
  try {
    let actual: Stats;
    try {
      actual = await calls.fstat(fd);
    } catch (error) {
      throw new DownloadError('source_error', 'cannot stat opened file', { cause: error });
    }
    const expected = target.stats;
    if (!actual.isFile() || actual.ino !== expected.ino || actual.dev !== expected.dev || actual.size !== expected.size || actual.mtimeMs !== expected.mtimeMs) {
      throw new DownloadError('file_changed', 'file changed between stat and open');
    }
    if (target.isInPlace && !(await target.isInPlace(fd))) {
      throw new DownloadError('file_changed', 'the opened file is not at its place below the root (a directory on its path was swapped)');
    }
    return { fd, identity: { dev: actual.dev, ino: actual.ino, ctimeMs: actual.ctimeMs, size: actual.size, mtimeMs: actual.mtimeMs } };
  } catch (error) {
    // The descriptor is ours alone: close it whatever went wrong, and report the first failure.
    await calls.close(fd).catch(() => undefined);
    throw error instanceof DownloadError ? error : new DownloadError('source_error', 'cannot verify opened file', { cause: error });
  }
}

/** Errors that mean "no such file here" rather than "the server is broken" (as in `send`). */
const missingCodes = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR']);

export function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && missingCodes.has(String((error as { code?: unknown }).code));
}
