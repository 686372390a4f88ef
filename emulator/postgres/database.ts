// The emulator's database: either a cluster it runs itself (embedded
// PostgreSQL 17 by default) or an existing database given by URL. Either way it
// ends up with the platform schemas, today's realtime partitions, and the
// project's migrations and seed applied. The partitions are kept, as the
// platform's Realtime server keeps them, only where the emulator has the
// superuser (its own cluster, or SUPABASE_DB_ADMIN_URL); in a Supabase project
// the platform does it.

import type { Logger } from '../log.ts';
import { type Cluster, embeddedBinDir, SUPERUSER, startCluster } from './cluster.ts';
import { restartSafeClient } from './connections.ts';
import { pushMigrations } from './migrate.ts';
import { ensurePlatform, maintainRealtimePartitions, provideStandInExtensions } from './platform.ts';

export interface DatabaseOptions {
  projectDir: string;
  log: Logger;
  /** Use this database instead of running a cluster (SUPABASE_DB_URL). */
  url?: string;
  /** Superuser connection for installing the stand-in into `url` (SUPABASE_DB_ADMIN_URL). */
  adminUrl?: string;
  /** For a cluster of our own: */
  dataDir?: string;
  port?: number;
  binDir?: string;
  ephemeral?: boolean;
}

export interface Database {
  /** As `postgres`: migrations, Edge Functions, tests. */
  readonly url: string;
  /** As the cluster's superuser, when known. */
  readonly adminUrl: string | undefined;
  /** Connections the services make, as the platform's service roles where possible. */
  readonly authUrl: string;
  readonly restUrl: string;
  /** The Realtime server's: the superuser, as on the platform (else postgres, which may replicate). */
  readonly realtimeUrl: string;
  readonly cluster: Cluster | undefined;
  readonly version: number;
  /** Keeps the realtime partitions around today (called hourly while running); a no-op without the superuser. */
  maintain(): Promise<void>;
  stop(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { log } = options;
  let cluster: Cluster | undefined;
  let url: string;
  let adminUrl = options.adminUrl;
  let roleUrl = (_role: string) => url;

  if (options.url) {
    url = options.url;
  } else {
    if (!options.dataDir || options.port === undefined)
      throw new Error('a data folder and a port are required');
    const binDir = options.binDir ?? (await embeddedBinDir());
    cluster = await startCluster({
      binDir,
      dataDir: options.dataDir,
      port: options.port,
      ephemeral: options.ephemeral,
      log,
    });
    const owned = cluster;
    url = owned.url('postgres');
    adminUrl = owned.url(SUPERUSER);
    roleUrl = (role) => owned.url(role);
  }

  try {
    await ensurePlatform({ projectDir: options.projectDir, url, adminUrl, log });
    if (adminUrl) await provideStandInExtensions(adminUrl, options.projectDir, log);
    const superuserUrl = adminUrl;
    const maintain = superuserUrl
      ? () =>
          maintainRealtimePartitions(superuserUrl, log).catch((error: Error) =>
            log.warn(`could not maintain realtime.messages partitions: ${error.message}`),
          )
      : async () => undefined;
    await maintain();
    await pushMigrations({ projectDir: options.projectDir, dbUrl: url, log });
    const version = cluster?.version ?? (await serverVersion(url));
    return {
      url,
      adminUrl,
      authUrl: roleUrl('supabase_auth_admin'),
      restUrl: roleUrl('authenticator'),
      realtimeUrl: adminUrl ?? url,
      cluster,
      version,
      maintain,
      stop: async () => {
        await cluster?.stop();
      },
    };
  } catch (error) {
    await cluster?.stop();
    throw error;
  }
}

async function serverVersion(url: string): Promise<number> {
  const client = restartSafeClient({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>(`select current_setting('server_version_num') as v`);
    return Math.floor(Number(rows[0]?.v) / 10000);
  } finally {
    await client.end();
  }
}
