/**
 * scripts/install-system-deps.sh, which `npm test` runs first, on a machine that has services of
 * its own: it must leave them exactly as they were (running, enabled), and on a machine where it
 * cannot install it must let the tests run what they can (failing only under CI=true).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../helpers/next-server.js';
import { resolveBinary } from '../helpers/system.js';

const script = path.join(repositoryRoot, 'scripts/install-system-deps.sh');
const isRoot = process.getuid?.() === 0;
const SERVICES = ['nginx', 'apache2', 'lighttpd', 'caddy'];

function runScript(env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const result = spawnSync('bash', [script], { env, encoding: 'utf8', timeout: 600_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** What decides whether the machine's services start at boot: SysV rc links and systemd wants links. */
function bootState(): string[] {
  const entries: string[] = [];
  for (const dir of ['/etc/rc0.d', '/etc/rc1.d', '/etc/rc2.d', '/etc/rc3.d', '/etc/rc4.d', '/etc/rc5.d', '/etc/rc6.d', '/etc/systemd/system/multi-user.target.wants']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (SERVICES.some((service) => name.includes(service))) entries.push(`${dir}/${name}`);
  }
  return entries.sort();
}

const portIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

const get = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    request(url, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Writing /run/nginx.pid and listening on port 80 need root, which CI has.
const canStageService = isRoot || process.env.CI === 'true';

describe.skipIf(!canStageService)('install-system-deps.sh with the machine’s own nginx running', () => {
  const pidFile = '/run/nginx.pid';
  let staged: { dir: string; pid: number } | undefined;
  let pid: number;
  let answers: (() => Promise<string>) | undefined;

  beforeAll(async () => {
    if (existsSync(pidFile) && alive(Number(readFileSync(pidFile, 'utf8')))) {
      // A real service runs here already: it is the one that must survive, and we leave it be.
      pid = Number(readFileSync(pidFile, 'utf8'));
      return;
    }
    // Stage what a packaged service looks like to the script: an nginx master with the packaged
    // pid file, on the packaged port 80.
    expect(await portIsFree(80), 'port 80 must be free to stage a packaged nginx').toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), 'dv-own-nginx-'));
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      `pid ${pidFile};\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n  server { listen 127.0.0.1:80; location / { return 200 "the machine's own site\\n"; } }\n}\n`,
    );
    const started = spawnSync(resolveBinary('nginx'), ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`], { encoding: 'utf8' });
    expect(started.status, started.stderr).toBe(0);
    pid = Number(readFileSync(pidFile, 'utf8'));
    staged = { dir, pid };
    answers = () => get('http://127.0.0.1:80/');
    expect(await answers()).toBe("the machine's own site\n");
  });

  afterAll(() => {
    if (!staged) return;
    spawnSync(resolveBinary('nginx'), ['-p', staged.dir, '-c', `${staged.dir}/nginx.conf`, '-s', 'quit']);
    for (let i = 0; i < 50 && alive(staged.pid); i += 1) spawnSync('sleep', ['0.1']);
    if (alive(staged.pid)) process.kill(staged.pid, 'SIGKILL');
    rmSync(pidFile, { force: true });
    rmSync(staged.dir, { recursive: true, force: true });
  });

  it('leaves it running, its pid file and every service’s boot links as they were', async () => {
    const bootBefore = bootState();
    const policyBefore = existsSync('/usr/sbin/policy-rc.d');
    const result = runScript({ ...process.env });
    expect(result.status, result.output).toBe(0);
    expect(alive(pid), 'the running nginx was stopped').toBe(true);
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(pid);
    if (answers) expect(await answers()).toBe("the machine's own site\n");
    expect(bootState()).toEqual(bootBefore);
    expect(existsSync('/usr/sbin/policy-rc.d')).toBe(policyBefore);
  });
});

describe('install-system-deps.sh where programs are missing and nothing can be installed', () => {
  let bin: string;
  // A PATH holding only what the script itself needs: caddy, chromium, wrk and curl (in /usr/bin)
  // are then missing, and apt-get cannot be found, as on a machine that is not Debian.
  beforeAll(() => {
    bin = mkdtempSync(path.join(tmpdir(), 'dv-bare-path-'));
    for (const tool of ['bash', 'id', 'head', 'cat']) symlinkSync(resolveBinary(tool), path.join(bin, tool));
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('names what is missing and which suites will be skipped, and lets the tests run', () => {
    const result = runScript({ PATH: bin, CI: '' });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/caddy \(Debian package caddy\): e2e suites behind Caddy/);
    expect(result.output).toMatch(/chromium \(Debian package chromium\): browser tests/);
    expect(result.output).toContain('sudo bash scripts/install-system-deps.sh');
    expect(result.output).not.toMatch(/installing with apt-get/);
  });

  it('fails under CI=true, where every suite must run', () => {
    const result = runScript({ PATH: bin, CI: 'true' });
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/CI=true, where every suite must run: failing/);
  });
});
