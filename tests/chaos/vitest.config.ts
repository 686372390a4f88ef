import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The chaos suite (run from the project root): one file, one stack of its own,
// its checks after one seeded run.
const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  test: {
    name: 'chaos',
    root,
    include: ['tests/chaos/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    hookTimeout: 600_000,
    testTimeout: 600_000,
  },
});
