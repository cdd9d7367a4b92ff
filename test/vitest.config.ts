import { defineConfig } from 'vitest/config';

// One config, three projects: pure units, in-process handler calls, and end-to-end runs against
// real servers (`next start`, proxies, upstreams) on 127.0.0.1.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'handler', include: ['test/handler/**/*.test.ts'] } },
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
