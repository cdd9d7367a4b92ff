/** Build and start a real Next.js app (`next build` + `next start`) on 127.0.0.1. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Repository app folder → its installed copy outside the repository (see fixture.ts). */
const installedApps = new Map<string, string>();

/** Make `startNext(appDir)` and `buildApp(appDir)` use `installedDir`, the app as a user installs it. */
export function registerInstalledApp(appDir: string, installedDir: string): void {
  installedApps.set(path.resolve(appDir), installedDir);
}

/** The directory to run: the installed copy of a registered app, else `appDir` itself (the bench app). */
export function runnableApp(appDir: string): string {
  return installedApps.get(path.resolve(appDir)) ?? appDir;
}

/** The app's own Next (an installed app has one), else the repository's. */
function nextBinFor(appDir: string): string {
  const own = path.join(appDir, 'node_modules/next/dist/bin/next');
  return existsSync(own) ? own : path.join(repositoryRoot, 'node_modules/next/dist/bin/next');
}

const baseEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  NODE_ENV: 'production',
  // Route handlers must see only what the test gives them.
  DOWNLOADVIEW_BACKEND: '',
  DOWNLOADVIEW_RULES: '',
});

/** `next build` in `appDir`; rejects with the build output when it fails. */
export async function buildApp(appDir: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  appDir = runnableApp(appDir);
  const child = spawn(process.execPath, [nextBinFor(appDir), 'build'], { cwd: appDir, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`next build failed in ${appDir} (exit ${code}):\n${output}`);
}

export interface RunningNext {
  url: string;
  port: number;
  pid: number;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/**
 * `next start -H 127.0.0.1 -p PORT`, spawned directly so there is one pid to stop. The free port can be
 * taken by another process before Next binds it (tests start servers in parallel): then it starts
 * again on another port, up to three times.
 */
export async function startNext(appDir: string, env: NodeJS.ProcessEnv = {}): Promise<RunningNext> {
  appDir = runnableApp(appDir);
  if (!existsSync(path.join(appDir, '.next/BUILD_ID'))) throw new Error(`${appDir} is not built: call ensureBuilt(appDir) first (test/helpers/fixture.ts)`);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startNextOnce(appDir, env);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

class PortTaken extends Error {}

const answers = (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    () => true,
    () => false,
  );

async function startNextOnce(appDir: string, env: NodeJS.ProcessEnv): Promise<RunningNext> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [nextBinFor(appDir), 'start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: appDir,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  const failed = (): Error => (/EADDRINUSE/.test(output) ? new PortTaken(output) : new Error(`next start exited with ${child.exitCode}:\n${output}`));
  // Ready once Next says so and the port answers: an answer alone could come from whoever took the port.
  while (!(/\bReady in\b/.test(output) && (await answers(`${url}/__ready`)))) {
    if (child.exitCode !== null) throw failed();
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`next start did not answer within 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
