/**
 * Suites that need a program of the machine: skipped with the reason printed when it is missing,
 * so `npm test` runs everything it can on a machine without root or Debian; under CI=true nothing
 * is skipped, and a missing program fails its suite.
 */
import { describe } from 'vitest';
import { missingReason, type SystemTool } from './system.js';

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
