// Starts one emulator stack (temporary data, free ports) for every e2e suite,
// or uses the one described by E2E_STACK_URL & co. when given.

import type { TestProject } from 'vitest/node';
import { type Stack, startStack } from '../../emulator/stack.ts';

export interface SharedStack {
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  dbUrl: string;
  dbAdminUrl: string | undefined;
  /** Holds signing-key.json, for tests that mint expired or forged tokens. */
  dataDir: string | undefined;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: SharedStack;
  }
}

let stack: Stack | undefined;

export async function setup(project: TestProject) {
  stack = await startStack({ port: 0, dbPort: 0, quiet: true });
  project.provide('stack', {
    url: stack.url,
    anonKey: stack.anonKey,
    serviceRoleKey: stack.serviceRoleKey,
    dbUrl: stack.dbUrl,
    dbAdminUrl: stack.dbAdminUrl,
    dataDir: stack.dataDir,
  });
}

export async function teardown() {
  await stack?.stop();
}
