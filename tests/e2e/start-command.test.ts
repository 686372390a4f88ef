// `npm start` as a user runs it: it prints the URL and keys, serves the APIs,
// and on SIGTERM or Ctrl-C (SIGINT) stops leaving no PostgreSQL or Deno behind.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { freePort, PROJECT_DIR } from '../../emulator/stack.ts';
import { waitFor } from './realtime-support.ts';
import { emulatorOnly } from './support.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'start-command-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Every process descended from `root`, read from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(root);
  return found;
}

const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

async function start(): Promise<{
  child: ChildProcess;
  output: () => string;
  apiUrl: string;
  anonKey: string;
}> {
  const [port, dbPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: PROJECT_DIR,
    env: { ...process.env, PORT: String(port), EMULATOR_DB_PORT: String(dbPort), EMULATOR_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const banner = await waitFor(
    () => (/anon key: (\S+)/.exec(output) ? output : undefined),
    'the start banner',
    90_000,
  );
  return {
    child,
    output: () => output,
    apiUrl: /API URL: (\S+)/.exec(banner)?.[1] as string,
    anonKey: /anon key: (\S+)/.exec(banner)?.[1] as string,
  };
}

async function stopWith(signal: NodeJS.Signals, child: ChildProcess) {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

emulatorOnly.it(
  'prints the URLs and keys, serves, and leaves nothing running after SIGTERM and after Ctrl-C',
  async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const { child, output, apiUrl, anonKey } = await start();
      expect(output()).toMatch(/DB URL: postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres/);
      expect(output()).toMatch(/service_role key: \S+/);
      const health = await fetch(`${apiUrl}/auth/v1/settings`, { headers: { apikey: anonKey } });
      expect(health.status).toBe(200);
      const children = descendants(child.pid as number);
      const commands = children.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      expect(commands.some((command) => command.includes('postgres'))).toBe(true);
      expect(commands.some((command) => command.includes('deno'))).toBe(true);

      expect(await stopWith(signal, child)).toBe(0);
      await waitFor(() => (children.some(alive) ? undefined : true), 'every child process to exit', 10_000);
      expect(output()).toContain('stopped');
    }
  },
);
