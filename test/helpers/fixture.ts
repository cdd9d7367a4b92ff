/** Build the library and the fixture app once per change, shared by every e2e file. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildApp, repositoryRoot } from './next-server.js';

export const fixtureApp = path.join(repositoryRoot, 'test/fixtures/app');
export const exampleApp = path.join(repositoryRoot, 'example-app');

/** Newest modification time of the files under `dir` (skipping build output). */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '.next' || entry.name === 'node_modules' || entry.name === 'media' || entry.name === '.data') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** `tsc` to dist/ when src/ changed since (the apps import the package through its exports map). */
export function ensureLibraryBuilt(): void {
  const sourcesChanged = newestUnder(path.join(repositoryRoot, 'src'));
  const distIndex = path.join(repositoryRoot, 'dist/index.js');
  if (!existsSync(distIndex) || statSync(distIndex).mtimeMs < sourcesChanged) {
    execFileSync(process.execPath, [path.join(repositoryRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repositoryRoot, 'tsconfig.json')], { stdio: 'inherit' });
  }
}

/** The library (ensureLibraryBuilt), then `next build` of `appDir` if stale. */
export async function ensureBuilt(appDir: string): Promise<void> {
  ensureLibraryBuilt();
  const buildId = path.join(appDir, '.next/BUILD_ID');
  const inputs = Math.max(newestUnder(appDir), newestUnder(path.join(repositoryRoot, 'dist')), statSync(path.join(repositoryRoot, 'next.config.mjs')).mtimeMs);
  if (!existsSync(buildId) || statSync(buildId).mtimeMs < inputs) await buildApp(appDir);
}
