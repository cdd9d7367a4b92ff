// Microbenchmark, run by hand: the per-request cost of the filesystem source's safety checks
// (issue 14), as synchronous syscalls in a small process (inside a Next server each costs more:
// ~7 µs per syscall measured there, see README Benchmarks).
//   node scripts/bench-fs-checks.mjs [iterations]
import { closeSync, constants, lstatSync, mkdirSync, mkdtempSync, openSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const iterations = Number(process.argv[2] ?? 200_000);
const base = mkdtempSync(path.join(tmpdir(), 'dv-bench-checks-'));
const release = path.join(base, 'releases', 'r1', 'media');
mkdirSync(release, { recursive: true });
writeFileSync(path.join(release, 'a.txt'), 'x'.repeat(1024));
symlinkSync(path.join(base, 'releases', 'r1'), path.join(base, 'current'));
const root = path.join(base, 'current', 'media');
const file = path.join(root, 'a.txt');
const fd = openSync(file, constants.O_RDONLY);

/**
 * @param {string} label
 * @param {() => unknown} run
 */
function time(label, run) {
  for (let i = 0; i < 10_000; i += 1) run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) run();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${label.padEnd(58)} ${(ns / 1000).toFixed(2)} µs`);
}

time('lstat of the file (the walk, for comparison)', () => lstatSync(file));
time('realpath of the root per request (not chosen)', () => realpathSync.native(root));
time('lstat of the root per request (not chosen)', () => lstatSync(root));
time('readlink /proc/self/fd/N (after each fresh open)', () => readlinkSync(`/proc/self/fd/${fd}`));
time('open O_NONBLOCK + fstat + close (a fresh open, for comparison)', () => {
  const opened = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  fstatSync(opened);
  closeSync(opened);
});
time('open without O_NONBLOCK + fstat + close', () => {
  const opened = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  fstatSync(opened);
  closeSync(opened);
});
closeSync(fd);
rmSync(base, { recursive: true, force: true });
