// Shared Next.js configuration for every app in this repository: the example app, the test
// fixture apps and the benchmark apps all build from it, so they run the library the same way.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = path.dirname(fileURLToPath(import.meta.url));

/**
 * @param {import('next').NextConfig} [overrides]
 * @returns {import('next').NextConfig}
 */
export function appConfig(overrides = {}) {
  return {
    // The apps import `next-downloadview` from this repository's dist/ (package self-reference),
    // which lies outside their own folder: Turbopack and file tracing must start at the root.
    turbopack: { root: repositoryRoot },
    outputFileTracingRoot: repositoryRoot,
    ...overrides,
  };
}

export default appConfig();
