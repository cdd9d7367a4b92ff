/**
 * `npm run soak` (scripts/soak.sh): the soak on every target, then bench/results/soak-latest.{json,md,svg}.
 * Settings: SOAK_SECONDS (per target, default 60), SOAK_TARGETS (comma-separated, default
 * direct,nginx,apache,lighttpd,caddy,remote,blob), SOAK_CONNECTIONS (default 16), SOAK_SEED. Exits 1 when any
 * request failed, any body was corrupt or any response leaked.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultResultsDir, describeMachine, provenance } from './report.js';
import { defaultSizes, soak, SOAK_TARGETS, type SoakSettings, type SoakTarget } from './soak.js';
import { renderSoakChart, renderSoakMarkdown, type SoakResults } from './soak-report.js';

function positiveInteger(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

function targetsFrom(value: string | undefined): SoakTarget[] {
  if (value === undefined || value.trim() === '') return [...SOAK_TARGETS];
  const targets = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  const unknown = targets.filter((target) => !(SOAK_TARGETS as readonly string[]).includes(target));
  if (unknown.length > 0) throw new Error(`SOAK_TARGETS: unknown ${unknown.join(', ')} (choose from ${SOAK_TARGETS.join(', ')})`);
  return targets as SoakTarget[];
}

const settings: SoakSettings = {
  targets: targetsFrom(process.env.SOAK_TARGETS),
  seconds: positiveInteger('SOAK_SECONDS', 60),
  connections: positiveInteger('SOAK_CONNECTIONS', 16),
  sizes: defaultSizes,
  seed: process.env.SOAK_SEED || 'soak',
};

const command = `SOAK_SECONDS=${settings.seconds} SOAK_TARGETS=${settings.targets.join(',')} SOAK_CONNECTIONS=${settings.connections} npm run soak`;
const started = provenance(command);
const machine = await describeMachine();
const runs = await soak(settings, (line) => console.log(line));
const results: SoakResults = { provenance: { ...started, finished: new Date().toISOString() }, machine, settings, runs };

mkdirSync(defaultResultsDir, { recursive: true });
const base = path.join(defaultResultsDir, 'soak-latest');
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
const markdown = renderSoakMarkdown(results);
writeFileSync(`${base}.md`, markdown);
writeFileSync(`${base}.svg`, renderSoakChart(results));
console.log(`\n${markdown}\nwritten: ${base}.{json,md,svg}`);
if (runs.some((run) => run.traffic.errors > 0 || run.traffic.corrupt > 0 || run.traffic.leaks > 0)) process.exitCode = 1;
