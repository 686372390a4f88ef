import { defineConfig } from 'vitest/config';

// End-to-end suites share one emulator stack started by the global setup;
// suites that need a stack of their own (e.g. to restart Postgres) start it.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    globalSetup: ['tests/e2e/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
