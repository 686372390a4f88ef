import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The fuzz suite (run from the project root): one file, one stack of its own,
// its properties one after another (see tests/fuzz/fuzz.test.ts).
const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  test: {
    name: 'fuzz',
    root,
    include: ['tests/fuzz/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    hookTimeout: 180_000,
  },
});
