// The whole local stack in one call: database, auth, rest, realtime and
// functions behind one gateway. `npm start` and the test suites
// both use this.

import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuthService, startAuth } from './auth/service.ts';
import { type AuthRateLimits, listFunctions, loadProjectConfig } from './config.ts';
import { type FunctionsService, startFunctions } from './functions/service.ts';
import { startGateway } from './gateway.ts';
import { type Keys, loadKeys } from './keys.ts';
import { createLogger, type Logger, quietLogger } from './log.ts';
import { startBackgroundWorkers } from './postgres/background-workers.ts';
import type { ShutdownMode } from './postgres/cluster.ts';
import { type Database, openDatabase } from './postgres/database.ts';
import { type RealtimeLimits, type RealtimeService, startRealtime } from './realtime/index.ts';
import { type RestService, startRest } from './rest/service.ts';
import { type StaticSiteOptions, staticSite } from './static-site.ts';
import type { TestUser } from './testing.ts';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface StackOptions {
  projectDir?: string;
  /** API port; 0 picks a free one. Default: [api] port of config.toml (54321). */
  port?: number;
  /** Database port for a cluster of our own; 0 picks a free one. Default: [db] port (54322). */
  dbPort?: number;
  /** Where the cluster's data and the signing key live. Omit for a temporary folder removed on stop. */
  dataDir?: string;
  /** Use an existing database instead of a cluster of our own. */
  dbUrl?: string;
  dbAdminUrl?: string;
  /** PostgreSQL bin folder for our own cluster (default: embedded PostgreSQL 17). */
  pgBinDir?: string;
  /** Serve Edge Functions (default true). */
  functions?: boolean;
  /** Restart functions when their source changes. */
  watchFunctions?: boolean;
  /** Extra environment for functions (secrets). */
  functionSecrets?: Record<string, string>;
  /**
   * Auth's per-address rate limits, over those of [auth.rate_limit] in config.toml; `false`
   * limits nothing (as the Supabase CLI's local Auth). Test suites, whose every request comes
   * from 127.0.0.1, turn them off or down.
   */
  authRateLimits?: Partial<AuthRateLimits> | false;
  /** Realtime limits, when not the platform's defaults (channels per socket, payload size…). */
  realtime?: Partial<RealtimeLimits>;
  /** A built front end served at `/` (outside the API prefixes), e.g. the demo app. */
  site?: Omit<StaticSiteOptions, 'anonKey'>;
  log?: Logger;
  quiet?: boolean;
}

export interface Stack {
  readonly url: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  /** postgresql:// URL of the database as the `postgres` role. */
  readonly dbUrl: string;
  /** As the cluster's superuser, when known. */
  readonly dbAdminUrl: string | undefined;
  readonly dataDir: string | undefined;
  readonly keys: Keys;
  readonly database: Database;
  /** The Realtime service running now (a new one after `faults.restartRealtime()`). */
  readonly realtime: RealtimeService;
  readonly functionNames: string[];
  /** Faults for tests to inject: what a restart or crash on the platform would do to clients. */
  readonly faults: StackFaults;
  /** Processes the stack runs (PostgreSQL, Deno), for supervision and tests. */
  processIds(): number[];
  /** Signs up a fresh user and returns a supabase-js client signed in as them. */
  createUser(options?: { email?: string; password?: string; displayName?: string }): Promise<TestUser>;
  stop(): Promise<void>;
}

export interface StackFaults {
  /**
   * Restarts PostgreSQL on the same data, `fast` (default) or `immediate` as `pg_ctl stop -m`
   * names them; resolves once it accepts connections again. Only for a cluster of the stack's own.
   */
  restartPostgres(mode?: ShutdownMode): Promise<void>;
  /**
   * Stops the Realtime service and starts a new one, as a deploy (`graceful`: every socket closed
   * with 1001) or a crash (`crash`: cut without a close frame) of the platform's; clients must
   * reconnect and rejoin. `whileDown` runs between the two (e.g. to commit what nobody streams).
   * Resolves once the new one streams database broadcasts.
   */
  restartRealtime(options?: {
    mode?: 'graceful' | 'crash';
    whileDown?: () => Promise<unknown>;
  }): Promise<void>;
  /**
   * Kills the Deno process of Edge Functions (SIGKILL), whatever it is doing; resolves once it has
   * exited. Requests in flight are answered 500 WORKER_ERROR; a fresh process serves the next ones.
   */
  killFunctions(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// Children must not outlive us, even when we exit without stop() (SIGINT: PostgreSQL's
// fast shutdown; Deno exits on it).
const running = new Set<Stack>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const stack of running) {
      for (const pid of stack.processIds()) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          // already gone
        }
      }
    }
  });
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const projectDir = options.projectDir ?? PROJECT_DIR;
  const log = options.log ?? (options.quiet ? quietLogger() : createLogger());
  const config = loadProjectConfig(projectDir);
  const temporary = options.dataDir === undefined && options.dbUrl === undefined;
  const dataDir =
    options.dataDir ?? (temporary ? mkdtempSync(path.join(tmpdir(), 'supabase-emulator-')) : undefined);
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    chmodSync(dataDir, 0o755); // the server runs as the postgres OS user when we are root
  }

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      await step().catch((error: Error) => log.warn(`while stopping: ${error.message}`));
    }
    cleanups.length = 0;
    if (temporary && dataDir) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const keys = await loadKeys(dataDir);
    const dbPort = options.dbPort ?? config.db.port;
    const database = await openDatabase({
      projectDir,
      log: log.child('postgres'),
      url: options.dbUrl,
      adminUrl: options.dbAdminUrl,
      dataDir: dataDir ? path.join(dataDir, 'postgres') : undefined,
      port: dbPort === 0 ? await freePort() : dbPort,
      binDir: options.pgBinDir,
      ephemeral: temporary,
    });
    cleanups.push(() => database.stop());

    const gateway = await startGateway({
      port: options.port ?? config.api.port,
      keys,
      log: log.child('gateway'),
      home: options.site && staticSite({ ...options.site, anonKey: keys.anonKey }),
    });
    cleanups.push(() => gateway.close());

    const auth: AuthService = startAuth({
      dbUrl: database.authUrl,
      keys,
      config: config.auth,
      rateLimits:
        options.authRateLimits === false ? false : { ...config.auth.rate_limit, ...options.authRateLimits },
      publicUrl: () => gateway.url,
      log: log.child('auth'),
    });
    cleanups.push(() => auth.stop());
    const rest: RestService = startRest({
      dbUrl: database.restUrl,
      keys,
      config: config.api,
      log: log.child('rest'),
    });
    cleanups.push(() => rest.stop());
    const startRealtimeService = () =>
      startRealtime({
        keys,
        dbUrl: database.realtimeUrl,
        limits: options.realtime,
        log: log.child('realtime'),
      });
    let realtime = await startRealtimeService();
    cleanups.push(() => realtime.stop());

    let functions: FunctionsService | undefined;
    if (options.functions !== false) {
      functions = await startFunctions({
        projectDir,
        functions: listFunctions(projectDir, config),
        keys,
        env: {
          SUPABASE_URL: gateway.url,
          SUPABASE_ANON_KEY: keys.anonKey,
          SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
          SUPABASE_DB_URL: database.url,
        },
        secrets: options.functionSecrets,
        watch: options.watchFunctions,
        log: log.child('functions'),
      });
      cleanups.push(() => (functions as FunctionsService).stop());
    }

    const MiB = 1024 * 1024;
    gateway.setRoutes([
      {
        prefix: '/auth/v1',
        handle: auth.handle,
        requiresApiKey: true,
        bodyLimit: MiB,
        openPaths: ['/.well-known/jwks.json', '/health'],
      },
      { prefix: '/rest/v1', handle: rest.handle, requiresApiKey: true, bodyLimit: MiB },
      {
        prefix: '/realtime/v1',
        handle: (request) => realtime.handle(request),
        requiresApiKey: true,
        bodyLimit: 8 * MiB,
      },
      {
        prefix: '/functions/v1',
        ...(functions
          ? { handleNode: functions.handleNode }
          : {
              handle: async () =>
                new Response('{"code":"NOT_FOUND","message":"Edge Functions are disabled"}', { status: 404 }),
            }),
        requiresApiKey: false,
        bodyLimit: 20 * MiB,
      },
    ]);

    gateway.setUpgrade('/realtime/v1/websocket', (req, socket, head) =>
      realtime.handleUpgrade(req, socket, head),
    );

    // pg_cron's jobs and pg_net's requests, where the database has our stand-ins of them.
    if (database.adminUrl) {
      const workers = startBackgroundWorkers({
        adminUrl: database.adminUrl,
        log: log.child('pg_cron/pg_net'),
      });
      cleanups.push(() => workers.stop());
    }

    // Keep realtime.messages partitioned as days pass, as the Realtime server does.
    const maintenance = setInterval(() => void database.maintain(), 60 * 60 * 1000);
    maintenance.unref();
    cleanups.push(async () => clearInterval(maintenance));

    const stack: Stack = {
      url: gateway.url,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      dbUrl: database.url,
      dbAdminUrl: database.adminUrl,
      dataDir,
      keys,
      database,
      get realtime() {
        return realtime;
      },
      functionNames: functions?.names ?? [],
      faults: {
        restartPostgres: async (mode = 'fast') => {
          if (!database.cluster) throw new Error("PostgreSQL is not the stack's own: it cannot restart it");
          log.warn(`fault injected: PostgreSQL restarts (${mode} shutdown)`);
          await database.cluster.restart(mode);
        },
        restartRealtime: async ({ mode = 'graceful', whileDown } = {}) => {
          log.warn(`fault injected: Realtime restarts (${mode})`);
          // Upgrades meanwhile are refused by the stopping service (503), as during a deploy.
          await realtime.stop({ abrupt: mode === 'crash' });
          try {
            await whileDown?.();
          } finally {
            realtime = await startRealtimeService();
          }
          await realtime.whenStreaming();
        },
        killFunctions: async () => {
          if (!functions) throw new Error('Edge Functions are disabled on this stack');
          log.warn('fault injected: the Edge Functions process is killed');
          await functions.kill();
        },
      },
      processIds: () =>
        [database.cluster?.pid, functions?.pid].filter((pid): pid is number => pid !== undefined),
      // Loaded on first use: supabase-js is for tests, `npm start` does not need it.
      createUser: async (userOptions) =>
        (await import('./testing.ts')).createUser({ url: gateway.url, anonKey: keys.anonKey }, userOptions),
      stop: async () => {
        running.delete(stack);
        await cleanup();
      },
    };
    running.add(stack);
    installExitHook();
    return stack;
  } catch (error) {
    await cleanup();
    throw error;
  }
}
