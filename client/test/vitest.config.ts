import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The client library's suites (run from the project root):
//   client      unit and property tests, on a fake clock and the in-memory model (no stack)
//   client-e2e  integration tests with the real supabase-js against a throwaway emulator stack
const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  test: {
    root,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'client', include: ['client/test/unit/**/*.test.{ts,tsx}'], testTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'client-e2e',
          include: ['client/test/integration/**/*.test.ts'],
          globalSetup: ['tests/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
