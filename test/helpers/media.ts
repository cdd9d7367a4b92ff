/** Test media created at run time (large files are never committed). */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface LargeFile {
  path: string;
  size: number;
  sha256: string;
  /** sha256 of bytes [start, end] inclusive, computed from the same generator. */
  rangeHash(start: number, end: number): string;
}

/**
 * A file of `size` pseudo-random bytes written in 1 MiB blocks, where block i is a fixed
 * function of a seed, so any range's hash can be recomputed without keeping the file in memory.
 */
export function writeLargeFile(file: string, size: number): LargeFile {
  const blockSize = 1 << 20;
  const seed = randomBytes(blockSize);
  const block = (index: number): Buffer => {
    const copy = Buffer.from(seed);
    copy.writeUInt32BE(index, 0);
    return copy;
  };
  const whole = createHash('sha256');
  const fd = openSync(file, 'w');
  for (let offset = 0, index = 0; offset < size; offset += blockSize, index += 1) {
    const bytes = block(index).subarray(0, Math.min(blockSize, size - offset));
    writeSync(fd, bytes);
    whole.update(bytes);
  }
  closeSync(fd);
  return {
    path: file,
    size,
    sha256: whole.digest('hex'),
    rangeHash(start, end) {
      const hash = createHash('sha256');
      for (let position = start; position <= end; ) {
        const index = Math.floor(position / blockSize);
        const from = position - index * blockSize;
        const to = Math.min(blockSize, end - index * blockSize + 1);
        hash.update(block(index).subarray(from, to));
        position = index * blockSize + to;
      }
      return hash.digest('hex');
    },
  };
}

/**
 * A temp media root, `<tmp>/<prefix>XXXXXX/media`: files a test puts next to it (`${root}-outside.txt`,
 * traversal targets) live in the same temp folder and go with it on cleanup.
 */
export function createMediaRoot(prefix = 'dv-e2e-'): { root: string; write(relative: string, bytes: string | Buffer): string; cleanup(): void } {
  const parent = mkdtempSync(path.join(tmpdir(), prefix));
  // The proxies' workers run as `nobody`: they must be able to walk into the root.
  chmodSync(parent, 0o755);
  const root = path.join(parent, 'media');
  mkdirSync(root);
  return {
    root,
    write(relative, bytes) {
      const full = path.join(root, relative);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, bytes);
      return full;
    },
    cleanup: () => rmSync(parent, { recursive: true, force: true }),
  };
}
