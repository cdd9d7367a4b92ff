import { defineConfig } from 'vitest/config';

// One config, four projects: pure units, in-process handler calls, the setup scripts, and
// end-to-end runs against real servers (`next start`, proxies, upstreams) on 127.0.0.1.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'handler', include: ['test/handler/**/*.test.ts'] } },
      // The setup scripts npm test runs, on a machine with services of its own.
      { extends: true, test: { name: 'scripts', include: ['test/scripts/**/*.test.ts'], testTimeout: 600_000 } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Each e2e file starts its own servers; running them one after another in one fork keeps
          // the 2-core CI machine from timing out and keeps fd/RSS measurements meaningful.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
