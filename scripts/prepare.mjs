// npm's `prepare` script: builds dist/ before `npm pack` and `npm publish`, for installs from git
// (npm runs only `prepare` there), and after the repository's own `npm ci`/`npm install`.
// On a fresh clone with nothing installed (`git clone … && npm pack`), TypeScript is missing:
// install the locked devDependencies first, with --ignore-scripts so this script does not run
// again inside that install.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** @param {string[]} args */
const run = (args) => execFileSync(npm, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

if (!existsSync(path.join(root, 'node_modules/typescript/bin/tsc'))) {
  console.error('prepare: no node_modules here; installing the locked devDependencies to build dist/');
  run(['ci', '--ignore-scripts', '--no-audit', '--no-fund']);
}
run(['run', 'build']);
