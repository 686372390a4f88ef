// `npm start` as a user runs it: it prints what they need (URLs, keys, where the
// data lives, how to stop), serves the APIs, and stops everything it started —
// PostgreSQL, Deno, both ports — on SIGTERM or SIGINT sent to npm's PID (what a
// process manager does), to the node process, or to the whole process group
// (Ctrl-C in a terminal).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, PROJECT_DIR } from '../../emulator/stack.ts';
import { waitFor } from './realtime-support.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'start-command-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Generous bounds for a busy machine: start-up, and everything going away after a signal. */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

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

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

/** Whether nothing listens on `port` any more (we can bind it ourselves). */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

interface Started {
  npm: ChildProcess;
  output: () => string;
  ports: number[];
  apiUrl: string;
  anonKey: string;
}

/** `npm start` in a process group of its own, as a terminal or a process manager runs it. */
async function npmStart(): Promise<Started> {
  const ports = [await freePort(), await freePort()];
  const npm = spawn('npm', ['start'], {
    cwd: PROJECT_DIR,
    detached: true,
    env: {
      ...process.env,
      PORT: String(ports[0]),
      EMULATOR_DB_PORT: String(ports[1]),
      EMULATOR_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  npm.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const banner = await waitFor(
    () => (/^Stop: /m.test(output) ? output : undefined),
    'the start banner',
    START_TIMEOUT_MS,
  );
  return {
    npm,
    output: () => output,
    ports,
    apiUrl: /API URL: (\S+)/.exec(banner)?.[1] as string,
    anonKey: /anon key: (\S+)/.exec(banner)?.[1] as string,
  };
}

const targets = {
  "npm's PID": (started: Started) => started.npm.pid as number,
  'the node process': (started: Started) => {
    const node = descendants(started.npm.pid as number).find((pid) =>
      commandLine(pid).includes('scripts/start.ts'),
    );
    if (!node) throw new Error(`no node process runs scripts/start.ts under npm:\n${started.output()}`);
    return node;
  },
  'the process group': (started: Started) => -(started.npm.pid as number),
};

it('prints the URLs, keys, where the data lives and how to stop, and serves the APIs and the demo app', {
  tags: ['emulator-only'],
  timeout: START_TIMEOUT_MS + STOP_TIMEOUT_MS,
}, async () => {
  const started = await npmStart();
  try {
    const output = started.output();
    expect(output).toMatch(/DB URL: postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres/);
    expect(output).toMatch(/service_role key: \S+/);
    expect(output).toContain(`Data: ${dataDir} (the database and the signing key`);
    expect(output).toContain('Stop: Ctrl-C, or SIGTERM');
    expect(output).not.toMatch(/pgTAP/i); // test plumbing belongs to npm test
    const health = await fetch(`${started.apiUrl}/auth/v1/settings`, {
      headers: { apikey: started.anonKey },
    });
    expect(health.status).toBe(200);
    // The demo app, built by npm start, at /, with this stack's settings beside it.
    expect(output).toContain(`Demo app: ${started.apiUrl}/`);
    const page = await fetch(`${started.apiUrl}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<div id="root"></div>');
    const config = await (await fetch(`${started.apiUrl}/supabase-config.json`)).json();
    expect(config).toEqual({ url: started.apiUrl, anonKey: started.anonKey });
  } finally {
    process.kill(-(started.npm.pid as number), 'SIGTERM');
    await waitFor(() => (started.npm.exitCode === null ? undefined : true), 'npm to exit', STOP_TIMEOUT_MS);
  }
});

describe.each(Object.entries(targets))('stopping with a signal to %s', (_name, target) => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s stops PostgreSQL, Deno and node, and frees both ports',
    { tags: ['emulator-only'], timeout: START_TIMEOUT_MS + 2 * STOP_TIMEOUT_MS },
    async (signal) => {
      const started = await npmStart();
      const npmPid = started.npm.pid as number;
      const processes = [npmPid, ...descendants(npmPid)];
      const commands = processes.map(commandLine);
      expect(commands.some((command) => command.includes('postgres -D'))).toBe(true);
      expect(commands.some((command) => command.includes('deno'))).toBe(true);
      const npmExit = new Promise<number | null>((resolve) =>
        started.npm.once('exit', (code) => resolve(code)),
      );

      process.kill(target(started), signal);

      // Bounded waits (the machine may be busy), then the assertions name what is left.
      const gone = () => (processes.some(alive) ? undefined : true);
      await waitFor(gone, 'every process of npm start to exit', STOP_TIMEOUT_MS).catch(() => undefined);
      expect(processes.filter(alive).map(commandLine)).toEqual([]);
      const free = async () =>
        (await Promise.all(started.ports.map(portIsFree))).every(Boolean) ? true : undefined;
      await waitFor(free, 'both ports to be free', STOP_TIMEOUT_MS).catch(() => undefined);
      expect(await Promise.all(started.ports.map(portIsFree))).toEqual([true, true]);
      expect(await npmExit).toBe(0);
      expect(started.output()).toMatch(new RegExp(`${signal} received, stopping[\\s\\S]*\\bstopped\\b`));
    },
  );
});
