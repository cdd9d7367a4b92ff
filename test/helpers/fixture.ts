/**
 * The apps the e2e suites run, installed the way a user's app meets the library: the checkout is
 * packed (`npm pack`), each app is copied outside the repository, installs that tarball with
 * Next and React, and is built there (scripts/consumer-app.mjs). Packed once and installed once
 * per content, then shared by every e2e file.
 */
import path from 'node:path';
import { installApp } from '../../scripts/consumer-app.mjs';
import { registerInstalledApp, repositoryRoot } from './next-server.js';

export const fixtureApp = path.join(repositoryRoot, 'test/fixtures/app');
export const exampleApp = path.join(repositoryRoot, 'example-app');

/**
 * The Next major the e2e suites run against: the repository's `next` (16) unless the vitest
 * project sets DOWNLOADVIEW_TEST_NEXT (the `e2e-next15` project runs core and Content-Length
 * suites again on Next 15).
 */
export const nextMajor = Number(process.env.DOWNLOADVIEW_TEST_NEXT || 16);

/**
 * Install and build `appDir` (a folder of this repository) as a consumer of the packed library,
 * on {@link nextMajor}; returns the installed directory. `startNext(appDir)` then starts that
 * installed copy, so callers may pass either directory.
 */
export async function ensureBuilt(appDir: string): Promise<string> {
  const installed = await installApp(appDir, { nextMajor });
  registerInstalledApp(appDir, installed.dir);
  return installed.dir;
}
