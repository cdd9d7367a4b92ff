/**
 * The proxy-app fixture as Next 16 runs it on the edge runtime: a copy with middleware.ts (and a
 * `middleware` export) in place of proxy.ts. Shared by the suites that run downloadProxy on both runtimes.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repositoryRoot } from './next-server.js';

export const proxyApp = path.join(repositoryRoot, 'test/fixtures/proxy-app');
export const edgeProxyApp = path.join(repositoryRoot, 'test/.tmp/proxy-app-edge');

/**
 * Write (or refresh) the edge copy of the proxy-app and return its folder; files are rewritten only
 * when they differ, so the installed app's content key, and its build, stay the same.
 */
export function writeEdgeCopy(): string {
  const copy = (from: string, to: string): void => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      if (entry.name === '.next' || entry.name === 'next-env.d.ts') continue;
      if (entry.isDirectory()) copy(path.join(from, entry.name), path.join(to, entry.name));
      else if (entry.name === 'proxy.ts') writeIfChanged(path.join(to, 'middleware.ts'), readFileSync(path.join(from, entry.name), 'utf8').replace('export const proxy =', 'export const middleware ='));
      else writeIfChanged(path.join(to, entry.name), readFileSync(path.join(from, entry.name), 'utf8'));
    }
  };
  copy(proxyApp, edgeProxyApp);
  rmSync(path.join(edgeProxyApp, 'proxy.ts'), { force: true });
  return edgeProxyApp;
}

function writeIfChanged(file: string, text: string): void {
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== text) writeFileSync(file, text);
}
