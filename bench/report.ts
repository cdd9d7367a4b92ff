/**
 * Where a run comes from and where its report goes: the machine and the commit measured (recorded
 * in latest.json), and writing latest.json, latest.md, latest.svg and the docs section.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.js';
import { run } from './measure.js';
import { renderDocsSection, renderMarkdown, replaceDocsSection } from './render.js';
import type { BenchResults, Provenance } from './results.js';
import { summarise } from './summary.js';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const defaultResultsDir = path.join(repositoryRoot, 'bench/results');
export const docsPath = path.join(repositoryRoot, 'docs/benchmarks.md');

export async function describeMachine(): Promise<Record<string, string>> {
  const firstLine = async (command: string, args: string[]): Promise<string> => {
    try {
      const { stdout, stderr } = await run(command, args);
      return (stdout.trim() || stderr.trim()).split('\n')[0] ?? '';
    } catch {
      return 'not installed';
    }
  };
  const cpus = os.cpus();
  const nextVersion = (JSON.parse(readFileSync(path.join(repositoryRoot, 'node_modules/next/package.json'), 'utf8')) as { version: string }).version;
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: String(cpus.length),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    next: nextVersion,
    nginx: (await firstLine('/usr/sbin/nginx', ['-v'])).replace(/^nginx version: /, ''),
    apache: (await firstLine('/usr/sbin/apache2', ['-v'])).replace(/^Server version: /, ''),
    lighttpd: (await firstLine('/usr/sbin/lighttpd', ['-v'])).replace(/ - a light.*$/, ''),
    caddy: (await firstLine('caddy', ['version'])).split(' ')[0] ?? '',
    wrk: (await firstLine('wrk', ['-v'])).replace(/ Copyright.*$/, ''),
    curl: (await firstLine('curl', ['--version'])).split(' ').slice(0, 2).join(' '),
    'load average at start': os.loadavg().map((value) => value.toFixed(2)).join(', '),
  };
}

/** What the run itself writes: never a reason to call the measured tree dirty. */
const outputs = ['bench/results/', 'docs/benchmarks.md', 'bench/.tmp/', 'bench/app/public/'];

/** The commit checked out and the files that differ from it (tracked changes and untracked files). */
export function provenance(command: string): Provenance {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repositoryRoot, encoding: 'utf8' });
  let commit = 'unknown (not a git checkout)';
  let changed: string[] = [];
  try {
    commit = git('rev-parse', 'HEAD').trim();
    changed = git('status', '--porcelain=v1', '--untracked-files=all')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3))
      .filter((file) => !outputs.some((output) => file.startsWith(output)));
  } catch {
    // not a checkout: recorded as unknown, and dirty, below
  }
  const env = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith('BENCH_') && entry[1] !== undefined).sort());
  return { commit, dirty: changed.length > 0 || commit.startsWith('unknown'), changed, command, env, started: new Date().toISOString() };
}

/**
 * Write latest.json, latest.md and latest.svg to `dir`, and the generated section of
 * docs/benchmarks.md when `docs` is given (only runs into bench/results update the docs).
 */
export function writeReport(results: BenchResults, dir: string, docs?: string): { markdown: string; svg: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const summary = summarise(results);
  const files = { json: path.join(dir, 'latest.json'), markdown: path.join(dir, 'latest.md'), svg: path.join(dir, 'latest.svg') };
  writeFileSync(files.json, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(files.markdown, `${renderMarkdown(results, summary)}\n`);
  writeFileSync(files.svg, renderChart(results, summary));
  if (docs) writeFileSync(docs, replaceDocsSection(readFileSync(docs, 'utf8'), renderDocsSection(results)));
  return files;
}
