/**
 * Global setup of the e2e projects: pack the library and install the fixture app (the app most
 * e2e files start) for the project's Next major before any test file runs, so no file's
 * `beforeAll` has to fit a cold `npm pack` + `npm ci` + `next build` into its timeout. Files call
 * `ensureBuilt()` as before and find it ready; other apps install on first use.
 */
import type { TestProject } from 'vitest/node';
import { installApp } from '../../scripts/consumer-app.mjs';
import { fixtureApp } from './fixture.js';

export default async function setup(project: TestProject): Promise<void> {
  const nextMajor = Number(project.config.env?.DOWNLOADVIEW_TEST_NEXT || 16);
  const started = Date.now();
  const app = await installApp(fixtureApp, { nextMajor });
  console.log(`[global-setup] ${project.name}: fixture app on Next ${app.nextVersion} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${app.dir})`);
}
