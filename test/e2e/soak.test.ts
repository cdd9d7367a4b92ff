/**
 * The soak in miniature (bench/soak.ts; `npm run soak` runs it for minutes on every target): a few
 * seconds of the mixed traffic straight to `next start`, through nginx offloading and on the private
 * blob() route (streamed from the Blob-compatible store; 12.2 s in all here, store and uploads
 * included), where every completed body is hashed against its source and every response is
 * scanned for leaks. Any error, corrupt body or leak fails CI.
 */
import { describe, expect, it } from 'vitest';
import { defaultSizes, soak, type SoakTarget } from '../../bench/soak.js';
import { describeWith } from '../helpers/suites.js';

const MiB = 1 << 20;
const SECONDS = Number(process.env.SOAK_TEST_SECONDS ?? 10);

/** Sizes up to 10 MiB: the 100 MiB file's writing and hashing would double the suite's time. */
const sizes = defaultSizes.filter((size) => size <= 10 * MiB);

async function soakBriefly(target: SoakTarget): Promise<void> {
  const [run] = await soak({ targets: [target], seconds: SECONDS, connections: 8, sizes, seed: 'npm-test' }, console.log);
  expect(run!.traffic.problems).toEqual([]);
  expect(run!.traffic.errors).toBe(0);
  expect(run!.traffic.corrupt).toBe(0);
  expect(run!.traffic.leaks).toBe(0);
  expect(run!.traffic.requests).toBeGreaterThan(100);
  expect(Object.values(run!.traffic.byKind).every((count) => count > 0)).toBe(true);
  expect(run!.descriptors.after).toBeLessThanOrEqual(run!.descriptors.before);
}

describe('a short soak', () => {
  it('straight to next start: 0 errors, 0 corrupt bodies, 0 leaks', () => soakBriefly('direct'), 300_000);
});

describeWith(['nginx'])('a short soak behind nginx', () => {
  it('offloading to nginx: 0 errors, 0 corrupt bodies, 0 leaks', () => soakBriefly('nginx'), 300_000);
});

describe('a short soak on the private blob() route', () => {
  it('streamed from the Blob-compatible store: 0 errors, 0 corrupt bodies, 0 leaks', () => soakBriefly('blob'), 300_000);
});
