// The library API: a stack started in-process keeps its data in the folder it
// is given, comes back with the same users and keys, and stop() leaves no
// process behind.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startStack } from '../../emulator/stack.ts';
import { createStackClient } from '../../emulator/testing.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'stack-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Whether a process exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

it('keeps users and keys across a restart on the same data folder, and stops cleanly', {
  tags: ['emulator-only'],
}, async () => {
  const first = await startStack({ port: 0, dbPort: 0, dataDir, quiet: true });
  const user = await first.createUser({ password: 'survives-restart' });
  const firstKeys = [first.anonKey, first.serviceRoleKey];
  const pids = first.processIds();
  expect(pids.length).toBe(2); // PostgreSQL and Deno
  expect(pids.every(alive)).toBe(true);
  await first.stop();
  expect(pids.some(alive)).toBe(false);

  const second = await startStack({ port: 0, dbPort: 0, dataDir, quiet: true });
  try {
    expect([second.anonKey, second.serviceRoleKey]).toEqual(firstKeys);
    const { data, error } = await createStackClient(second).auth.signInWithPassword({
      email: user.email,
      password: 'survives-restart',
    });
    expect(error).toBeNull();
    expect(data.user?.id).toBe(user.id);
  } finally {
    await second.stop();
  }
  expect(second.processIds()).toEqual([]);
});
