// Builds the demo (when its sources changed) and starts one stack serving it.

import { networkInterfaces } from 'node:os';
import type { TestProject } from 'vitest/node';
import { type Stack, startStack } from '../../emulator/stack.ts';
import { buildDemo, DEMO_BUILD_DIR } from '../../scripts/build-demo.ts';

export interface BrowserStack {
  url: string;
  anonKey: string;
  dbUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    browserStack: BrowserStack;
  }
}

let stack: Stack | undefined;

export async function setup(project: TestProject) {
  // WebRTC between the two users would otherwise pair the machine's other addresses
  // (it offers none on IPv6 link-local ones).
  const outside = Object.entries(networkInterfaces()).filter(([, addresses]) =>
    addresses?.some((address) => !address.internal && !address.address.startsWith('fe80:')),
  );
  if (outside.length > 0) {
    throw new Error(
      `the browser tests need a network with only loopback, but ${outside.map(([name]) => name).join(', ')} is up: ` +
        'run them with `npm test -- browser`, which gives them a network namespace of their own',
    );
  }
  await buildDemo();
  stack = await startStack({
    port: 0,
    dbPort: 0,
    quiet: true,
    authRateLimits: false, // every person in these tests signs up from 127.0.0.1
    site: { root: DEMO_BUILD_DIR, buildHint: 'The browser tests build the demo first; did the build fail?' },
  });
  project.provide('browserStack', { url: stack.url, anonKey: stack.anonKey, dbUrl: stack.dbUrl });
}

export async function teardown() {
  await stack?.stop();
}
