/** The machine description, the summary (medians, ratios, PASS/MISS), latest.md and latest.svg. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROXY_KINDS } from '../test/helpers/proxies.js';
import { median, run, type WrkResult } from './measure.js';
import type { PairLoad } from './targets.js';

export interface MemoryResult {
  before?: number;
  peak?: number;
  seconds?: number;
  ok?: boolean;
  skipped?: string;
}

export interface TargetRound {
  /** Byte-check problems; empty when the target sent exact bytes. */
  check: string[];
  error?: string;
  small?: WrkResult;
  /** Server-side CPU (Next and any proxy in front) per request of the 1 KiB run, in µs. */
  smallCpuUs?: number;
  large?: WrkResult;
  rssAfter?: number;
  memory?: Partial<Record<'large' | 'huge', MemoryResult>>;
  /** The same after one full 100 MiB download (see measureMemory in run.ts). */
  memoryWarm?: Partial<Record<'large' | 'huge', MemoryResult>>;
}

/** Interleaved runs of a target and its reference on one file (see measurePair in run.ts). */
export interface PairResult {
  id: string;
  referenceId: string;
  load: PairLoad;
  /** Per run: the target's req/s (small) or MB/s (large) divided by the reference's. */
  throughput: number[];
  /** Per 1 KiB run: the reference's server CPU per request divided by the target's (higher is better). */
  cpu: number[];
  error?: string;
}

export interface BenchResults {
  settings: Record<string, number | boolean>;
  machine: Record<string, string>;
  started: string;
  finished?: string;
  targets: { id: string; label: string }[];
  rounds: { loadAverage: number; targets: Record<string, TargetRound> }[];
  pairs?: PairResult[];
}

const MiB = 1024 * 1024;

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
  const nextVersion = (JSON.parse(readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../node_modules/next/package.json'), 'utf8')) as { version: string }).version;
  return {
    cpu: `${cpus[0]?.model ?? 'unknown'} (${cpus.length} cores)`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    next: nextVersion,
    nginx: (await firstLine('/usr/sbin/nginx', ['-v'])).replace(/^nginx version: /, ''),
    apache: (await firstLine('/usr/sbin/apache2', ['-v'])).replace(/^Server version: /, ''),
    lighttpd: (await firstLine('/usr/sbin/lighttpd', ['-v'])).replace(/ - a light.*$/, ''),
    caddy: (await firstLine('caddy', ['version'])).split(' ')[0] ?? '',
    wrk: (await firstLine('wrk', ['-v'])).replace(/ Copyright.*$/, ''),
    date: new Date().toISOString().slice(0, 10),
  };
}

interface Summary {
  id: string;
  label: string;
  rps?: number;
  rpsVsNginx?: number;
  rpsVsBare?: number;
  cpuUs?: number;
  cpuVsBare?: number;
  p50?: number;
  p99?: number;
  mbps?: number;
  mbpsVsNginx?: number;
  errors: number;
  /** `errors` by wrk's kinds, e.g. "1 read, 2 status". */
  errorKinds: string;
  problems: string[];
  memory: MemorySummary;
  memoryWarm: MemorySummary;
}

type MemorySummary = Partial<Record<'large' | 'huge', { before: number; peak: number; growth: number; seconds: number; ok: boolean } | { skipped: string }>>;

function summariseMemory(rounds: readonly TargetRound[], pick: (round: TargetRound) => TargetRound['memory']): MemorySummary {
  const memory: MemorySummary = {};
  for (const key of ['large', 'huge'] as const) {
    const measured = rounds.map((round) => pick(round)?.[key]).filter((entry): entry is MemoryResult => entry !== undefined);
    const complete = measured.filter((entry) => entry.before !== undefined && entry.peak !== undefined);
    if (complete.length > 0) {
      memory[key] = {
        before: median(complete.map((entry) => entry.before!)),
        peak: median(complete.map((entry) => entry.peak!)),
        growth: median(complete.map((entry) => entry.peak! - entry.before!)),
        seconds: median(complete.map((entry) => entry.seconds ?? Number.NaN)),
        ok: complete.every((entry) => entry.ok),
      };
    } else if (measured[0]?.skipped) {
      memory[key] = { skipped: measured[0].skipped };
    }
  }
  return memory;
}

/** Median over rounds of this target's value divided by the reference's value in the same round. */
function ratio(results: BenchResults, id: string, referenceId: string, pick: (round: TargetRound) => number | undefined): number | undefined {
  const values = results.rounds.map((round) => {
    const value = round.targets[id] && pick(round.targets[id]);
    const reference = round.targets[referenceId] && pick(round.targets[referenceId]);
    return value !== undefined && reference ? value / reference : Number.NaN;
  });
  const result = median(values);
  return Number.isNaN(result) ? undefined : result;
}

function medianOf(results: BenchResults, id: string, pick: (round: TargetRound) => number | undefined): number | undefined {
  const result = median(results.rounds.map((round) => (round.targets[id] && pick(round.targets[id])) ?? Number.NaN));
  return Number.isNaN(result) ? undefined : result;
}

const rps = (round: TargetRound): number | undefined => round.small?.requestsPerSecond;
const mbps = (round: TargetRound): number | undefined => round.large?.megabytesPerSecond;
/** Requests per server CPU-second: higher is better, so its ratios read like the req/s ones. */
const cpuEfficiency = (round: TargetRound): number | undefined => (round.smallCpuUs ? 1e6 / round.smallCpuUs : undefined);

function summarise(results: BenchResults): Summary[] {
  return results.targets.map(({ id, label }) => {
    const rounds = results.rounds.map((round) => round.targets[id]).filter((round): round is TargetRound => round !== undefined);
    return {
      id,
      label,
      rps: medianOf(results, id, rps),
      rpsVsNginx: ratio(results, id, 'nginx-static', rps),
      rpsVsBare: ratio(results, id, 'next-bare', rps),
      cpuUs: medianOf(results, id, (round) => round.smallCpuUs),
      cpuVsBare: ratio(results, id, 'next-bare', cpuEfficiency),
      p50: medianOf(results, id, (round) => round.small?.p50Ms),
      p99: medianOf(results, id, (round) => round.small?.p99Ms),
      mbps: medianOf(results, id, mbps),
      mbpsVsNginx: ratio(results, id, 'nginx-static', mbps),
      errors: rounds.reduce((sum, round) => sum + (round.small?.errors ?? 0) + (round.large?.errors ?? 0), 0),
      errorKinds: errorKindsOf(rounds.flatMap((round) => [round.small, round.large])),
      problems: [...new Set(rounds.flatMap((round) => [...round.check, ...(round.error ? [round.error] : [])]))],
      memory: summariseMemory(rounds, (round) => round.memory),
      memoryWarm: summariseMemory(rounds, (round) => round.memoryWarm),
    };
  });
}

/** The issue's targets, as PASS/MISS lines (MISS also when a number is missing). */
function checks(results: BenchResults, summaries: Summary[]): string[] {
  const lines: string[] = [];
  const has = (id: string): boolean => summaries.some((summary) => summary.id === id);
  const line = (ok: boolean | undefined, text: string, value: string): void => {
    lines.push(`${ok === undefined ? 'MISS' : ok ? 'PASS' : 'MISS'}  ${text}: ${value}`);
  };
  const compare = (id: string, referenceId: string, pick: (round: TargetRound) => number | undefined, minimum: number, text: string): void => {
    if (!has(id) || !has(referenceId)) return;
    // Comparisons measured side by side win over ratios of runs made minutes apart.
    const pairValues = pairedValues(results, id, referenceId, pick);
    const value = pairValues ? median(pairValues) : ratio(results, id, referenceId, pick);
    const how = pairValues ? `, paired median of ${pairValues.length}` : '';
    if (value === undefined || Number.isNaN(value)) line(undefined, text, 'no data');
    else line(value >= minimum, text, `${value.toFixed(2)}x (need >= ${minimum.toFixed(2)}x${how})`);
  };
  for (const proxy of PROXY_KINDS) {
    compare(`lib-${proxy}`, 'nginx-static', mbps, 0.95, `offloaded (${proxy}) 100 MiB MB/s vs nginx static`);
  }
  // The issue's wording: every library target against the bare handler on a fixed route, direct.
  for (const id of ['lib-direct', 'lib-virtual', ...PROXY_KINDS.map((proxy) => `lib-${proxy}`)]) {
    compare(id, 'next-bare', rps, 0.95, `${id} 1 KiB req/s vs bare Next handler`);
  }
  // The library's own overhead on equal terms: the bare handler on the library's route shape
  // (`[...path]`, whose routing Next charges any handler), behind the same proxy for offloads (whose
  // hop and file serving are the proxy's cost, not the library's).
  compare('lib-direct', 'next-bare-param', rps, 0.95, 'lib-direct 1 KiB req/s vs bare Next handler on [...path] (library overhead)');
  for (const proxy of PROXY_KINDS) {
    compare(`lib-${proxy}`, `next-bare-${proxy}`, rps, 0.95, `lib-${proxy} 1 KiB req/s vs bare Next handler on [...path] behind the same ${proxy} (library overhead)`);
  }
  compare('lib-direct-threadpool', 'next-bare-param', rps, 0.95, "lib-direct-threadpool 1 KiB req/s vs bare Next handler on [...path] (informational: io 'threadpool' is not the default on local disks)");
  compare('lib-direct', 'next-bare-headers', rps, 0.95, "lib-direct 1 KiB req/s vs bare Next handler on [...path] with the library's headers (informational)");
  // How far any handler that reads the file per request gets, and the library against that floor.
  compare('next-minimal-fs', 'next-bare-param', rps, 0.95, 'next-minimal-fs 1 KiB req/s vs bare Next handler on [...path] (informational: the floor for reading a file at all)');
  compare('lib-direct', 'next-minimal-fs', rps, 0.95, 'lib-direct 1 KiB req/s vs the minimal inline file handler (informational: the library\'s own work)');
  // The same in server CPU per request (requests per CPU-second), which shared machines disturb far
  // less than req/s.
  for (const id of ['lib-direct', 'lib-virtual']) compare(id, 'next-bare', cpuEfficiency, 0.95, `${id} 1 KiB server CPU/request vs bare Next handler (informational)`);
  compare('lib-direct', 'next-bare-param', cpuEfficiency, 0.95, 'lib-direct 1 KiB server CPU/request vs bare Next handler on [...path] (informational)');
  for (const proxy of PROXY_KINDS) {
    compare(`lib-${proxy}`, `next-bare-${proxy}`, cpuEfficiency, 0.95, `lib-${proxy} 1 KiB server CPU/request (Next + ${proxy}) vs bare Next handler behind the same ${proxy} (informational)`);
  }
  compare('lib-direct', 'next-public', mbps, 1.0, 'lib-direct 100 MiB MB/s vs Next public/');
  compare('lib-direct', 'next-toweb', mbps, 1.5, 'lib-direct 100 MiB MB/s vs toWeb(createReadStream) handler');
  compare('lib-direct-malloc', 'lib-direct', mbps, 1.0, 'lib-direct with glibc trim/mmap thresholds 128 MiB/1 MiB, 100 MiB MB/s vs the glibc defaults (informational: a deployment knob)');
  const growthOf = (id: string, memory: 'memory' | 'memoryWarm', key: 'large' | 'huge') => summaries.find((summary) => summary.id === id)?.[memory]?.[key];
  const clients = results.settings.memoryClients;
  for (const [memory, how] of [['memory', 'fresh server'], ['memoryWarm', 'after one 100 MiB download (informational)']] as const) {
    for (const [key, name] of [['large', '100 MiB'], ['huge', '1 GiB']] as const) {
      const entry = growthOf('lib-direct', memory, key);
      if (!entry) continue;
      const text = `lib-direct RSS growth, ${clients} x ${name}, ${how}`;
      if ('skipped' in entry) line(undefined, text, `not measured (${entry.skipped})`);
      else line(entry.growth <= 32 * MiB && entry.ok, text, `${(entry.growth / MiB).toFixed(1)} MiB (need <= 32 MiB)${entry.ok ? '' : ', downloads failed'}`);
    }
  }
  // Node's own floor: a plain http server with `send` (fs streams, no Next, no web streams). V8 lets
  // 2 x 16 MiB of young-generation ArrayBuffer memory pile up before a scavenge frees it, so any
  // Node server that streams fresh buffers grows by about that much once.
  // The trim-threshold knob keeps freed heap instead of returning it: its RSS cost shows here.
  for (const [id, what] of [['node-send', "Node's own floor"], ['lib-direct-malloc', 'glibc trim/mmap thresholds 128 MiB/1 MiB']] as const) {
    for (const [key, name] of [['large', '100 MiB'], ['huge', '1 GiB']] as const) {
      const entry = growthOf(id, 'memory', key);
      if (entry && !('skipped' in entry)) lines.push(`INFO  ${id} RSS growth, ${clients} x ${name}, fresh server (${what}): ${(entry.growth / MiB).toFixed(1)} MiB`);
    }
  }
  return lines;
}

/** The side-by-side ratios for this comparison, if that pair ran: req/s or CPU on 1 KiB, MB/s on 100 MiB. */
function pairedValues(results: BenchResults, id: string, referenceId: string, pick: (round: TargetRound) => number | undefined): number[] | undefined {
  const load = pick === mbps ? 'large' : 'small';
  const pair = results.pairs?.find((candidate) => candidate.id === id && candidate.referenceId === referenceId && candidate.load === load);
  if (!pair || pair.error) return undefined;
  const values = pick === cpuEfficiency ? pair.cpu : pair.throughput;
  return values.length > 0 ? values : undefined;
}

const format = (value: number | undefined, digits = 0): string => (value === undefined ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const times = (value: number | undefined): string => (value === undefined ? '–' : `${value.toFixed(2)}×`);

export function writeReport(results: BenchResults, dir: string): { markdown: string; svg: string; checks: string[] } {
  mkdirSync(dir, { recursive: true });
  const summaries = summarise(results);
  const checkLines = checks(results, summaries);
  const s = results.settings;
  const m = results.machine;
  const md: string[] = [
    '# next-downloadview benchmark',
    '',
    `Run of \`npm run bench\` on ${m.date}: ${results.rounds.length} round(s), target order alternating, every target a fresh server process on 127.0.0.1;`,
    `numbers are medians over rounds, ratios are medians of per-round ratios. Generated by bench/run.ts; do not edit by hand.`,
    '',
    '| machine | |',
    '|---|---|',
    ...Object.entries(m).map(([key, value]) => `| ${key} | ${value} |`),
    `| load average at round start | ${results.rounds.map((round) => round.loadAverage.toFixed(2)).join(', ')} |`,
    '',
    `Load: wrk \`-t${s.threads} -c${s.smallConnections} -d${s.duration}s --latency\` on a 1 KiB file (after ${s.warmup} s of warm-up) and \`-c${s.largeConnections} -d${s.duration}s\` on a 100 MiB file; every target's bytes (1 KiB, 100 MiB, one Range) were checked by sha256 before timing. *Server CPU* is user+system time of the serving processes (Next, and the proxy in front) during the 1 KiB run divided by its requests: steadier than req/s when other tenants share the machine.`,
    '',
    '## Throughput and latency',
    '',
    '| target | 1 KiB req/s | × nginx | × bare Next | server CPU µs/req | × bare Next (CPU) | p50 ms | p99 ms | 100 MiB MB/s | × nginx |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...summaries.map(
      (row) =>
        `| ${row.label}${row.problems.length ? ' ⚠' : ''} | ${format(row.rps)} | ${times(row.rpsVsNginx)} | ${times(row.rpsVsBare)} | ${format(row.cpuUs)} | ${times(row.cpuVsBare)} | ${format(row.p50, 2)} | ${format(row.p99, 2)} | ${format(row.mbps)} | ${times(row.mbpsVsNginx)} |`,
    ),
    '',
  ];
  const memoryRows = summaries.filter((row) => Object.keys(row.memory).length > 0);
  if (memoryRows.length > 0) {
    const cell = (entry: MemorySummary['large']): string[] =>
      !entry ? ['–', '–'] : 'skipped' in entry ? ['skipped', '–'] : [`${format(entry.peak / MiB)}`, `+${format(entry.growth / MiB, 1)}${entry.ok ? '' : ' (failed)'}`];
    const before = (memory: MemorySummary): string => {
      const first = memory.large ?? memory.huge;
      return first && !('skipped' in first) ? format(first.before / MiB) : '–';
    };
    md.push(
      `## Memory: server RSS, ${s.memoryClients} concurrent downloads`,
      '',
      'VmRSS of the Next server (of the Node process for `send`) from /proc sampled every 50 ms, in MiB. *Fresh*: a new server after 20 requests for the 1 KiB file through the same route.',
      '*Warm*: a new server after the same and one full 100 MiB download, so "before" already holds what the first large',
      'streamed body costs any Next process once.',
      '',
      '| target | fresh: before | peak 100 MiB | growth | peak 1 GiB | growth | warm: before | peak 100 MiB | growth | peak 1 GiB | growth |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
      ...memoryRows.map(
        (row) =>
          `| ${row.label} | ${before(row.memory)} | ${cell(row.memory.large).join(' | ')} | ${cell(row.memory.huge).join(' | ')} | ${before(row.memoryWarm)} | ${cell(row.memoryWarm.large).join(' | ')} | ${cell(row.memoryWarm.huge).join(' | ')} |`,
      ),
      '',
    );
  }
  const labelOf = (id: string): string => results.targets.find((target) => target.id === id)?.label ?? id;
  if (results.pairs?.length) {
    const spread = (values: number[]): string => (values.length ? `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}` : '–');
    md.push(
      '## Side by side',
      '',
      `Each target and its reference run at the same time and are loaded in turn, ${s.pairedRuns} × ${s.pairedSeconds} s each (wrk \`-t${s.threads}\`, \`-c${s.smallConnections}\` on 1 KiB and \`-c${s.largeConnections}\` on 100 MiB, order alternating), so both see the same machine; these are the ratios the targets below use.`,
      '',
      '| target | reference | file | throughput ratio (median) | range | server CPU ratio (median) | range |',
      '|---|---|---|--:|--:|--:|--:|',
      ...results.pairs.map((pair) => {
        const head = `| ${labelOf(pair.id)} | ${labelOf(pair.referenceId)} | ${pair.load === 'small' ? '1 KiB req/s' : '100 MiB MB/s'}`;
        if (pair.error) return `${head} | failed: ${pair.error} | | | |`;
        const cpu = pair.cpu.length ? `${times(median(pair.cpu))} | ${spread(pair.cpu)}` : '– | –';
        return `${head} | ${times(median(pair.throughput))} | ${spread(pair.throughput)} | ${cpu} |`;
      }),
      '',
    );
  }
  md.push('## Targets', '', '```', ...checkLines, '```', '');
  const problems = summaries.filter((row) => row.problems.length > 0 || row.errors > 0);
  if (problems.length > 0) {
    md.push('## Problems', '');
    for (const row of problems) md.push(`- ${row.label}: ${[...row.problems, ...(row.errors ? [`${row.errors} wrk errors (${row.errorKinds})`] : [])].join('; ')}`);
    md.push('');
  }
  md.push('## Per round', '', '| target | ' + results.rounds.map((_, index) => `r${index + 1} req/s | r${index + 1} MB/s`).join(' | ') + ' |', '|---|' + results.rounds.map(() => '--:|--:').join('|') + '|');
  for (const { id, label } of results.targets) {
    md.push(`| ${label} | ${results.rounds.map((round) => `${format(round.targets[id]?.small?.requestsPerSecond)} | ${format(round.targets[id]?.large?.megabytesPerSecond)}`).join(' | ')} |`);
  }
  md.push('', '![chart](latest.svg)', '');

  const markdown = path.join(dir, 'latest.md');
  const svg = path.join(dir, 'latest.svg');
  writeFileSync(markdown, md.join('\n'));
  writeFileSync(svg, chart(summaries, results));
  writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  return { markdown, svg, checks: checkLines };
}

function errorKindsOf(runs: (WrkResult | undefined)[]): string {
  const totals = new Map<string, number>();
  // Results written before kinds were recorded have none; their errors show as "kinds not recorded".
  for (const run of runs) for (const [kind, count] of Object.entries(run?.errorKinds ?? {})) totals.set(kind, (totals.get(kind) ?? 0) + count);
  return totals.size === 0 ? 'kinds not recorded' : [...totals].map(([kind, count]) => `${count} ${kind}`).join(', ');
}

const palette: Record<string, string> = { reference: '#8c8c8c', next: '#4a7fc1', library: '#2e9e5b', offload: '#e08a2c' };

function groupOf(id: string): string {
  if (id === 'nginx-static' || id === 'node-send') return 'reference';
  if (id.startsWith('next-')) return 'next';
  if (id.startsWith('lib-direct') || id === 'lib-virtual') return 'library';
  return 'offload';
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Hand-written SVG: one horizontal bar panel per metric. */
function chart(summaries: Summary[], results: BenchResults): string {
  const width = 960;
  const labelWidth = 300;
  const barArea = width - labelWidth - 130;
  const rowHeight = 20;
  const parts: string[] = [];
  let y = 40;
  const panel = (title: string, rows: { label: string; value: number | undefined; group: string; note: string }[], scale: 'linear' | 'log' = 'linear'): void => {
    const values = rows.map((row) => row.value ?? 0).filter((value) => value > 0);
    const max = Math.max(1, ...values);
    // Log scale from the power of ten below the smallest value, so nginx's 1 KiB rate does not
    // flatten every Next bar to a few pixels.
    const floor = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values, max))));
    const ceiling = scale === 'log' ? 10 ** Math.ceil(Math.log10(max)) : max;
    const position = (value: number): number =>
      scale === 'log' ? (Math.log10(Math.max(value, floor) / floor) / Math.log10(ceiling / floor)) * barArea : (value / max) * barArea;
    parts.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
    y += 10;
    const top = y;
    for (const row of rows) {
      const length = row.value === undefined ? 0 : Math.max(1, position(row.value));
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 14}" font-size="12" text-anchor="end">${escapeXml(row.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 3}" width="${length.toFixed(1)}" height="${rowHeight - 6}" fill="${palette[row.group]}"/>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + 14}" font-size="12">${escapeXml(row.note)}</text>`,
      );
      y += rowHeight;
    }
    if (scale === 'log') {
      for (let tick = floor; tick <= ceiling; tick *= 10) {
        const x = (labelWidth + position(tick)).toFixed(1);
        parts.push(
          `<line x1="${x}" y1="${top}" x2="${x}" y2="${y + 2}" stroke="#bbbbbb" stroke-dasharray="2,3"/>`,
          `<text x="${x}" y="${y + 14}" font-size="10" fill="#555" text-anchor="middle">${format(tick)}</text>`,
        );
      }
      y += 14;
    }
    y += 30;
  };
  const withSmall = summaries.filter((row) => row.rps !== undefined);
  panel(
    '1 KiB file: requests/s, log scale (× bare Next handler)',
    withSmall.map((row) => ({ label: row.label, value: row.rps, group: groupOf(row.id), note: `${format(row.rps)} (${times(row.rpsVsBare)})` })),
    'log',
  );
  const withLarge = summaries.filter((row) => row.mbps !== undefined);
  panel(
    '100 MiB file: MB/s (× nginx static)',
    withLarge.map((row) => ({ label: row.label, value: row.mbps, group: groupOf(row.id), note: `${format(row.mbps)} (${times(row.mbpsVsNginx)})` })),
  );
  const memoryRows = summaries
    .filter((row) => row.id !== 'next-readfile')
    .flatMap((row) =>
      (['memory', 'memoryWarm'] as const).flatMap((mode) =>
        (['large', 'huge'] as const).flatMap((key) => {
          const entry = row[mode][key];
          if (!entry || 'skipped' in entry) return [];
          const label = `${row.label}, ${key === 'large' ? '100 MiB' : '1 GiB'}, ${mode === 'memory' ? 'fresh' : 'warm'}`;
          return [{ label, value: entry.growth / MiB, group: groupOf(row.id), note: `+${format(entry.growth / MiB, 1)} MiB` }];
        }),
      ),
    );
  if (memoryRows.length > 0) panel(`RSS growth of the Next server, ${results.settings.memoryClients} concurrent downloads, MiB (readFile: see table)`, memoryRows);
  const legend = Object.entries({ reference: 'reference servers', next: 'Next without the library', library: 'library, streamed by Next', offload: 'library, offloaded to a proxy' })
    .map(([group, text], index) => `<rect x="${10 + index * 230}" y="${y - 12}" width="12" height="12" fill="${palette[group]}"/><text x="${28 + index * 230}" y="${y - 2}" font-size="12">${text}</text>`)
    .join('');
  const m = results.machine;
  const footer = `${m.date}, ${m.cpu}, ${m.memory}, Node ${m.node}, Next ${m.next}; medians of ${results.rounds.length} round(s), ${results.settings.duration} s each`;
  const height = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="17" font-weight="bold">next-downloadview: npm run bench</text>`,
    ...parts,
    legend,
    `<text x="10" y="${y + 20}" font-size="11" fill="#555">${escapeXml(footer)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
