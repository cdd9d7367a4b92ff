/**
 * A file changed while it streams (issue 18, "descriptor, memory and abort hygiene"): truncated,
 * grown, rewritten in place or renamed over after the headers went out. The client may get the
 * old version byte-exact, or the new one, or an aborted (errored) body; never a body that ends
 * like a complete one but matches no version of the file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadHandler, filesystem } from '../../src/index.js';
import { call, releaseUnread, segments } from './support.js';

const MiB = 1 << 20;
const SIZE = 4 * MiB;
let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'dv-changes-'));
});
afterEach(releaseUnread);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Rewrite `file` in place as `cp new file` does: O_TRUNC, then write the new bytes. */
function rewriteInPlace(file: string, bytes: Buffer): void {
  const fd = openSync(file, 'w');
  writeSync(fd, bytes);
  closeSync(fd);
}

type Outcome = { kind: 'aborted'; received: number } | { kind: 'complete'; sha256: string; length: number };

/**
 * Stream `name`, apply `change` once the first chunk has arrived (the headers promised the old
 * length), then read to the end, slowly enough that the change lands mid-body.
 */
async function streamThroughChange(name: string, io: 'blocking' | 'threadpool', change: () => void, rangeHeader?: string): Promise<{ outcome: Outcome; status: number; contentLength: number }> {
  const GET = downloadHandler({ source: filesystem({ root, io }) });
  const response = await call(GET, segments(name), { headers: rangeHeader ? { range: rangeHeader } : {} });
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  let changed = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      if (!changed) {
        changed = true;
        change();
      }
    }
  } catch {
    return { outcome: { kind: 'aborted', received }, status: response.status, contentLength: Number(response.headers.get('content-length')) };
  }
  const body = Buffer.concat(chunks);
  return { outcome: { kind: 'complete', sha256: sha(body), length: body.length }, status: response.status, contentLength: Number(response.headers.get('content-length')) };
}

/** A complete body must be exactly a real version of the file (or of the requested slice of it). */
function expectRealVersionOrAborted(result: { outcome: Outcome; contentLength: number }, versions: Buffer[]): void {
  if (result.outcome.kind === 'aborted') {
    expect(result.outcome.received).toBeLessThan(result.contentLength);
    return;
  }
  const hashes = versions.map(sha);
  expect(result.outcome.length).toBe(result.contentLength);
  expect(hashes).toContain(result.outcome.sha256);
}

describe.each(['blocking', 'threadpool'] as const)('a file changed while it streams (io: %s)', (io) => {
  const prepare = (name: string): Buffer => {
    const old = randomBytes(SIZE);
    writeFileSync(path.join(root, name), old);
    return old;
  };

  it('truncated: the body is aborted short, never ended as if complete', async () => {
    const old = prepare(`truncated-${io}.bin`);
    const file = path.join(root, `truncated-${io}.bin`);
    const result = await streamThroughChange(`truncated-${io}.bin`, io, () => truncateSync(file, MiB));
    expect(result.outcome.kind).toBe('aborted');
    expectRealVersionOrAborted(result, [old]);
  });

  it('grown (appended to): the old version byte-exact, or aborted', async () => {
    const old = prepare(`grown-${io}.bin`);
    const file = path.join(root, `grown-${io}.bin`);
    const result = await streamThroughChange(`grown-${io}.bin`, io, () => appendFileSync(file, randomBytes(MiB)));
    expectRealVersionOrAborted(result, [old]);
  });

  it('rewritten in place to the same size (cp over it): aborted, never a mix of old and new', async () => {
    const old = prepare(`rewritten-${io}.bin`);
    const file = path.join(root, `rewritten-${io}.bin`);
    const next = randomBytes(SIZE);
    const result = await streamThroughChange(`rewritten-${io}.bin`, io, () => rewriteInPlace(file, next));
    expectRealVersionOrAborted(result, [old, next]);
    expect(result.outcome.kind).toBe('aborted');
  });

  it('overwritten in the middle without a size change: aborted, never a mix', async () => {
    const old = prepare(`patched-${io}.bin`);
    const file = path.join(root, `patched-${io}.bin`);
    const patch = randomBytes(64 * 1024);
    const result = await streamThroughChange(`patched-${io}.bin`, io, () => {
      const fd = openSync(file, 'r+');
      writeSync(fd, patch, 0, patch.length, SIZE - 2 * patch.length);
      closeSync(fd);
    });
    const patched = Buffer.from(old);
    patch.copy(patched, SIZE - 2 * patch.length);
    expectRealVersionOrAborted(result, [old, patched]);
    expect(result.outcome.kind).toBe('aborted');
  });

  it('rewritten in place during a range request: the slice of a real version, or aborted', async () => {
    const old = prepare(`ranged-${io}.bin`);
    const file = path.join(root, `ranged-${io}.bin`);
    const next = randomBytes(SIZE);
    const [start, end] = [100, 3 * MiB + 7];
    const result = await streamThroughChange(`ranged-${io}.bin`, io, () => rewriteInPlace(file, next), `bytes=${start}-${end}`);
    expect(result.status).toBe(206);
    expectRealVersionOrAborted(result, [old.subarray(start, end + 1), next.subarray(start, end + 1)]);
    expect(result.outcome.kind).toBe('aborted');
  });

  it('replaced by a rename over it: the old version byte-exact (the open descriptor keeps the old inode)', async () => {
    const old = prepare(`renamed-${io}.bin`);
    const file = path.join(root, `renamed-${io}.bin`);
    const result = await streamThroughChange(`renamed-${io}.bin`, io, () => {
      writeFileSync(`${file}.new`, randomBytes(SIZE));
      renameSync(`${file}.new`, file);
    });
    expect(result.outcome.kind).toBe('complete');
    expectRealVersionOrAborted(result, [old]);
  });
});
