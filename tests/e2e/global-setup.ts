// Starts one emulator stack (temporary data, free ports) for every e2e suite,
// or, when SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY and
// SUPABASE_DB_URL are all set, points the suites at that project instead.

import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { type Stack, startStack } from '../../emulator/stack.ts';
import { targetsRealProject } from '../expected-skips.ts';

export interface SharedStack {
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  dbUrl: string;
  dbAdminUrl: string | undefined;
  /** Holds signing-key.json, for tests that mint expired or forged tokens. */
  dataDir: string | undefined;
  /** True when the suites run against a real Supabase project, not the emulator. */
  remote: boolean;
  /** The secret the twilio-webhook function checks signatures with (undefined: not configured). */
  twilioAuthToken: string | undefined;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: SharedStack;
  }
}

let stack: Stack | undefined;

export async function setup(project: TestProject) {
  const wantedNode = process.env.E2E_NODE_MAJOR;
  if (wantedNode && process.versions.node.split('.')[0] !== wantedNode) {
    throw new Error(`the e2e suites were to run on Node.js ${wantedNode}, not ${process.version}`);
  }
  const { SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_DB_URL } = process.env;
  if (targetsRealProject(process.env)) {
    project.provide('stack', {
      url: SUPABASE_URL as string,
      anonKey: SUPABASE_ANON_KEY as string,
      serviceRoleKey: SUPABASE_SERVICE_ROLE_KEY as string,
      dbUrl: SUPABASE_DB_URL as string,
      dbAdminUrl: undefined,
      dataDir: undefined,
      remote: true,
      twilioAuthToken: process.env.TWILIO_AUTH_TOKEN,
    });
    return;
  }
  const twilioAuthToken = randomBytes(16).toString('hex');
  stack = await startStack({
    port: 0,
    dbPort: 0,
    quiet: true,
    functionSecrets: { TWILIO_AUTH_TOKEN: twilioAuthToken },
    // Every suite's requests come from 127.0.0.1: the per-address limits would count them as one
    // client (auth-limits and realtime-fairness test those limits on stacks of their own).
    authRateLimits: false,
    realtime: { maxConnectionsPerClient: 1000, maxAnonymousConnections: 1000 },
  });
  project.provide('stack', {
    remote: false,
    twilioAuthToken,
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
