/**
 * bench/results/latest.svg: the paired ratios the report judges, on a linear scale. Per comparison: the
 * range of its per-pair ratios (thin line), the 95% interval (thick bar), the median (dot) and the
 * target (red tick); the memory limits the same way in MiB. Pure, like render.ts.
 */
import type { BenchResults } from './results.js';
import type { ComparisonSummary, Summary } from './summary.js';

interface Row {
  label: string;
  median?: number;
  low?: number;
  high?: number;
  min?: number;
  max?: number;
  limit?: number;
  note: string;
}

const width = 1000;
const labelWidth = 430;
const noteWidth = 190;
const plotWidth = width - labelWidth - noteWidth - 20;
const rowHeight = 22;

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const round1 = (value: number): string => value.toFixed(1);

/** A round axis covering `values` (plus `padding`), with at most ten ticks at a round step. */
function axisFor(values: number[], padding: number): { from: number; to: number; step: number } {
  const finite = values.filter((value) => Number.isFinite(value));
  const [low, high] = [Math.min(...finite) - padding, Math.max(...finite) + padding];
  const step = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500].find((candidate) => (high - low) / candidate <= 10) ?? 1000;
  const from = Math.floor(low / step) * step;
  const to = Math.ceil(high / step) * step;
  return { from, to: to > from ? to : from + step, step };
}

/** One panel of rows on its own linear axis; `origin` (1× for ratios, 0 MiB for differences) is drawn darker. */
function panel(parts: string[], top: number, title: string, rows: Row[], unit: (value: number) => string, origin: number, padding: number): number {
  if (rows.length === 0) return top;
  const axis = axisFor(
    rows.flatMap((row) => [row.min, row.max, row.low, row.high, row.limit].filter((value): value is number => value !== undefined)),
    padding,
  );
  const x = (value: number): number => labelWidth + ((Math.min(Math.max(value, axis.from), axis.to) - axis.from) / (axis.to - axis.from)) * plotWidth;
  parts.push(`<text x="10" y="${top}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  let y = top + 12;
  const plotTop = y;
  const ticks = Math.round((axis.to - axis.from) / axis.step);
  for (let index = 0; index <= ticks; index += 1) {
    const value = axis.from + index * axis.step;
    parts.push(`<line x1="${round1(x(value))}" y1="${plotTop}" x2="${round1(x(value))}" y2="${plotTop + rows.length * rowHeight}" stroke="#e4e4e4"/>`);
  }
  if (origin >= axis.from && origin <= axis.to) {
    parts.push(`<line x1="${round1(x(origin))}" y1="${plotTop}" x2="${round1(x(origin))}" y2="${plotTop + rows.length * rowHeight}" stroke="#888" stroke-dasharray="3,3"/>`);
  }
  for (const row of rows) {
    const middle = y + rowHeight / 2;
    parts.push(`<text x="${labelWidth - 8}" y="${middle + 4}" font-size="11" text-anchor="end">${escapeXml(row.label)}</text>`);
    if (row.min !== undefined && row.max !== undefined) {
      parts.push(`<line x1="${round1(x(row.min))}" y1="${middle}" x2="${round1(x(row.max))}" y2="${middle}" stroke="#9aa7b8" stroke-width="1.5"/>`);
    }
    if (row.low !== undefined && row.high !== undefined) {
      parts.push(`<rect x="${round1(x(row.low))}" y="${middle - 4}" width="${round1(Math.max(1, x(row.high) - x(row.low)))}" height="8" fill="#4a7fc1"/>`);
    }
    if (row.median !== undefined) parts.push(`<circle cx="${round1(x(row.median))}" cy="${middle}" r="3.5" fill="#111"/>`);
    if (row.limit !== undefined) parts.push(`<line x1="${round1(x(row.limit))}" y1="${middle - 8}" x2="${round1(x(row.limit))}" y2="${middle + 8}" stroke="#d0312d" stroke-width="2"/>`);
    parts.push(`<text x="${labelWidth + plotWidth + 10}" y="${middle + 4}" font-size="11">${escapeXml(row.note)}</text>`);
    y += rowHeight;
  }
  for (let index = 0; index <= ticks; index += 1) {
    const value = axis.from + index * axis.step;
    parts.push(`<text x="${round1(x(value))}" y="${y + 12}" font-size="10" fill="#555" text-anchor="middle">${escapeXml(unit(value))}</text>`);
  }
  return y + 44;
}

const comparisonRow = (c: ComparisonSummary): Row => {
  const all = c.ratios.flat();
  return {
    label: `${c.spec.id} / ${c.spec.referenceId}, ${c.spec.load === 'small' ? '1 KiB' : '100 MiB'}${c.spec.metric === 'cpu' ? ' CPU' : ''}`,
    ...(c.interval ? { median: c.interval.estimate, low: c.interval.low, high: c.interval.high } : {}),
    ...(all.length ? { min: Math.min(...all), max: Math.max(...all) } : {}),
    ...(c.spec.minimum !== undefined ? { limit: c.spec.minimum } : {}),
    note: c.interval ? `${c.interval.estimate.toFixed(2)}× [${c.interval.low.toFixed(2)}, ${c.interval.high.toFixed(2)}] ${c.outcome === 'INFO' ? '' : c.outcome}` : c.outcome,
  };
};

export function renderChart(results: BenchResults, summary: Summary): string {
  const parts: string[] = [];
  let y = 50;
  // Every comparison drawn from a judged session: the targets, and the same pairs in server CPU.
  const judged = summary.comparisons.filter((c) => results.plan.sessions.find((session) => session.id === c.spec.session)?.judged);
  const ratio = (value: number): string => `${Number(value.toFixed(2))}×`;
  y = panel(parts, y, 'Judged pairs: target / reference (red: the target; bar: 95% interval; line: every pair)', judged.map(comparisonRow), ratio, 1, 0.02);
  const informational = summary.comparisons.filter((c) => !judged.includes(c) && c.interval);
  y = panel(parts, y, 'Informational pairs', informational.map(comparisonRow), ratio, 1, 0.02);
  const memoryRows: Row[] = summary.memoryComparisons.map((c) => ({
    label: `${c.id} − ${c.referenceId}, RSS growth, ${results.settings.memoryClients} × ${c.key === 'large' ? '100 MiB' : '1 GiB'}`,
    ...(c.interval ? { median: c.interval.estimate, low: c.interval.low, high: c.interval.high } : {}),
    ...(c.differences.length ? { min: Math.min(...c.differences), max: Math.max(...c.differences) } : {}),
    limit: c.slackMiB,
    note: c.interval ? `${c.interval.estimate.toFixed(1)} MiB [${c.interval.low.toFixed(1)}, ${c.interval.high.toFixed(1)}] ${c.outcome}` : c.outcome,
  }));
  y = panel(parts, y, 'Memory: RSS growth minus Next public/\'s in the same round (red: the limit)', memoryRows, (value) => `${value} MiB`, 0, 1);
  const p = results.provenance;
  const m = results.machine;
  const footer = `commit ${p.commit.slice(0, 12)}${p.dirty ? ' (dirty tree)' : ''}, ${p.started.slice(0, 10)}, ${m.cpu ?? ''}, Node ${m.node ?? ''}, Next ${m.next ?? ''}; ${results.settings.rounds} round(s) × ${results.settings.cycles} cycles × ${results.settings.sampleSeconds} s`;
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="17" font-weight="bold">next-downloadview: npm run bench, paired ratios</text>`,
    ...parts,
    `<text x="10" y="${height - 12}" font-size="11" fill="#555">${escapeXml(footer)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
