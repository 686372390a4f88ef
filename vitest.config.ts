import { defineConfig } from 'vitest/config';
import { testTags } from './tests/expected-skips.ts';

// Two projects:
//   e2e     the end-to-end suites. They share one emulator stack started by the
//           global setup; suites that need a stack of their own (e.g. to restart
//           Postgres) start it. Tests tagged for an expected skip are skipped
//           when their tag says so (tests/expected-skips.ts).
//   runner  unit tests of how `npm test` judges the suites (tests/runner).
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/e2e/global-setup.ts'],
          tags: testTags(process.env),
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'runner',
          include: ['tests/runner/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000, // a PostgreSQL cluster starts for the pg_prove cases
        },
      },
    ],
  },
});
