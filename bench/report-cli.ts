/**
 * Regenerate a report from a stored run without measuring anything: after a change to the report's
 * code, `node --import ./bench/ts-loader.mjs bench/report-cli.ts [results dir]` rewrites latest.md,
 * latest.svg and (for bench/results) the section of docs/benchmarks.md from latest.json, so they
 * agree again with the committed run (test/unit/bench/report.test.ts checks that they do).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isCurrentRun, renderDocsSection, replaceDocsSection } from './render.js';
import { defaultResultsDir, docsPath, repositoryRoot, writeReport } from './report.js';

const dir = path.resolve(repositoryRoot, process.argv[2] ?? defaultResultsDir);
const results: unknown = JSON.parse(readFileSync(path.join(dir, 'latest.json'), 'utf8'));
const docs = dir === defaultResultsDir ? docsPath : undefined;
if (isCurrentRun(results)) {
  writeReport(results, dir, docs);
  console.log(`rewrote ${path.relative(repositoryRoot, dir)}/latest.{json,md,svg}${docs ? ' and the section of docs/benchmarks.md' : ''}`);
} else if (docs) {
  // A run of an older harness: only the docs section, which then says so.
  writeFileSync(docs, replaceDocsSection(readFileSync(docs, 'utf8'), renderDocsSection(results)));
  console.log('latest.json predates this harness: only the section of docs/benchmarks.md was rewritten');
} else {
  throw new Error(`${dir}/latest.json predates this harness (another schema); nothing to render`);
}
