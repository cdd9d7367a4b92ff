/**
 * Which of the machine's programs the e2e suites need are present (no vitest import: the example
 * scripts use these helpers too). suites.ts turns a missing one into a skipped suite.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

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
