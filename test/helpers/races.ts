/**
 * Real concurrent filesystem races for tests: a child process swapping directory entries for a
 * bounded time, and an event-loop liveness probe whose watchdog thread can unfreeze a process
 * stuck in open() on a FIFO (by opening the FIFO's write end), so a regression fails instead of
 * hanging the test run.
 */
import { spawn } from 'node:child_process';
import { constants, closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * Run `body` (statements using `fs` and `args`, one swap per run) in a loop in a child process
 * for `durationMs`; resolves with the number of loops. Errors inside `body` are ignored (an
 * entry can be missing for a moment), so the body can be written without guards.
 */
export function swapFor(durationMs: number, body: string, args: readonly string[]): Promise<number> {
  const script = `
    const fs = require('node:fs');
    const args = JSON.parse(process.argv[1]);
    const end = Date.now() + ${Number(durationMs)};
    let loops = 0;
    while (Date.now() < end) {
      try { ${body} } catch {}
      loops += 1;
    }
    process.stdout.write(String(loops));`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(Number(output)) : reject(new Error(`swapper exited with ${code}`))));
  });
}

export interface LivenessProbe {
  /** Longest gap seen between two 10 ms ticks of this thread's event loop, in ms. */
  readonly maxLagMs: number;
  /** Times the watchdog found the event loop frozen for over a second and opened the FIFO's write end. */
  readonly rescues: number;
  /** Open the FIFO's write end now (for a request stuck in a threadpool thread, with the loop still alive). */
  release(): boolean;
  stop(): Promise<void>;
}

/** Watch this thread's event loop; while frozen for over `frozenMs`, release readers blocked on `fifo`. */
export function startLivenessProbe(fifo: string, frozenMs = 1000): LivenessProbe {
  // [0] heartbeat, [1] rescues, [2] stop flag
  const shared = new Int32Array(new SharedArrayBuffer(12));
  let last = performance.now();
  let maxLagMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last);
    last = now;
    Atomics.add(shared, 0, 1);
  }, 10);
  const worker = new Worker(
    `
    const { workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const { shared, fifo, frozenMs } = workerData;
    let seen = Atomics.load(shared, 0);
    let since = Date.now();
    while (Atomics.load(shared, 2) === 0) {
      Atomics.wait(shared, 2, 0, 100);
      const beat = Atomics.load(shared, 0);
      if (beat !== seen) { seen = beat; since = Date.now(); continue; }
      if (Date.now() - since < frozenMs) continue;
      try {
        // Succeeds only while a reader waits in open(): that reader is then let through.
        const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        Atomics.add(shared, 1, 1);
        fs.closeSync(fd);
      } catch {}
    }`,
    { eval: true, workerData: { shared, fifo, frozenMs } },
  );
  return {
    get maxLagMs() {
      return maxLagMs;
    },
    get rescues() {
      return Atomics.load(shared, 1);
    },
    release() {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        return true;
      } catch {
        return false; // ENXIO: nobody is waiting
      }
    },
    async stop() {
      clearInterval(ticker);
      Atomics.store(shared, 2, 1);
      Atomics.notify(shared, 2);
      await worker.terminate();
    },
  };
}

/**
 * Settle `pending` within `deadlineMs`; past it, keep releasing `probe`'s FIFO until it settles
 * and report it as hung. Returns whether it hung.
 */
export async function settlesInTime(pending: Promise<unknown>, deadlineMs: number, probe: LivenessProbe): Promise<boolean> {
  let settled = false;
  const done = pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
  clearTimeout(timer);
  if (settled) return false;
  while (!settled) {
    probe.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
