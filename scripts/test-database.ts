// A database for the SQL test suites, prepared as a Supabase project would be:
// platform schemas, migrations and seed, then pgTAP and our tests helpers.
// By default a throwaway embedded cluster. With a PostgreSQL bin folder (Debian's
// 15) a throwaway cluster of that version, handed to the emulator by URL — the
// path a user takes with SUPABASE_DB_URL. With SUPABASE_DB_URL set (and no bin
// folder asked for), that database itself, e.g. a real Supabase project's.

import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../emulator/log.ts';
import { type Cluster, SUPERUSER, startCluster } from '../emulator/postgres/cluster.ts';
import { type Database, openDatabase } from '../emulator/postgres/database.ts';
import { freePort, PROJECT_DIR } from '../emulator/stack.ts';

export async function withDatabaseForTests<T>(
  options: { pgBinDir?: string; plpgsqlCheck?: boolean; log: Logger },
  work: (db: Database) => Promise<T>,
): Promise<T> {
  const external = process.env.SUPABASE_DB_URL;
  if (external && !options.pgBinDir) {
    const db = await openDatabase({
      projectDir: PROJECT_DIR,
      log: options.log,
      url: external,
      adminUrl: process.env.SUPABASE_DB_ADMIN_URL,
    });
    await prepareForTests(db, options.plpgsqlCheck ?? false);
    return work(db);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'db-tests-'));
  chmodSync(dir, 0o755);
  let cluster: Cluster | undefined;
  let db: Database | undefined;
  try {
    const port = await freePort();
    const dataDir = path.join(dir, 'postgres');
    if (options.pgBinDir) {
      cluster = await startCluster({
        binDir: options.pgBinDir,
        dataDir,
        port,
        ephemeral: true,
        log: options.log,
      });
      db = await openDatabase({
        projectDir: PROJECT_DIR,
        log: options.log,
        url: cluster.url('postgres'),
        adminUrl: cluster.url(SUPERUSER),
      });
    } else {
      db = await openDatabase({ projectDir: PROJECT_DIR, log: options.log, dataDir, port, ephemeral: true });
    }
    await prepareForTests(db, options.plpgsqlCheck ?? false);
    return await work(db);
  } finally {
    await db?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function prepareForTests(db: Database, plpgsqlCheck: boolean): Promise<void> {
  const admin = new pg.Client({ connectionString: db.adminUrl ?? db.url });
  await admin.connect();
  try {
    await admin.query('create extension if not exists pgtap with schema extensions');
    if (plpgsqlCheck)
      await admin.query('create extension if not exists plpgsql_check with schema extensions');
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(readFileSync(path.join(PROJECT_DIR, 'sql', 'testing', 'helpers.sql'), 'utf8'));
  } finally {
    await client.end();
  }
}
