// The Supabase-managed parts of the database: the stand-in schemas from
// sql/platform (installed only where missing), the stand-in extensions pg_cron and
// pg_net (made available where missing), the daily partitions of realtime.messages
// (as the Realtime server keeps them).

import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from '../log.ts';
import { restartSafeClient } from './connections.ts';

/** Which stand-in file installs what, and how to tell it is already there. */
const STAND_IN: { file: string; present: string }[] = [
  { file: '00_roles.sql', present: `exists (select from pg_roles where rolname = 'authenticator')` },
  { file: '10_database.sql', present: `to_regnamespace('extensions') is not null` },
  { file: '20_auth.sql', present: `to_regprocedure('auth.uid()') is not null` },
  { file: '30_realtime.sql', present: `to_regclass('realtime.messages') is not null` },
  // Where supautils is loaded (a Supabase database), it grants this itself.
  {
    file: '40_policy_grants.sql',
    present: `to_regnamespace('supabase_emulator') is not null or current_setting('supautils.policy_grants', true) is not null`,
  },
];

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = restartSafeClient({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function missingParts(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const missing: string[] = [];
    for (const part of STAND_IN) {
      const { rows } = await client.query<{ present: boolean }>(`select (${part.present}) as present`);
      if (!rows[0]?.present) missing.push(part.file);
    }
    return missing;
  });
}

/**
 * Installs the parts of sql/platform the database lacks, in one transaction, as a
 * superuser. A database that has them all (a real Supabase project) is left untouched.
 */
export async function ensurePlatform(options: {
  projectDir: string;
  /** Any connection able to read the catalogs. */
  url: string;
  /** A superuser connection; required only if something is missing. */
  adminUrl: string | undefined;
  log: Logger;
}): Promise<'present' | 'installed'> {
  const missing = await missingParts(options.adminUrl ?? options.url);
  if (missing.length === 0) return 'present';
  if (!options.adminUrl) {
    throw new Error(
      `the database lacks Supabase's platform schemas (${missing.join(', ')} of sql/platform). ` +
        'Give a superuser connection in SUPABASE_DB_ADMIN_URL so the emulator can install the stand-in, ' +
        'or point SUPABASE_DB_URL at a Supabase database.',
    );
  }
  const dir = path.join(options.projectDir, 'sql', 'platform');
  await withClient(options.adminUrl, async (client) => {
    await client.query('begin');
    try {
      for (const file of missing) {
        await client.query(readFileSync(path.join(dir, file), 'utf8'));
      }
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw new Error(`installing the platform stand-in failed: ${(error as Error).message}`);
    }
  });
  options.log.info(`installed the platform stand-in (${missing.join(', ')})`);
  return 'installed';
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The UTC date `offsetDays` from `now`, as YYYY-MM-DD. */
const utcDay = (now: Date, offsetDays: number) =>
  new Date(now.getTime() + offsetDays * DAY_MS).toISOString().slice(0, 10);

/**
 * Creates the partitions of realtime.messages for yesterday .. today+3 (UTC) and
 * drops those of days before now − 72 hours, as the Realtime server does: as the
 * superuser, each new partition then given to supabase_realtime_admin. `now` is the
 * clock (tests pass another day).
 */
export async function maintainRealtimePartitions(
  superuserUrl: string,
  log: Logger,
  now = new Date(),
): Promise<void> {
  await withClient(superuserUrl, async (client) => {
    for (let offset = -1; offset <= 3; offset++) {
      const [from, to] = [utcDay(now, offset), utcDay(now, offset + 1)];
      const name = `messages_${from.replaceAll('-', '_')}`;
      await client.query('begin');
      await client.query(
        `create table if not exists realtime.${name} partition of realtime.messages
           for values from ('${from}') to ('${to}')`,
      );
      await client.query(`alter table realtime.${name} owner to supabase_realtime_admin`);
      await client.query('commit');
    }
    const { rows } = await client.query<{ name: string }>(
      `select c.relname as name from pg_inherits i
         join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'realtime.messages'::regclass`,
    );
    const oldest = `messages_${utcDay(now, -3).replaceAll('-', '_')}`;
    for (const { name } of rows) {
      if (/^messages_\d{4}_\d{2}_\d{2}$/.test(name) && name < oldest) {
        await client.query(`drop table if exists realtime.${name}`);
        log.info(`dropped old realtime partition ${name}`);
      }
    }
  });
}

/** The files of our stand-in for each extension, in sql/platform/extensions. */
function standInFiles(projectDir: string): Map<string, string[]> {
  const dir = path.join(projectDir, 'sql', 'platform', 'extensions');
  const files = new Map<string, string[]>();
  for (const file of readdirSync(dir)) {
    const name = /^(\w+?)(--.*\.sql|\.control)$/.exec(file)?.[1];
    if (name) files.set(name, [...(files.get(name) ?? []), path.join(dir, file)]);
  }
  return files;
}

/**
 * Makes the stand-ins of pg_cron and pg_net (sql/platform/extensions) available to a
 * server that has neither the real extensions nor ours, by copying their files into
 * its extension folder (which must be on this machine). A server that has them (a
 * Supabase database) is left alone. Needs a superuser connection (the pg_config view).
 */
export async function provideStandInExtensions(
  adminUrl: string,
  projectDir: string,
  log: Logger,
): Promise<void> {
  const wanted = standInFiles(projectDir);
  await withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      'select name from pg_available_extensions where name = any($1)',
      [[...wanted.keys()]],
    );
    const missing = [...wanted.keys()].filter((name) => !rows.some((row) => row.name === name));
    if (missing.length === 0) return;
    const shareDir = (
      await client.query<{ setting: string }>(`select setting from pg_config where name = 'SHAREDIR'`)
    ).rows[0]?.setting;
    const target = shareDir && path.join(shareDir, 'extension');
    if (!target || !existsSync(target)) {
      log.warn(`the server lacks ${missing.join(', ')} and its extension folder is not on this machine`);
      return;
    }
    for (const name of missing) {
      for (const file of wanted.get(name) ?? []) copyFileSync(file, path.join(target, path.basename(file)));
    }
    log.info(`made the ${missing.join(' and ')} stand-in available to PostgreSQL`);
  });
}
