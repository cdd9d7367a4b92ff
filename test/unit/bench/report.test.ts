import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderChart } from '../../../bench/chart.js';
import type { Plan } from '../../../bench/plan.js';
import { docsSectionOf, formatNumber, isCurrentRun, renderDocsSection, renderMarkdown, replaceDocsSection } from '../../../bench/render.js';
import { RESULTS_SCHEMA, type BenchResults, type Sample } from '../../../bench/results.js';
import { summarise } from '../../../bench/summary.js';

const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const committed: unknown = JSON.parse(read('bench/results/latest.json'));

// The acceptance check of issue #19: every benchmark figure users read is generated from the
// committed run. A run of `npm run bench` rewrites all of these together; editing one by hand, or
// committing results without the docs they produce (or the reverse), fails here.
describe('the committed benchmark report', () => {
  it('docs/benchmarks.md holds exactly the section generated from bench/results/latest.json', () => {
    expect(docsSectionOf(read('docs/benchmarks.md'))).toBe(renderDocsSection(committed));
  });

  it.runIf(isCurrentRun(committed))('bench/results/latest.md and latest.svg are generated from latest.json', () => {
    const results = committed as BenchResults;
    const summary = summarise(results);
    expect(read('bench/results/latest.md')).toBe(`${renderMarkdown(results, summary)}\n`);
    expect(read('bench/results/latest.svg')).toBe(renderChart(results, summary));
  });
});

/** A sample of `throughput` with no problems. */
const sample = (throughput: number, problems: string[] = []): Sample => ({ throughput, cpuUs: 1e6 / throughput, p50Ms: 1, p99Ms: 2, requests: throughput * 2, bytes: throughput * 2 * 1400, seconds: 2, problems });

const plan: Plan = {
  targets: [
    { id: 'lib', label: 'the library', stack: 'next', small: '/files/1k.bin', files: '/files/', range: true },
    { id: 'lower', label: 'a reference at 1,000 req/s', stack: 'next', small: '/lower/1k.bin', range: false },
    { id: 'higher', label: 'a reference at 1,500 req/s', stack: 'next', small: '/higher/1k.bin', range: false },
  ],
  sessions: [{ id: 's', title: 'one session', judged: true, small: ['lib', 'lower', 'higher'] }],
  comparisons: [
    { id: 'lib', referenceId: 'lower', session: 's', load: 'small', metric: 'throughput', minimum: 0.95, question: 'clears the target' },
    { id: 'lib', referenceId: 'higher', session: 's', load: 'small', metric: 'throughput', minimum: 0.95, question: 'misses it' },
    { id: 'lower', referenceId: 'higher', session: 's', load: 'small', metric: 'cpu', question: 'informational' },
  ],
  memory: { targets: [], comparisons: [] },
};

/** Two rounds of four cycles: lib ~1.2x lower and ~0.8x higher, one rejected sample of `higher`. */
function fixture(): BenchResults {
  const round = (number: number) => ({
    round: number,
    started: '2026-12-02T10:00:00.000Z',
    loadAverage: 0.5,
    checks: { lib: [], lower: [], higher: [] },
    headerChecks: {},
    loads: [
      {
        load: 'small' as const,
        sides: ['lib', 'lower', 'higher'],
        warmup: {},
        cycles: [0, 1, 2, 3].map((cycle) => ({
          lib: sample(1200 + cycle * 10 + number),
          lower: sample(1000 - cycle * 5),
          higher: sample(1500 + cycle * 7, number === 2 && cycle === 3 ? ['1 socket read error'] : []),
        })),
      },
    ],
  });
  return {
    schema: RESULTS_SCHEMA,
    provenance: { commit: '0123456789abcdef0123456789abcdef01234567', dirty: false, changed: [], command: 'npm run bench', env: { BENCH_ROUNDS: '2' }, started: '2026-12-02T10:00:00.000Z', finished: '2026-12-02T10:30:00.000Z' },
    machine: { cpu: 'test CPU', cores: '2', node: 'v20.20.2' },
    settings: { rounds: 2, infoRounds: 1, cycles: 4, sampleSeconds: 2, warmup: 5, threads: 2, smallConnections: 32, largeConnections: 4, memory: false, memoryRounds: 5, memoryClients: 8, huge: false, resamples: 2000, confidence: 0.95 },
    plan,
    sessions: [{ id: 's', rounds: [round(1), round(2)] }],
    memory: [],
  };
}

describe('summarise', () => {
  it('judges per-pair ratios with their interval and rejects pairs with a bad sample', () => {
    const [clears, misses, informational] = summarise(fixture()).comparisons;
    expect(clears!.outcome).toBe('PASS');
    expect(clears!.interval!.low).toBeGreaterThan(1.15);
    expect(clears!.interval!.n).toBe(8);
    expect(misses!.outcome).toBe('MISS');
    expect(misses!.rejected).toBe(1);
    expect(misses!.rejections).toEqual(['higher: 1 socket read error']);
    expect(misses!.interval!.n).toBe(7);
    expect(informational!.outcome).toBe('INFO');
  });

  it('calls a comparison INVALID when a byte or header check failed in a round', () => {
    const results = fixture();
    results.sessions[0]!.rounds[1]!.checks.lower = ['/lower/1k.bin: sha256 differs'];
    results.plan = { ...results.plan, comparisons: results.plan.comparisons.map((comparison) => ({ ...comparison, sameHeaders: 'app' as const })) };
    const [clears] = summarise(results).comparisons;
    expect(clears!.outcome).toBe('INVALID');
    expect(clears!.invalid).toEqual(['round 1: the header check did not run', 'round 2: lower byte check: /lower/1k.bin: sha256 differs', 'round 2: the header check did not run']);
  });

  it("calls a comparison INVALID when a side's Next moved the body it should have offloaded", () => {
    const results = fixture();
    results.sessions[0]!.rounds[0]!.appBytes = { lib: { downloaded: 100, read: 100, written: 100, problems: ['Next moved 200 bytes, more than 1% of the body'] } };
    const [clears] = summarise(results).comparisons;
    expect(clears!.outcome).toBe('INVALID');
    expect(clears!.invalid).toEqual(['round 1: lib app bytes: Next moved 200 bytes, more than 1% of the body']);
  });

  it('decides nothing from one server', () => {
    const results = fixture();
    results.sessions[0]!.rounds.pop();
    const cycles = results.sessions[0]!.rounds[0]!.loads[0]!.cycles;
    cycles.push(...cycles.map((cycle) => ({ ...cycle })));
    const [clears] = summarise(results).comparisons;
    expect(clears!.outcome).toBe('UNDECIDED');
    expect(clears!.note).toMatch(/1 server/);
  });
});

describe('the generated report', () => {
  it('is the same text for the same run, and changes when one sample does', () => {
    const section = renderDocsSection(fixture());
    expect(renderDocsSection(fixture())).toBe(section);
    expect(section).toContain('**PASS**');
    expect(section).toContain('**MISS**');
    expect(section).toContain('`0123456789abcdef0123456789abcdef01234567`');
    const changed = fixture();
    changed.sessions[0]!.rounds[0]!.loads[0]!.cycles[0]!.lib = sample(900);
    expect(renderDocsSection(changed)).not.toBe(section);
    expect(renderMarkdown(fixture())).toBe(renderMarkdown(fixture()));
    expect(renderChart(fixture(), summarise(fixture()))).toContain('PASS');
  });

  it("tabulates the remote sides' Range and If-None-Match answers and Next's own bytes, only when recorded", () => {
    const results = fixture();
    expect(renderMarkdown(results)).not.toContain('Range, 304');
    results.sessions[0]!.rounds[0]!.semantics = { lib: { range: '206, the exact bytes', conditional: '304' }, lower: { range: '200 with the whole body: Range ignored', conditional: 'no ETag: If-None-Match impossible' } };
    results.sessions[0]!.rounds[1]!.appBytes = { lib: { downloaded: 104857600, read: 777, written: 1044, problems: [] } };
    const text = renderMarkdown(results);
    expect(text).toContain('| the library (lib) | 206, the exact bytes | 304 | 1,821 B |');
    expect(text).toContain('| a reference at 1,000 req/s (lower) | 200 with the whole body: Range ignored | no ETag: If-None-Match impossible | – |');
  });

  it('says so, and quotes nothing, for results of the previous harness', () => {
    expect(isCurrentRun({ settings: {}, rounds: [] })).toBe(false);
    expect(renderDocsSection({ rounds: [] })).toMatch(/No run of the current harness is committed yet/);
  });
});

describe('replaceDocsSection', () => {
  it('replaces what is between the markers and nothing else', () => {
    const docs = 'intro\n<!-- bench:begin -->\nold\n<!-- bench:end -->\noutro\n';
    const updated = replaceDocsSection(docs, 'new');
    expect(updated).toBe('intro\n<!-- bench:begin -->\nnew\n<!-- bench:end -->\noutro\n');
    expect(docsSectionOf(updated)).toBe('new');
    expect(() => replaceDocsSection('no markers', 'new')).toThrow(/bench:begin/);
  });
});

describe('formatNumber', () => {
  it('groups thousands without the locale', () => {
    expect(formatNumber(1234567.891, 1)).toBe('1,234,567.9');
    expect(formatNumber(-1234)).toBe('-1,234');
    expect(formatNumber(-0.04, 1)).toBe('0.0');
    expect(formatNumber(undefined)).toBe('–');
  });
});
