/**
 * The soak's report: bench/results/soak-latest.json (everything), .md (the table docs/soak.md
 * quotes) and .svg (resident memory and descriptors over time, per target). Pure rendering.
 */
import type { Provenance } from './results.js';
import type { SoakSettings, TargetRun } from './soak.js';

export interface SoakResults {
  provenance: Provenance;
  machine: Record<string, string>;
  settings: SoakSettings;
  runs: TargetRun[];
}

const MiB = 1 << 20;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderSoakMarkdown(results: SoakResults): string {
  const { provenance, machine, settings, runs } = results;
  const lines = [
    `# Soak run ${provenance.started}`,
    '',
    `Commit \`${provenance.commit}\`${provenance.dirty ? ` (working tree differs: ${provenance.changed.join(', ')})` : ''}; command \`${provenance.command}\`.`,
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}, ${machine.kernel}, Node ${machine.node}, Next ${machine.next}; load average at start ${machine['load average at start']}.`,
    `Settings: ${settings.seconds} s per target, ${settings.connections} keep-alive connections, files of ${settings.sizes.map((size) => (size >= MiB ? `${size / MiB} MiB` : `${size} B`)).join(', ')}, seed \`${settings.seed}\`.`,
    '',
    '| target | requests | req/s | MiB sent | errors | corrupt | leaks | p50 ms | p99 ms | max ms | app RSS before → peak → after (MiB) | app descriptors before → after |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...runs.map((run) =>
      [
        run.target,
        run.traffic.requests,
        (run.traffic.requests / run.traffic.seconds).toFixed(0),
        mib(run.traffic.bytes),
        run.traffic.errors,
        run.traffic.corrupt,
        // Runs before the leak scan existed have no count.
        run.traffic.leaks ?? '–',
        run.latency.p50.toFixed(1),
        run.latency.p99.toFixed(1),
        run.latency.max.toFixed(0),
        `${mib(run.rss.before)} → ${mib(run.rss.peak)} → ${mib(run.rss.after)}`,
        `${run.descriptors.before} → ${run.descriptors.after}`,
      ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'),
    ),
    '',
    `Requests per kind: ${runs.map((run) => `${run.target}: ${Object.entries(run.traffic.byKind).map(([kind, count]) => `${kind} ${count}`).join(', ')}`).join('; ')}.`,
  ];
  const problems = runs.flatMap((run) => run.traffic.problems.map((problem) => `- ${run.target}: ${problem}`));
  if (problems.length > 0) lines.push('', '## Problems (first 20 per target)', '', ...problems);
  return `${lines.join('\n')}\n`;
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

const panelWidth = 480;
const panelHeight = 150;

/** One line panel at (x, y): `series` over seconds, y from 0 to a round top. */
function linePanel(x: number, y: number, title: string, unit: string, series: Series[]): string {
  const values = series.flatMap((entry) => entry.points.map(([, value]) => value));
  const seconds = series.flatMap((entry) => entry.points.map(([second]) => second));
  const top = roundUp(Math.max(1, ...values));
  const last = Math.max(1, ...seconds);
  const left = x + 50;
  const width = panelWidth - 60;
  const px = (second: number): number => left + (second / last) * width;
  const py = (value: number): number => y + 20 + panelHeight - (value / top) * panelHeight;
  const parts = [
    `<text x="${x}" y="${y + 12}" font-size="12" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${left}" y1="${py(0)}" x2="${left + width}" y2="${py(0)}" stroke="#888"/>`,
    `<line x1="${left}" y1="${py(top)}" x2="${left + width}" y2="${py(top)}" stroke="#e4e4e4"/>`,
    `<text x="${left - 4}" y="${py(top) + 4}" font-size="10" text-anchor="end">${top} ${unit}</text>`,
    `<text x="${left - 4}" y="${py(0) + 4}" font-size="10" text-anchor="end">0</text>`,
    `<text x="${left + width}" y="${py(0) + 14}" font-size="10" text-anchor="end">${last} s</text>`,
  ];
  series.forEach((entry, index) => {
    const path = entry.points.map(([second, value]) => `${px(second).toFixed(1)},${py(value).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${entry.color}" stroke-width="1.5" points="${path}"/>`);
    parts.push(`<text x="${left + 8 + index * 110}" y="${py(top) + 14}" font-size="10" fill="${entry.color}">${escapeXml(entry.label)}</text>`);
  });
  return parts.join('\n');
}

function roundUp(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value)!;
}

/** Per target: resident memory (MiB) and descriptors over the run, of the app and of its proxy. */
export function renderSoakChart(results: SoakResults): string {
  const rowHeight = panelHeight + 50;
  const height = 40 + results.runs.length * rowHeight;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="${height}" font-family="sans-serif">`,
    `<rect width="1000" height="${height}" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(`Soak ${results.provenance.started.slice(0, 10)}: resident memory and descriptors, sampled every second`)}</text>`,
  ];
  results.runs.forEach((run, index) => {
    const y = 35 + index * rowHeight;
    const series = (pick: (sample: TargetRun['samples'][number]) => number | undefined, scale: number): Series[] => {
      const app = { label: 'app (next start)', color: '#4a7fc1', points: run.samples.map((sample) => [sample.second, (pick(sample) ?? 0) / scale] as [number, number]) };
      return run.samples.every((sample) => sample.proxyRss === undefined) ? [app] : [app, { label: run.target, color: '#d0312d', points: run.samples.map((sample) => [sample.second, ((pick === rssOf ? sample.proxyRss : sample.proxyDescriptors) ?? 0) / scale] as [number, number]) }];
    };
    parts.push(linePanel(10, y, `${run.target}: RSS`, 'MiB', series(rssOf, MiB)));
    parts.push(linePanel(510, y, `${run.target}: descriptors`, '', series((sample) => sample.appDescriptors, 1)));
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const rssOf = (sample: TargetRun['samples'][number]): number => sample.appRss;
