import { defineConfig } from 'vitest/config';

// One config, six projects: pure units, in-process handler calls, the setup scripts, the packed
// tarball, and end-to-end runs against real servers (`next start` on Next 16, then on Next 15,
// proxies, upstreams) on 127.0.0.1. The e2e apps install the packed tarball (scripts/consumer-app.mjs).
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'handler', include: ['test/handler/**/*.test.ts'] } },
      // The setup scripts npm test runs, on a machine with services of its own.
      { extends: true, test: { name: 'scripts', include: ['test/scripts/**/*.test.ts'], testTimeout: 600_000 } },
      // The packed tarball (npm pack, publint, attw): needs no server.
      { extends: true, test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 600_000 } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 120_000,
          // The first file to need an app packs the library, installs and builds it (minutes on a
          // busy 2-core machine); the others reuse it.
          hookTimeout: 900_000,
          // Each e2e file starts its own servers; running them one after another in one fork keeps
          // the 2-core CI machine from timing out and keeps fd/RSS measurements meaningful.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        // The same suites on Next 15 (the `next-15` devDependency): the apps are installed with it
        // (middleware.ts instead of proxy.ts) and the suites branch on `nextMajor` where Next 15
        // behaves differently. Runs after the other projects, so the two e2e runs never share the cores.
        extends: true,
        test: {
          name: 'e2e-next15',
          include: [
            'test/e2e/core.test.ts', 'test/e2e/content-length.test.ts', 'test/e2e/tarball-consumer.test.ts', 'test/e2e/next-versions.test.ts',
            'test/e2e/hostile-inputs.test.ts', 'test/e2e/http-properties.test.ts', 'test/e2e/signed-tampering.test.ts',
          ],
          env: { DOWNLOADVIEW_TEST_NEXT: '15' },
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 900_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
