/** The shape of bench/results/latest.json: everything a report is generated from. */
import type { Load, Plan } from './plan.js';

/** Bumped when the shape changes; the report refuses to read a run of another shape as this one. */
export const RESULTS_SCHEMA = 2;

export interface Settings {
  /** Fresh-server rounds of the judged sessions, and of the informational ones. */
  rounds: number;
  infoRounds: number;
  /** Interleaved cycles per round and load: each side's number of samples from one server. */
  cycles: number;
  /** Seconds per timed sample, and of warm-up load per side before a load's first cycle. */
  sampleSeconds: number;
  warmup: number;
  threads: number;
  smallConnections: number;
  largeConnections: number;
  memory: boolean;
  memoryRounds: number;
  memoryClients: number;
  huge: boolean;
  /** Bootstrap resamples and confidence level of every interval. */
  resamples: number;
  confidence: number;
}

/** One timed wrk run of one side (see measure.ts). A sample with problems is not used. */
export interface Sample {
  /** req/s on 1 KiB, MB/s (10^6 bytes) on 100 MiB. */
  throughput: number;
  /** CPU time of the serving processes per completed request, in µs. */
  cpuUs: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  bytes: number;
  seconds: number;
  /** Why it was rejected: errors, responses other than 200 with the right bytes, lost requests. */
  problems: string[];
}

export interface LoadRun {
  load: Load;
  /** The sides that passed their checks and were loaded, in this round's order. */
  sides: string[];
  /** The warm-up run of each side (untimed): its throughput and any problems, for the record. */
  warmup: Record<string, { throughput: number; problems: string[] }>;
  /** One sample per side per cycle. */
  cycles: Record<string, Sample>[];
}

export interface SessionRound {
  round: number;
  started: string;
  loadAverage: number;
  /** Set when the stacks could not be started: nothing was measured. */
  error?: string;
  /** Byte-check problems per target (sha256 of 1 KiB, 100 MiB, one Range); empty when exact. */
  checks: Record<string, string[]>;
  /** Header differences per `target/reference` pair that must answer alike; empty when alike. */
  headerChecks: Record<string, string[]>;
  /** What the targets that ask for it (`semantics`) did with Range and If-None-Match (not judged). */
  semantics?: Record<string, { range: string; conditional: string }>;
  /** Bytes the Next process tree read and wrote during one 100 MiB download (`appBytes` targets). */
  appBytes?: Record<string, AppBytes>;
  loads: LoadRun[];
}

export interface AppBytes {
  /** Bytes the client received (status 200, full size, or a problem says otherwise). */
  downloaded: number;
  /** rchar / wchar deltas of the Next process tree (sockets included). */
  read: number;
  written: number;
  /** An offload target's Next moved more than 1% of the body, or the download failed. */
  problems: string[];
}

export interface SessionRun {
  id: string;
  rounds: SessionRound[];
}

export interface MemoryRun {
  id: string;
  key: 'large' | 'huge';
  /** After one full 100 MiB download first (informational). */
  warm: boolean;
  round: number;
  /** RSS in bytes before the downloads and its peak during them. */
  before?: number;
  peak?: number;
  seconds?: number;
  /** Every download was a 200 of the full size. */
  ok?: boolean;
  detail?: string;
  skipped?: string;
}

export interface Provenance {
  /** The commit measured, and whether the working tree differed from it (and where). */
  commit: string;
  dirty: boolean;
  changed: string[];
  command: string;
  /** Every BENCH_* variable set for the run. */
  env: Record<string, string>;
  started: string;
  finished?: string;
}

export interface BenchResults {
  schema: typeof RESULTS_SCHEMA;
  provenance: Provenance;
  machine: Record<string, string>;
  settings: Settings;
  plan: Plan;
  sessions: SessionRun[];
  memory: MemoryRun[];
}
