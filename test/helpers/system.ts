/**
 * Which of the machine's programs the e2e suites need are present. A suite whose program is
 * missing is skipped with the reason printed, so `npm test` runs everything it can on a machine
 * without root or Debian; under CI=true nothing is skipped, and a missing program fails its suite.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe } from 'vitest';

export type SystemTool = 'nginx' | 'apache' | 'lighttpd' | 'caddy' | 'chromium';

const XSENDFILE_MODULE = '/usr/lib/apache2/modules/mod_xsendfile.so';
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A program's full path: the daemons live in sbin, which a non-login PATH may lack. */
export function resolveBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path)) ?? name;
}

const hasBinary = (name: string): boolean => resolveBinary(name) !== name;

/** Why `tool` cannot run here, or `undefined` when it can. */
export function missingReason(tool: SystemTool): string | undefined {
  switch (tool) {
    case 'nginx':
    case 'lighttpd':
    case 'caddy':
      return hasBinary(tool) ? undefined : `${tool} is not installed`;
    case 'apache':
      if (!hasBinary('apache2')) return 'apache2 is not installed';
      return existsSync(XSENDFILE_MODULE) ? undefined : `mod_xsendfile is not installed (${XSENDFILE_MODULE})`;
    case 'chromium':
      return existsSync(CHROMIUM_PATH) ? undefined : `Chromium is not installed (${CHROMIUM_PATH})`;
  }
}

const warned = new Set<SystemTool>();

/**
 * `describe` when every tool is present (always under CI=true, where a missing tool must fail),
 * else a `describe.skip`, after printing once per tool why and how to get it.
 * @example describeWith(['nginx'])('behind nginx', () => { ... })
 */
export function describeWith(tools: readonly SystemTool[]): typeof describe {
  if (process.env.CI === 'true') return describe;
  const missing = tools.filter((tool) => missingReason(tool) !== undefined);
  for (const tool of missing) {
    if (warned.has(tool)) continue;
    warned.add(tool);
    console.warn(`[skipped] suites that need ${tool}: ${missingReason(tool)} (install with: sudo bash scripts/install-system-deps.sh)`);
  }
  return describe.skipIf(missing.length > 0) as typeof describe;
}

/**
 * `describe.each(PROXY_KINDS)` where each proxy's suite runs only when that proxy is installed
 * (see {@link describeWith}); `%s` in the title is the proxy's name.
 * @example describeEachProxy(PROXY_KINDS)('behind %s', (kind) => { ... })
 */
export function describeEachProxy<Kind extends SystemTool>(kinds: readonly Kind[]) {
  return (title: string, suite: (kind: Kind) => void): void => {
    for (const kind of kinds) describeWith([kind])(title.replace('%s', kind), () => suite(kind));
  };
}
