import { defineConfig } from 'vitest/config';

// The demo in a real Chromium. One stack serving the built app for every file;
// files run one after another (each drives several browser contexts on 2 cores).
export default defineConfig({
  test: {
    name: 'browser',
    root: new URL('../..', import.meta.url).pathname,
    include: ['tests/browser/**/*.test.ts'],
    globalSetup: ['tests/browser/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    // Conditions, not clocks: wait generously for what the screen must come to show.
    expect: { poll: { timeout: 30_000, interval: 100 } },
  },
});
