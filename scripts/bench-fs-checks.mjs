// Microbenchmark, run by hand: the per-request cost of the filesystem source's safety checks
// (issue 14), as synchronous syscalls in a small process. Prints the table and writes it, with the
// date, the commit measured and the machine, to bench/results/fs-checks.md, which
// docs/security.md quotes. Inside a Next server each call costs more; the in-process totals are
// what `npm run bench` measures.
//   node scripts/bench-fs-checks.mjs [iterations]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { closeSync, constants, lstatSync, mkdirSync, mkdtempSync, openSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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
  const row = `| ${label} | ${(ns / 1000).toFixed(2)} µs |`;
  console.log(row);
  rows.push(row);
}

/** @type {string[]} */
const rows = [];
const loadAtStart = os.loadavg().map((value) => value.toFixed(2)).join(', ');

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

const git = (/** @type {string[]} */ ...args) => execFileSync('git', args, { cwd: repositoryRoot, encoding: 'utf8' }).trim();
const dirty = git('status', '--porcelain', '--', 'src', 'scripts').length > 0;
const report = [
  '# Filesystem safety checks: cost per call',
  '',
  'Written by `node scripts/bench-fs-checks.mjs` (synchronous syscalls in a small Node process, mean',
  `of ${iterations.toLocaleString('en')} calls after 10,000 warm-up calls; a file on the machine's tmpdir filesystem).`,
  '',
  `- date: ${new Date().toISOString()}`,
  `- commit: ${git('rev-parse', 'HEAD')}${dirty ? ' (src/ or scripts/ differed from it)' : ''}`,
  `- machine: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} cores, ${os.type()} ${os.release()}, Node ${process.version}, load average at start ${loadAtStart}`,
  '',
  '| call | mean |',
  '|---|---|',
  ...rows,
  '',
].join('\n');
mkdirSync(path.join(repositoryRoot, 'bench/results'), { recursive: true });
writeFileSync(path.join(repositoryRoot, 'bench/results/fs-checks.md'), report);
