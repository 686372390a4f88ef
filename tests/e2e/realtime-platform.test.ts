// The emulator's Realtime server as the platform runs it: it connects (and
// replicates) as supabase_admin, reads rows named by their daily partition,
// and keeps the partitions of realtime.messages — creating the coming days',
// dropping those older than 72 hours — only where it has the superuser.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../emulator/log.ts';
import { openDatabase } from '../../emulator/postgres/database.ts';
import { ensurePlatform, maintainRealtimePartitions, withClient } from '../../emulator/postgres/platform.ts';
import { isMessagesRelation } from '../../emulator/realtime/replication.ts';
import { PROJECT_DIR } from '../../emulator/stack.ts';
import { subscribe, topicName } from './realtime-support.ts';
import { newUser, sqlPool, stack } from './support.ts';

const db = sqlPool();

/** A logger that keeps what it is told, for checking what was (not) reported. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = {
    lines,
    info: (message: string) => lines.push(`info ${message}`),
    warn: (message: string) => lines.push(`warn ${message}`),
    error: (message: string) => lines.push(`error ${message}`),
    child: () => logger,
  };
  return logger;
}

describe('the Realtime server’s database role', { tags: ['emulator-only'] }, () => {
  it('replicates and authorizes as supabase_admin, as on the platform', async () => {
    const user = await newUser();
    const channel = user.client.channel(topicName('role'), { config: { private: true } });
    await subscribe(channel).first; // answered after the RLS probe, whatever it found
    await user.client.removeAllChannels();

    const { rows } = await db.query<{ application_name: string; usename: string }>(
      `select distinct application_name, usename::text from pg_stat_activity
        where application_name in ('realtime_replication_connection', 'realtime_authorization')
        order by 1`,
    );
    expect(rows).toEqual([
      { application_name: 'realtime_authorization', usename: 'supabase_admin' },
      { application_name: 'realtime_replication_connection', usename: 'supabase_admin' },
    ]);
  });

  it('takes the rows of the daily partitions as realtime.messages, and nothing else', () => {
    expect(isMessagesRelation({ namespace: 'realtime', name: 'messages_2026_12_01' })).toBe(true);
    expect(isMessagesRelation({ namespace: 'realtime', name: 'messages' })).toBe(true);
    expect(isMessagesRelation({ namespace: 'realtime', name: 'messages_archive' })).toBe(false);
    expect(isMessagesRelation({ namespace: 'public', name: 'messages_2026_12_01' })).toBe(false);
  });
});

describe('partition upkeep', { tags: ['emulator-only'] }, () => {
  // A database of its own in the stack's cluster, so that moving its clock does not
  // take today's partition away from the other suites.
  const name = `partition_upkeep_${randomBytes(4).toString('hex')}`;
  // Computed while collecting, also against a real project (no admin URL) where the tests are skipped.
  const adminUrl = (stack.dbAdminUrl ?? '').replace(/\/postgres$/, `/${name}`);
  const postgresUrl = stack.dbUrl.replace(/\/postgres$/, `/${name}`);
  const log = recordingLogger();

  beforeAll(async () => {
    await withClient(stack.dbAdminUrl as string, (admin) => admin.query(`create database ${name}`));
    await ensurePlatform({ projectDir: PROJECT_DIR, url: adminUrl, adminUrl, log });
  });
  afterAll(async () => {
    await withClient(stack.dbAdminUrl as string, (admin) =>
      admin.query(`drop database if exists ${name} with (force)`),
    );
  });

  const partitions = () =>
    withClient(adminUrl, async (client) => {
      const { rows } = await client.query<{ name: string; owner: string }>(
        `select c.relname::text as name, pg_get_userbyid(c.relowner)::text as owner
           from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'realtime.messages'::regclass order by 1`,
      );
      return rows;
    });
  const names = async () => (await partitions()).map((partition) => partition.name);
  const insertAt = (insertedAt: string) =>
    withClient(postgresUrl, (client) =>
      client.query(
        `insert into realtime.messages (topic, extension, event, payload, inserted_at)
         values ('upkeep', 'broadcast', $1::text, '{}', $1::timestamp)`,
        [insertedAt],
      ),
    );
  const storedEvents = () =>
    withClient(adminUrl, async (client) => {
      const { rows } = await client.query<{ event: string }>(
        `select event from realtime.messages where topic = 'upkeep' order by inserted_at`,
      );
      return rows.map((row) => row.event);
    });

  // Each test starts without partitions and lays out the days it needs (the suites run in random order).
  beforeEach(() =>
    withClient(adminUrl, async (admin) => {
      for (const { name: partition } of await partitions())
        await admin.query(`drop table realtime.${partition}`);
    }),
  );
  /** The upkeep on the evening of 30 March 2031: partitions for the 29th to 2 April. */
  const atMonthsEnd = () => maintainRealtimePartitions(adminUrl, log, new Date('2031-03-30T22:00:00Z'));

  it('creates yesterday through today + 3 (UTC), owned by supabase_realtime_admin, across a month’s end', async () => {
    await atMonthsEnd();
    expect(await partitions()).toEqual(
      ['2031_03_29', '2031_03_30', '2031_03_31', '2031_04_01', '2031_04_02'].map((day) => ({
        name: `messages_${day}`,
        owner: 'supabase_realtime_admin',
      })),
    );
    await insertAt('2031-03-29 00:00:00');
    await insertAt('2031-04-02 23:59:59');
    await expect(insertAt('2031-04-03 00:00:00')).rejects.toThrow(/no partition of relation "messages"/);
  });

  it('rolls over to the next day: adds the new last day and keeps the rest', async () => {
    const rolledOver = [
      'messages_2031_03_29',
      'messages_2031_03_30',
      'messages_2031_03_31',
      'messages_2031_04_01',
      'messages_2031_04_02',
      'messages_2031_04_03',
    ];
    await atMonthsEnd();
    await insertAt('2031-03-29 00:00:00');
    await insertAt('2031-04-02 23:59:59');
    await maintainRealtimePartitions(adminUrl, log, new Date('2031-03-31T00:30:00Z'));
    expect(await names()).toEqual(rolledOver);
    await maintainRealtimePartitions(adminUrl, log, new Date('2031-03-31T23:59:00Z'));
    expect(await names()).toEqual(rolledOver); // later the same day: nothing to do
    expect(await storedEvents()).toEqual(['2031-03-29 00:00:00', '2031-04-02 23:59:59']);
  });

  it('drops the partitions of days before now − 72 hours, with their rows', async () => {
    await atMonthsEnd();
    await insertAt('2031-03-29 00:00:00');
    await insertAt('2031-04-01 12:00:00');
    await insertAt('2031-04-02 23:59:59');
    await maintainRealtimePartitions(adminUrl, log, new Date('2031-04-04T12:00:00Z'));
    expect(await names()).toEqual([
      'messages_2031_04_01',
      'messages_2031_04_02',
      'messages_2031_04_03',
      'messages_2031_04_04',
      'messages_2031_04_05',
      'messages_2031_04_06',
      'messages_2031_04_07',
    ]);
    expect(await storedEvents()).toEqual(['2031-04-01 12:00:00', '2031-04-02 23:59:59']);
    expect(log.lines).toContain('info dropped old realtime partition messages_2031_03_31');
  });

  it('is left to the platform where the emulator has no superuser (a Supabase project)', async () => {
    await atMonthsEnd();
    const before = await names();
    const quiet = recordingLogger();
    const database = await openDatabase({ projectDir: PROJECT_DIR, log: quiet, url: postgresUrl });
    await database.maintain();
    await database.stop();
    expect(await names()).toEqual(before);
    expect(quiet.lines.filter((line) => !line.startsWith('info'))).toEqual([]);
  });
});
