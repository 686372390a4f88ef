// A database for the SQL test suites, prepared as a Supabase project would be:
// platform schemas, migrations and seed, then pgTAP and our tests helpers (and,
// where there is a superuser, the helpers that need it).
// By default a throwaway embedded cluster. With a PostgreSQL bin folder (Debian's
// 15) a throwaway cluster of that version, handed to the emulator by URL — the
// path a user takes with SUPABASE_DB_URL. With SUPABASE_DB_URL set (and no bin
// folder asked for), that database itself, e.g. a real Supabase project's.

import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../emulator/log.ts';
import { type Cluster, embeddedBinDir, SUPERUSER, startCluster } from '../emulator/postgres/cluster.ts';
import { type Database, openDatabase } from '../emulator/postgres/database.ts';
import { withClient } from '../emulator/postgres/platform.ts';
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
      providePgtapFiles(await embeddedBinDir(), options.log);
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
  const sql = (file: string) => readFileSync(path.join(PROJECT_DIR, 'sql', 'testing', file), 'utf8');
  await withClient(db.adminUrl ?? db.url, async (admin) => {
    await admin.query('create extension if not exists pgtap with schema extensions');
    if (plpgsqlCheck)
      await admin.query('create extension if not exists plpgsql_check with schema extensions');
  });
  await withClient(db.url, (client) => client.query(sql('helpers.sql')));
  if (db.adminUrl) await withClient(db.adminUrl, (admin) => admin.query(sql('superuser.sql')));
}

/**
 * Makes pgTAP installable on a server that lacks it by copying the extension
 * files of Debian's postgresql-15-pgtap (plain SQL, usable by 17 too).
 */
export function providePgtapFiles(binDir: string, log: Logger): void {
  const target = path.join(binDir, '..', 'share', 'postgresql', 'extension');
  if (!existsSync(target) || existsSync(path.join(target, 'pgtap.control'))) return;
  const source = '/usr/share/postgresql/15/extension';
  if (!existsSync(path.join(source, 'pgtap.control'))) {
    log.warn('pgTAP is not installed (apt-get install postgresql-15-pgtap); database tests cannot run');
    return;
  }
  for (const file of readdirSync(source)) {
    if (file.startsWith('pgtap')) copyFileSync(path.join(source, file), path.join(target, file));
  }
  log.info('made pgTAP available to the embedded PostgreSQL');
}
