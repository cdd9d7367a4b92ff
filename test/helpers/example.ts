/**
 * The example app as its scripts run it (`npm run example`, `npm run example:proxy`), for the
 * end-to-end tests: start a script, wait until it says it is ready, sign in, stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, repositoryRoot } from './next-server.js';

export interface RunningScript {
  child: ChildProcess;
  /** Everything the script printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then its exit code (already exited: that code). */
  stop(): Promise<number | null>;
}

/**
 * `bash <script> ...args` in the repository with `env` over this process's environment; resolves
 * once `ready(output)` is true, rejects with the output if it exits or takes over `timeoutMs`.
 */
export async function startScript(args: readonly string[], env: NodeJS.ProcessEnv, ready: (output: string) => boolean, timeoutMs = 120_000): Promise<RunningScript> {
  const child = spawn('bash', args, { cwd: repositoryRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + timeoutMs;
  while (!ready(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) child.kill('SIGTERM');
      throw new Error(`${args.join(' ')} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

export interface RunningExample extends RunningScript {
  /** `http://127.0.0.1:<port>`, where the script serves the example. */
  base: string;
}

/**
 * An example script (`scripts/example.sh`, `scripts/example-proxy.sh <kind>`) on a free port with a
 * data folder of its own, and no backend, rules or Blob token leaking in from the shell that runs
 * the tests; `ready(output, base)` says when it serves. `stop()` also removes the data folder.
 */
export async function startExample(args: readonly string[], env: NodeJS.ProcessEnv, ready: (output: string, base: string) => boolean): Promise<RunningExample> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'dv-example-'));
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const quiet = { DOWNLOADVIEW_BACKEND: '', DOWNLOADVIEW_RULES: '', BLOB_READ_WRITE_TOKEN: '' };
  const script = await startScript(args, { ...quiet, ...env, PORT: String(port), DATA_DIR: dataDir }, (output) => ready(output, base)).catch((error: unknown) => {
    removeData();
    throw error;
  });
  return {
    ...script,
    base,
    async stop() {
      try {
        return await script.stop();
      } finally {
        removeData();
      }
    },
  };
}

/** Sign in to the example at `base` as `user` (alice, bob); the session cookie (`session=...`). */
export async function signIn(base: string, user: string): Promise<string> {
  const response = await fetch(`${base}/auth/sign-in`, { method: 'POST', body: new URLSearchParams({ user }), redirect: 'manual' });
  if (response.status !== 303) throw new Error(`sign-in as ${user} answered ${response.status}, not 303`);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}
