// A snapshot of the database: for every table of the schemas the chat uses
// (public, private, auth, realtime), its row count and a hash of its rows
// (sorted, so the order rows happen to be stored in does not count).
//
// What may change without a request having been accepted, and so is not
// compared:
// - which daily partitions realtime.messages has: the stack creates and drops
//   them as days pass, as the platform's Realtime server does. The partitioned
//   table is hashed as one (its rows, whichever partition holds them), so a
//   message in it still counts;
// - sequences: nextval() is not undone by a rollback (PostgreSQL's design), so
//   a refused insert may use up a number. They are not tables;
// - the schemas of pg_cron and pg_net (cron, net): their workers log every run
//   of a job (the outbox is looked at every 10 seconds) and keep the answers to
//   their requests, by themselves and on their own clock.

import type pg from 'pg';

export type Snapshot = Map<string, { rows: number; hash: string }>;

const SCHEMAS = ['auth', 'private', 'public', 'realtime'];

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Builds the query once (the tables the stack has after start-up); run it with `take`. */
export async function snapshotter(db: pg.Pool): Promise<{ tables: string[]; take: () => Promise<Snapshot> }> {
  const { rows } = await db.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and n.nspname = any($1::text[])
      order by 1, 2`,
    [SCHEMAS],
  );
  const tables = rows.map((row) => `${row.schema}.${row.name}`);
  const sql = rows
    .map(
      (row, i) =>
        `select $${i + 1}::text as name, count(*)::int as rows,
                md5(coalesce(string_agg(t::text, E'\\n' order by t::text collate "C"), '')) as hash
           from ${quote(row.schema)}.${quote(row.name)} t`,
    )
    .join('\nunion all\n');
  return {
    tables,
    take: async () => {
      const result = await db.query<{ name: string; rows: number; hash: string }>(sql, tables);
      return new Map(result.rows.map((row) => [row.name, { rows: row.rows, hash: row.hash }]));
    },
  };
}

/** The tables whose rows differ, with their counts before and after ("public.messages: 3 → 4 rows"). */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  const changed: string[] = [];
  for (const [name, now] of after) {
    const then = before.get(name);
    if (!then || then.hash !== now.hash) changed.push(`${name}: ${then?.rows ?? 0} → ${now.rows} rows`);
  }
  for (const name of before.keys()) if (!after.has(name)) changed.push(`${name}: gone`);
  return changed;
}
