/**
 * Races against the filesystem source with real concurrent renames (a child process) through the
 * handler, for a bounded time: a file swapped for a FIFO between lstat and open (issue 14, item 2)
 * and a directory on the key's path swapped for a symlink leaving the root (item 4).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { downloadHandler, filesystem, type DownloadRouteHandler } from '../../src/index.js';
import { settlesInTime, startLivenessProbe, swapFor, type LivenessProbe } from '../helpers/races.js';
import { call, mapLoaded, releaseUnread, segments } from './support.js';

const RACE_MS = 2500;
const CONCURRENCY = 8;
/** A request not answered within this is a hang (answers take milliseconds). */
const DEADLINE_MS = 5000;

let base: string;
let root: string;
beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'dv-races-'));
  root = path.join(base, 'media');
  mkdirSync(root);
});
afterEach(releaseUnread);
afterAll(() => rmSync(base, { recursive: true, force: true }));

const sha256 = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Tally {
  statuses: Record<number, number>;
  hung: number;
  /** Bodies of 200 responses by hash. */
  bodies: Map<string, number>;
}

/** Call `handler` for `keys` from CONCURRENCY loops until `until` settles; every body is hashed. */
async function hammer(handler: DownloadRouteHandler, keys: readonly string[], until: Promise<unknown>, probe: LivenessProbe): Promise<Tally> {
  const tally: Tally = { statuses: {}, hung: 0, bodies: new Map() };
  let running = true;
  void until.finally(() => (running = false));
  const loop = async (offset: number) => {
    for (let n = offset; running; n += 1) {
      const key = keys[n % keys.length]!;
      // Answers from the kernel's caches need no I/O wait: without this the loops would run on
      // microtasks alone and starve timers and the swapper's exit event.
      await new Promise((resolve) => setImmediate(resolve));
      const request = (async () => {
        // Not support.call(): it keeps every response for cleanup, thousands here.
        const response = await handler(new Request('http://localhost/files/x'), { params: Promise.resolve(segments(key)) });
        const body = Buffer.from(await response.arrayBuffer());
        tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1;
        if (response.status === 200) tally.bodies.set(sha256(body), (tally.bodies.get(sha256(body)) ?? 0) + 1);
      })();
      if (await settlesInTime(request, DEADLINE_MS, probe)) tally.hung += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, index) => loop(index)));
  await until;
  if (process.env.RACE_DEBUG) console.log(JSON.stringify({ statuses: tally.statuses, hung: tally.hung, bodies: [...tally.bodies.values()] }));
  return tally;
}

const total = (tally: Tally) => Object.values(tally.statuses).reduce((sum, count) => sum + count, 0);

describe.each([['blocking' as const], ['threadpool' as const]])('a file swapped for a FIFO (issue 14, item 2), io %s', (io) => {
  let fifo: string;
  beforeAll(() => {
    fifo = path.join(root, `fifo-${io}`);
    execFileSync('mkfifo', [fifo]);
  });

  it.each([
    ['read at once', 1000],
    ['streamed', 600 * 1024],
  ])('is a 503 at once when renamed over the file between stat and open (%s)', async (_, size) => {
    const name = `swapped-${io}-${size}.bin`;
    writeFileSync(path.join(root, name), Buffer.alloc(size, 'f'));
    const source = filesystem({ root, io });
    onTestFinished(() => source.closeOpenFiles());
    const onError = vi.fn();
    const handler = downloadHandler({
      source: mapLoaded(source, (file) => {
        // After the lstat, before the open: the FIFO (a second link to it) takes the file's name.
        linkSync(fifo, path.join(root, `${name}.fifo`));
        renameSync(path.join(root, `${name}.fifo`), path.join(root, name));
        return file;
      }),
      onError,
    });
    const probe = startLivenessProbe(fifo);
    onTestFinished(() => probe.stop());
    let response: Response | undefined;
    const hung = await settlesInTime(call(handler, segments(name)).then((answer) => (response = answer)), DEADLINE_MS, probe);
    expect(hung, 'the request waited in open() for a FIFO writer').toBe(false);
    expect(probe.rescues, 'the event loop froze in open()').toBe(0);
    expect(response?.status).toBe(503);
    expect(await response?.text()).toBe('Service Unavailable\n');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'file_changed' }), expect.any(Request));
  });

  it('keeps answering through a real rename race: no request hangs, the event loop never freezes', async () => {
    const target = path.join(root, `race-${io}.bin`);
    const bytes = Buffer.alloc(1000, 'r');
    const keep = path.join(root, `race-${io}.keep`);
    writeFileSync(keep, bytes);
    linkSync(keep, target);
    const source = filesystem({ root, io });
    onTestFinished(() => source.closeOpenFiles());
    const handler = downloadHandler({ source, onError: () => {} });
    const probe = startLivenessProbe(fifo);
    onTestFinished(() => probe.stop());
    // The name holds the FIFO, then the file, then the FIFO... (hard links, so both inodes stay).
    const swaps = swapFor(
      RACE_MS,
      'fs.linkSync(args[0], args[2]); fs.renameSync(args[2], args[4]); fs.linkSync(args[1], args[3]); fs.renameSync(args[3], args[4]);',
      [fifo, keep, `${target}.a`, `${target}.b`, target],
    );
    const tally = await hammer(handler, [path.basename(target)], swaps, probe);
    expect(await swaps).toBeGreaterThan(100);
    expect(tally.hung, JSON.stringify(tally.statuses)).toBe(0);
    expect(probe.rescues).toBe(0);
    // Generous: a busy 2-core machine; a frozen loop is seconds.
    expect(probe.maxLagMs).toBeLessThan(1000);
    expect(total(tally)).toBeGreaterThan(50);
    expect(Object.keys(tally.statuses).every((status) => ['200', '404', '503'].includes(status)), JSON.stringify(tally.statuses)).toBe(true);
    expect([...tally.bodies.keys()]).toEqual([sha256(bytes)]);
  }, 30_000);
});

describe.each([['blocking' as const], ['threadpool' as const]])('a directory on the path swapped for a symlink leaving the root (issue 14, item 4), io %s', (io) => {
  it('never serves the outside file during a real rename race (directory ↔ symlink)', async () => {
    const dir = path.join(root, `swap-${io}`);
    const outside = path.join(base, `outside-${io}`);
    const files = { 'small.bin': 1000, 'streamed.bin': 300 * 1024 };
    mkdirSync(dir);
    mkdirSync(outside);
    const inside = new Set<string>();
    const outsideHashes = new Set<string>();
    for (const [name, size] of Object.entries(files)) {
      const own = Buffer.alloc(size, 'i');
      const foreign = Buffer.alloc(size, 'o');
      writeFileSync(path.join(dir, name), own);
      writeFileSync(path.join(outside, name), foreign);
      inside.add(sha256(own));
      outsideHashes.add(sha256(foreign));
    }
    symlinkSync(outside, `${dir}.link`);
    // A symlinked key into the swapped directory (resolved with realpath, a second code path).
    symlinkSync(`swap-${io}/small.bin`, path.join(root, `alias-${io}.bin`));
    const source = filesystem({ root, io });
    onTestFinished(() => source.closeOpenFiles());
    const handler = downloadHandler({ source, onError: () => {} });
    const probe = startLivenessProbe(path.join(base, 'no-fifo'));
    onTestFinished(() => probe.stop());
    const swaps = swapFor(
      RACE_MS,
      // dir → away, link → dir (now a symlink leaving the root); then back.
      'fs.renameSync(args[0], args[1]); fs.renameSync(args[2], args[0]); fs.renameSync(args[0], args[2]); fs.renameSync(args[1], args[0]);',
      [dir, `${dir}.away`, `${dir}.link`],
    );
    const tally = await hammer(handler, [`swap-${io}/small.bin`, `swap-${io}/streamed.bin`, `alias-${io}.bin`], swaps, probe);
    expect(await swaps).toBeGreaterThan(100);
    const leaked = [...tally.bodies].filter(([hash]) => outsideHashes.has(hash)).reduce((sum, [, count]) => sum + count, 0);
    expect(leaked, `responses with the outside file's bytes, of ${total(tally)}: ${JSON.stringify(tally.statuses)}`).toBe(0);
    expect([...tally.bodies.keys()].every((hash) => inside.has(hash))).toBe(true);
    expect(tally.hung).toBe(0);
    expect(Object.keys(tally.statuses).every((status) => ['200', '404', '503'].includes(status)), JSON.stringify(tally.statuses)).toBe(true);
    expect(total(tally)).toBeGreaterThan(50);
  }, 30_000);
});
