// The emulator's functions host with `watch` on (as `npm start` runs it): when a
// function's source changes, Deno restarts and the new code answers. It runs on a
// project of its own, one function in a temporary folder, so that the test may
// rewrite that function.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startFunctions } from '../../emulator/functions/service.ts';
import { startGateway } from '../../emulator/gateway.ts';
import { loadKeys } from '../../emulator/keys.ts';
import type { Logger } from '../../emulator/log.ts';
import { PROJECT_DIR } from '../../emulator/stack.ts';
import { waitFor } from './realtime-support.ts';

const projectDir = mkdtempSync(path.join(tmpdir(), 'functions-host-'));
afterAll(() => rmSync(projectDir, { recursive: true, force: true }));

it('restarts Deno when a function changes, and serves the new code', {
  tags: ['emulator-only'],
}, async () => {
  // The host, Deno and its configuration come from this checkout; the function is the project's own.
  symlinkSync(path.join(PROJECT_DIR, 'emulator'), path.join(projectDir, 'emulator'));
  symlinkSync(path.join(PROJECT_DIR, 'node_modules'), path.join(projectDir, 'node_modules'));
  copyFileSync(path.join(PROJECT_DIR, 'deno.json'), path.join(projectDir, 'deno.json'));
  const source = path.join(projectDir, 'functions', 'version', 'index.ts');
  mkdirSync(path.dirname(source), { recursive: true });
  const release = (version: number) =>
    writeFileSync(source, `export default { fetch: () => Response.json({ version: ${version} }) };\n`);
  release(1);

  const keys = await loadKeys();
  // Requests that reach Deno while it restarts fail and would be logged as errors: not printed.
  const ignore = () => undefined;
  const log: Logger = { info: ignore, warn: ignore, error: ignore, child: () => log };
  const functions = await startFunctions({
    projectDir,
    functions: [{ name: 'version', entrypoint: source, verifyJwt: false }],
    keys,
    env: {
      SUPABASE_URL: 'http://127.0.0.1:9',
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_DB_URL: 'postgresql://127.0.0.1:9/postgres',
    },
    watch: true,
    log,
  });
  const gateway = await startGateway({ port: 0, keys, log });
  try {
    gateway.setRoutes([
      { prefix: '/functions/v1', handleNode: functions.handleNode, requiresApiKey: false, bodyLimit: 1024 },
    ]);
    /** The version that answers, or undefined while Deno restarts. */
    const served = async () => {
      const response = await fetch(`${gateway.url}/functions/v1/version`).catch(() => undefined);
      return response?.status === 200 ? ((await response.json()) as { version: number }).version : undefined;
    };
    expect(await served()).toBe(1);
    const pid = functions.pid;

    release(2);
    await waitFor(async () => ((await served()) === 2 ? true : undefined), 'version 2 to answer');
    expect(functions.pid).toBe(pid); // the same host process, its program restarted by Deno
  } finally {
    await gateway.close();
    await functions.stop();
  }
});
