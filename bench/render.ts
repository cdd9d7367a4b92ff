/**
 * The report's text: bench/results/latest.md and the generated section of docs/benchmarks.md, both
 * pure functions of latest.json (through summary.ts). Numbers are formatted here without the
 * locale, so the text is the same on every machine; test/unit/bench checks the committed files.
 */
import type { Load } from './plan.js';
import { RESULTS_SCHEMA, type BenchResults } from './results.js';
import type { ComparisonSummary, MemoryComparisonSummary, MemoryNumbers, Summary, TargetNumbers } from './summary.js';
import { summarise } from './summary.js';

export const DOCS_BEGIN = '<!-- bench:begin -->';
export const DOCS_END = '<!-- bench:end -->';

const MiB = 1024 * 1024;

/** `1234.5` → `1,235` (or with `digits` decimals); `–` for no value. */
export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  const [whole, fraction] = Math.abs(value).toFixed(digits).split('.') as [string, string | undefined];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${value < 0 && Number(value.toFixed(digits)) !== 0 ? '-' : ''}${grouped}${fraction ? `.${fraction}` : ''}`;
}

const times = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}×`);
const interval = (summary: { interval?: { low: number; high: number } }, digits = 2): string =>
  summary.interval ? `${summary.interval.low.toFixed(digits)}–${summary.interval.high.toFixed(digits)}` : '–';
const loadName = (load: Load): string => (load === 'small' ? '1 KiB' : '100 MiB');
const metricName = (comparison: ComparisonSummary): string =>
  comparison.spec.metric === 'cpu' ? 'requests per server CPU-second' : comparison.spec.load === 'small' ? 'req/s' : 'MB/s';
const escapeCell = (text: string): string => text.replaceAll('|', '\\|');

/** Whether `results` is a run of this harness (older runs carry no schema and no commit). */
export function isCurrentRun(results: unknown): results is BenchResults {
  return typeof results === 'object' && results !== null && (results as { schema?: unknown }).schema === RESULTS_SCHEMA;
}

function provenanceLines(results: BenchResults): string[] {
  const { provenance: p, machine: m, settings: s } = results;
  const tree = p.dirty ? `**working tree differed from it** (${p.changed.map((file) => `\`${file}\``).join(', ')})` : 'clean working tree';
  const env = Object.entries(p.env).map(([name, value]) => `${name}=${value}`).join(' ');
  return [
    `Measured commit \`${p.commit}\` (${tree}), ${p.started.slice(0, 10)} (${p.started.slice(11, 16)}–${(p.finished ?? p.started).slice(11, 16)} UTC), with \`${env ? `${env} ` : ''}${p.command}\`.`,
    '',
    '| machine | |',
    '|---|---|',
    ...Object.entries(m).map(([key, value]) => `| ${key} | ${escapeCell(value)} |`),
    '',
    `Each judged session ran on ${s.rounds} fresh server stack(s) (informational ones on ${s.infoRounds}), ${s.cycles} cycles each: every side loaded for ${s.sampleSeconds} s per cycle in turn (wrk \`-t${s.threads}\`, \`-c${s.smallConnections}\` on 1 KiB, \`-c${s.largeConnections}\` on 100 MiB), after byte checks and ${s.warmup} s of warm-up per side. Ratios are medians of per-cycle ratios with ${Math.round(s.confidence * 100)}% bootstrap intervals (${formatNumber(s.resamples)} resamples, servers then cycles); a sample with any error, any response other than a 200 with the exact bytes, or a request left incomplete is rejected, with its pair.`,
  ];
}

function verdictTable(comparisons: ComparisonSummary[]): string[] {
  return [
    '| target | measured | median | 95% interval | need | pairs (servers) | rejected | verdict |',
    '|---|---|--:|--:|--:|--:|--:|---|',
    ...comparisons.map(
      (c) =>
        `| ${escapeCell(c.spec.question)} | ${escapeCell(c.target)} vs ${escapeCell(c.reference)}, ${loadName(c.spec.load)} ${metricName(c)} | ${times(c.interval?.estimate)} | ${interval(c)} | ≥ ${times(c.spec.minimum)} | ${c.interval ? `${c.interval.n} (${c.interval.clusters})` : '0'} | ${c.rejected} | **${c.outcome}**${c.note ? ` (${escapeCell(c.note)})` : ''} |`,
    ),
  ];
}

function infoTable(comparisons: ComparisonSummary[]): string[] {
  return [
    '| question | target vs reference | measured | median | 95% interval | range | pairs (servers) | rejected |',
    '|---|---|---|--:|--:|--:|--:|--:|',
    ...comparisons.map((c) => {
      const all = c.ratios.flat();
      const range = all.length ? `${Math.min(...all).toFixed(2)}–${Math.max(...all).toFixed(2)}` : '–';
      const median = c.outcome === 'INVALID' || c.outcome === 'NOT RUN' ? `${c.outcome}${c.note ? `: ${escapeCell(c.note)}` : ''}` : times(c.interval?.estimate);
      return `| ${escapeCell(c.spec.question)} | ${escapeCell(c.target)} vs ${escapeCell(c.reference)} | ${loadName(c.spec.load)} ${metricName(c)} | ${median} | ${interval(c)} | ${range} | ${c.interval ? `${c.interval.n} (${c.interval.clusters})` : '0'} | ${c.rejected} |`;
    }),
  ];
}

function memoryTables(summary: Summary, results: BenchResults): string[] {
  const lines: string[] = [];
  const clients = results.settings.memoryClients;
  const name = (key: 'large' | 'huge'): string => (key === 'large' ? '100 MiB' : '1 GiB');
  if (summary.memoryComparisons.length > 0) {
    const growthOf = (id: string, key: 'large' | 'huge'): MemoryNumbers | undefined => summary.memory.find((entry) => entry.id === id && entry.key === key && !entry.warm);
    lines.push(
      '| target | files | growth (median) | reference growth (median) | difference (median) | 95% interval | limit | rounds | verdict |',
      '|---|---|--:|--:|--:|--:|--:|--:|---|',
      ...summary.memoryComparisons.map((c: MemoryComparisonSummary) => {
        const mine = growthOf(c.id, c.key);
        const theirs = growthOf(c.referenceId, c.key);
        return `| ${escapeCell(c.question)}: ${c.id} vs ${c.referenceId} | ${clients} × ${name(c.key)} | ${mib(mine?.growth)} | ${mib(theirs?.growth)} | ${c.interval ? `${signed(c.interval.estimate)} MiB` : '–'} | ${interval(c, 1)} | ≤ +${c.slackMiB} MiB | ${c.differences.length} | **${c.outcome}**${c.note ? ` (${escapeCell(c.note)})` : ''} |`;
      }),
      '',
    );
  }
  if (summary.memory.length > 0) {
    lines.push(
      `VmRSS of the serving process (Next, or the Node process for \`send\`) sampled every 50 ms during ${clients} concurrent downloads, in MiB, medians over rounds. *Fresh*: a new server after 20 requests for the 1 KiB file on the same route; *warm*: the same after one full 100 MiB download first.`,
      '',
      '| target | files | server | before | peak | growth | rounds |',
      '|---|---|---|--:|--:|--:|--:|',
      ...summary.memory.map(
        (entry) =>
          `| ${entry.id} | ${clients} × ${name(entry.key)} | ${entry.warm ? 'warm' : 'fresh'} | ${mib(entry.before, false)} | ${mib(entry.peak, false)} | ${entry.skipped ? `skipped: ${escapeCell(entry.skipped)}` : mib(entry.growth)}${entry.failed.length ? ` (failed: ${escapeCell(entry.failed.join('; '))})` : ''} | ${entry.runs} |`,
      ),
      '',
    );
  }
  return lines;
}

const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
const mib = (bytes: number | undefined, withSign = true): string => (bytes === undefined ? '–' : withSign ? signed(bytes / MiB) : formatNumber(bytes / MiB));

function absoluteTable(summary: Summary): string[] {
  const cell = (numbers: TargetNumbers, digits: number, pick: (numbers: TargetNumbers) => number | undefined): string => formatNumber(pick(numbers), digits);
  const rows = summary.targets.filter((target) => target.small.samples + target.large.samples + target.small.rejected + target.large.rejected > 0);
  return [
    'Medians over every valid sample of the target in any session (the sessions above), so they mix servers and minutes; read ratios from the tables above, these only for scale.',
    '',
    '| target | 1 KiB req/s | server CPU µs/req | p50 ms | p99 ms | samples | 100 MiB MB/s | samples |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    ...rows.map((target) => {
      const rejected = (numbers: TargetNumbers): string => `${numbers.samples}${numbers.rejected ? ` (+${numbers.rejected} rejected)` : ''}`;
      return `| ${escapeCell(target.spec.label)}${target.problems.length ? ' ⚠' : ''} | ${cell(target.small, 0, (n) => n.throughput)} | ${cell(target.small, 0, (n) => n.cpuUs)} | ${cell(target.small, 2, (n) => n.p50Ms)} | ${cell(target.small, 2, (n) => n.p99Ms)} | ${rejected(target.small)} | ${cell(target.large, 0, (n) => n.throughput)} | ${rejected(target.large)} |`;
    }),
  ];
}

/**
 * The remote targets' recorded behaviour (issue #16), per target over all rounds: what Range and
 * If-None-Match got (reported, not judged: the naive reference has neither), and the bytes Next
 * read and wrote itself during one 100 MiB download. Empty for a run without such targets.
 */
function remoteTable(results: BenchResults): string[] {
  const rounds = results.sessions.flatMap((session) => session.rounds);
  const ids = [...new Set(rounds.flatMap((round) => [...Object.keys(round.semantics ?? {}), ...Object.keys(round.appBytes ?? {})]))];
  if (ids.length === 0) return [];
  const distinct = (values: (string | undefined)[]): string => escapeCell([...new Set(values.filter((value): value is string => value !== undefined))].join(' / ') || '–');
  const label = (id: string): string => results.plan.targets.find((target) => target.id === id)?.label ?? id;
  return [
    'Before timing, each remote side was asked for bytes 100–611 of the 1 KiB file and, with its ETag, for a 304 (recorded, not judged). *Next moved*: the rchar + wchar of the Next process tree (/proc/<pid>/io, sockets included) during one 100 MiB download through the side, per round; offloaded, it must stay below 1% of the body.',
    '',
    '| target | Range | If-None-Match | Next moved during 100 MiB |',
    '|---|---|---|--:|',
    ...ids.map((id) => {
      const moved = rounds.flatMap((round) => {
        const entry = round.appBytes?.[id];
        const moved = entry ? entry.read + entry.written : 0;
        // Offloaded it is a few KB of headers: bytes, not "0.00 MB".
        const amount = moved < 1e6 ? `${formatNumber(moved)} B` : `${formatNumber(moved / 1e6, 2)} MB`;
        return entry ? [`${amount}${entry.problems.length ? ` (${entry.problems.join('; ')})` : ''}`] : [];
      });
      return `| ${escapeCell(label(id))} (${id}) | ${distinct(rounds.map((round) => round.semantics?.[id]?.range))} | ${distinct(rounds.map((round) => round.semantics?.[id]?.conditional))} | ${escapeCell(moved.join(', ') || '–')} |`;
    }),
    '',
  ];
}

/** The body shared by latest.md and the docs section. */
function resultSections(results: BenchResults, summary: Summary, headingLevel: string, chartPath: string): string[] {
  const judged = summary.comparisons.filter((c) => c.spec.minimum !== undefined);
  const informational = summary.comparisons.filter((c) => c.spec.minimum === undefined);
  return [
    ...provenanceLines(results),
    '',
    `${headingLevel} Targets`,
    '',
    'PASS when the whole 95% interval is at or above the target (memory: at or below the limit), MISS when all of it is on the other side, UNDECIDED otherwise or with too little data (at least 6 valid pairs from 2 servers; for memory, 5 rounds).',
    '',
    ...verdictTable(judged),
    '',
    ...(summary.memoryComparisons.length > 0 || summary.memory.length > 0 ? [`${headingLevel} Memory`, '', ...memoryTables(summary, results)] : []),
    ...(remoteTable(results).length > 0 ? [`${headingLevel} Remote sources: Range, 304 and Next's own bytes`, '', ...remoteTable(results)] : []),
    `${headingLevel} Other comparisons (informational)`,
    '',
    ...infoTable(informational),
    '',
    `${headingLevel} Absolute numbers`,
    '',
    ...absoluteTable(summary),
    '',
    `![Judged ratios with their intervals and the range of the per-pair ratios](${chartPath})`,
  ];
}

/** Problems worth reading in full: failed checks and rejected samples, per session round. */
function detailSections(results: BenchResults, summary: Summary): string[] {
  const lines: string[] = ['## Rounds', ''];
  for (const session of results.sessions) {
    const spec = results.plan.sessions.find((entry) => entry.id === session.id);
    lines.push(`### ${session.id}: ${spec?.title ?? ''}`, '');
    for (const round of session.rounds) {
      const notes: string[] = [];
      if (round.error) notes.push(`not measured: ${round.error}`);
      for (const [id, problems] of Object.entries(round.checks)) if (problems.length) notes.push(`${id} byte check failed: ${problems.join('; ')}`);
      for (const [pair, differences] of Object.entries(round.headerChecks)) notes.push(differences.length ? `${pair} headers differ: ${differences.join('; ')}` : `${pair}: same headers`);
      for (const [id, entry] of Object.entries(round.appBytes ?? {})) if (entry.problems.length) notes.push(`${id} app bytes: ${entry.problems.join('; ')}`);
      for (const run of round.loads) {
        const rejected = run.cycles.flatMap((cycle) => Object.entries(cycle).filter(([, sample]) => sample.problems.length > 0).map(([id, sample]) => `${id}: ${sample.problems.join(', ')}`));
        notes.push(`${loadName(run.load)}: ${run.cycles.length} cycles over ${run.sides.join(', ')}${rejected.length ? `; rejected samples: ${rejected.join('; ')}` : ''}`);
      }
      lines.push(`- round ${round.round} (${round.started.slice(11, 19)} UTC, load average ${round.loadAverage.toFixed(2)}): ${escapeCell(notes.join('. '))}`);
    }
    lines.push('');
  }
  const rejections = summary.comparisons.filter((c) => c.rejections.length > 0 || c.invalid.length > 0);
  if (rejections.length > 0) {
    lines.push('## Rejected and invalid pairs', '');
    for (const c of rejections) lines.push(`- ${c.spec.id} vs ${c.spec.referenceId} (${loadName(c.spec.load)}, ${c.spec.metric}): ${escapeCell([...c.invalid, ...c.rejections].join('; '))}`);
    lines.push('');
  }
  return lines;
}

export function renderMarkdown(results: BenchResults, summary: Summary = summarise(results)): string {
  return [
    '# next-downloadview benchmark',
    '',
    'Generated by bench/render.ts from latest.json; do not edit by hand. Method and targets: [docs/benchmarks.md](../../docs/benchmarks.md).',
    '',
    ...resultSections(results, summary, '##', 'latest.svg'),
    '',
    ...detailSections(results, summary),
  ].join('\n');
}

/** The text between the docs markers, for a run of this harness or for an older file. */
export function renderDocsSection(results: unknown): string {
  if (!isCurrentRun(results)) {
    return [
      '<!-- Generated from bench/results/latest.json by bench/render.ts; do not edit by hand. -->',
      '',
      'No run of the current harness is committed yet: `bench/results/latest.json` predates it (it records no commit, and its',
      'references are not like-for-like). Its figures are not quoted here. The next full `npm run bench` on a quiet',
      'machine writes this section.',
    ].join('\n');
  }
  const summary = summarise(results);
  return ['<!-- Generated from bench/results/latest.json by bench/render.ts; do not edit by hand. -->', '', ...resultSections(results, summary, '###', '../bench/results/latest.svg')].join('\n');
}

/** `docs` with the text between its markers replaced by `section`; throws when the markers are missing. */
export function replaceDocsSection(docs: string, section: string): string {
  const begin = docs.indexOf(DOCS_BEGIN);
  const end = docs.indexOf(DOCS_END);
  if (begin < 0 || end < begin) throw new Error(`docs/benchmarks.md needs the markers ${DOCS_BEGIN} and ${DOCS_END}, in that order`);
  return `${docs.slice(0, begin + DOCS_BEGIN.length)}\n${section}\n${docs.slice(end)}`;
}

/** The text between the markers, as replaceDocsSection writes it. */
export function docsSectionOf(docs: string): string | undefined {
  const begin = docs.indexOf(DOCS_BEGIN);
  const end = docs.indexOf(DOCS_END);
  if (begin < 0 || end < begin) return undefined;
  return docs.slice(begin + DOCS_BEGIN.length + 1, end - 1);
}
