// Realtime under load and trouble, on a stack of its own (it restarts
// PostgreSQL and fills the user limit): 200 sockets on one topic, the
// concurrent-user limit, no memory held and no WAL retained while nobody
// listens, a socket that stops reading dropped without holding up the others,
// replication slots and sockets released, and database broadcasts resuming by
// themselves after PostgreSQL restarts mid-test.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../emulator/log.ts';
import { startRealtime } from '../../emulator/realtime/index.ts';
import { type Stack, startStack } from '../../emulator/stack.ts';
import { createStackClient } from '../../emulator/testing.ts';
import {
  addMember,
  inbox,
  installFixtures,
  RawSocket,
  subscribe,
  subscribed,
  topicName,
  waitFor,
} from './realtime-support.ts';

/** Keeps every log line; prints only errors. */
function recordingLogger(lines: string[], service = 'emulator'): Logger {
  const write = (level: string) => (message: string) => {
    lines.push(`${level} [${service}] ${message}`);
    if (level === 'error') console.error(`${level} [${service}] ${message}`);
  };
  return {
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (name) => recordingLogger(lines, name),
  };
}

const USERS = 200;
const SLOW_CONSUMER_BYTES = 1_000_000;

/** The most a TCP socket's send and receive buffers can grow to on this host (Linux autotuning caps). */
function kernelSocketBufferBytes(): number {
  const max = (name: string) =>
    Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]);
  return max('tcp_wmem') + max('tcp_rmem');
}

describe('realtime on a stack of its own', { tags: ['emulator-only'] }, () => {
  const lines: string[] = [];
  let stack: Stack;
  let db: pg.Pool;
  const clients: SupabaseClient[] = [];

  beforeAll(async () => {
    stack = await startStack({
      port: 0,
      dbPort: 0,
      functions: false,
      log: recordingLogger(lines),
      // A small backlog allowance and no grace, so that the slow-consumer test need not send gigabytes
      // nor wait: a socket whose backlog passes 1 MB is dropped at once. The anon sockets all come
      // from 127.0.0.1: lift the per-client shares to reach the total.
      realtime: {
        maxConcurrentUsers: USERS,
        maxConnectionsPerClient: USERS,
        maxAnonymousConnections: USERS,
        slowConsumerBytes: SLOW_CONSUMER_BYTES,
        slowConsumerGraceMs: 0,
      },
    });
    db = new pg.Pool({ connectionString: stack.dbUrl, max: 4 });
    db.on('error', () => undefined); // PostgreSQL restarts in the last test
    await installFixtures(db);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.removeAllChannels().catch(() => undefined)));
    await db?.end();
    await stack?.stop();
  });

  // Every test starts with nobody connected: whatever a test opened is closed after it.
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.removeAllChannels().catch(() => undefined)));
    await waitFor(() => (stack.realtime.stats().connections === 0 ? true : undefined), 'every socket closed');
  });

  const client = () => {
    const created = createStackClient(stack);
    clients.push(created);
    return created;
  };
  const slots = async () => {
    const { rows } = await db.query<{ slot_name: string; temporary: boolean }>(
      `select slot_name, temporary from pg_replication_slots where slot_name like 'supabase_realtime_messages_replication_slot_%'`,
    );
    return rows;
  };

  it(`delivers to ${USERS} sockets on one topic, then refuses socket ${USERS + 1} with ConnectionRateLimitReached`, async () => {
    const topic = topicName('fanout');
    const listeners = Array.from({ length: USERS }, () => {
      const channel = client().channel(topic, { config: { broadcast: { self: true } } });
      return { channel, received: inbox(channel) };
    });
    await Promise.all(listeners.map(({ channel }) => subscribed(channel)));
    expect(stack.realtime.stats().users).toBe(USERS);

    await db.query(`select realtime.send('{"from":"database"}'::jsonb, 'db', $1, false)`, [topic]);
    await listeners[0]?.channel.send({ type: 'broadcast', event: 'client', payload: { from: 'client' } });
    await Promise.all(
      listeners.map(async ({ received }) => {
        await received.find((m) => m.event === 'db', 'the database broadcast');
        await received.find((m) => m.event === 'client', 'the client broadcast');
      }),
    );

    const extra = await subscribe(client().channel(topic)).first;
    expect(extra.status).toBe('CHANNEL_ERROR');
    expect(extra.error?.message).toBe('ConnectionRateLimitReached: Too many connected users');
  });

  it('lets go of every socket, channel and presence when the clients disconnect', async () => {
    const topic = topicName('leaving');
    const present = Array.from({ length: 3 }, (_, i) =>
      client().channel(topic, { config: { presence: { key: `user-${i}` } } }),
    );
    await Promise.all(present.map((channel) => subscribed(channel)));
    await Promise.all(present.map(async (channel) => expect(await channel.track({ here: true })).toBe('ok')));
    await subscribed(client().channel(topicName('another')));
    expect(stack.realtime.stats()).toMatchObject({
      connections: 4,
      users: 4,
      channels: 4,
      topics: 2,
      presences: 3,
    });

    await Promise.all(clients.splice(0).map((c) => c.removeAllChannels()));
    const stats = await waitFor(() => {
      const now = stack.realtime.stats();
      return now.connections === 0 ? now : undefined;
    }, 'all sockets closed');
    expect(stats).toMatchObject({ connections: 0, users: 0, channels: 0, topics: 0, presences: 0 });
  });

  it('holds nothing while nobody listens: memory stays flat and the slot keeps up', async () => {
    expect(stack.realtime.stats().topics).toBe(0);
    // The stack runs in this process: measure its memory, garbage collected, around ~40 MB of rows.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const used = () => {
      gc();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const before = stack.realtime.stats().replication?.rowsReceived ?? 0;
    const memoryBefore = used();
    await db.query(
      `insert into realtime.messages (topic, extension, event, payload, private)
       select 'rt-test:nobody', 'broadcast', 'filler', jsonb_build_object('n', n, 'pad', repeat('x', 2000)), false
         from generate_series(1, 20000) n`,
    );
    const { rows } = await db.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
    const written = rows[0]?.lsn as string;
    const slotName = stack.realtime.stats().replication?.slotName;

    const streamed = (count: number) =>
      waitFor(
        () => ((stack.realtime.stats().replication?.rowsReceived ?? 0) >= count ? true : undefined),
        `${count - before} rows streamed`,
      );
    await streamed(before + 20_000);
    // Everything was acknowledged, so PostgreSQL keeps no WAL back for the slot either.
    await waitFor(async () => {
      const result = await db.query<{ caught_up: boolean }>(
        `select confirmed_flush_lsn >= $1::pg_lsn as caught_up from pg_replication_slots where slot_name = $2`,
        [written, slotName],
      );
      return result.rows[0]?.caught_up ? true : undefined;
    }, 'the slot to confirm everything written');
    // Buffers of the last reads can still be referenced until the stream moves on; rows kept would
    // never be let go. So each look at the memory follows one more row through the stream.
    let grown = Number.POSITIVE_INFINITY;
    for (let round = 1; round <= 3 && grown >= 10_000_000; round++) {
      await db.query(
        `insert into realtime.messages (topic, extension, event, payload, private)
         values ('rt-test:nobody', 'broadcast', 'marker', '{}', false)`,
      );
      await streamed(before + 20_000 + round);
      grown = used() - memoryBefore;
    }
    // ~40 MB higher if the rows were kept.
    expect(grown).toBeLessThan(10_000_000);
  });

  it('drops a socket that stops reading, while a reading one gets everything', async () => {
    const topic = topicName('slow');
    const reader = client().channel(topic);
    const received = inbox(reader, 'bulk');
    await subscribed(reader);
    const stalled = await RawSocket.open(stack.url, stack.anonKey);
    await stalled.join(`realtime:${topic}`, {}, '1');
    const connectionsBefore = stack.realtime.stats().connections;
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();
    const dropped = () => stack.realtime.stats().connections === connectionsBefore - 1;

    // Rows of 240 KB, each sent once the reader has the one before, so the reader never has more
    // than one waiting, however slow the machine. The stalled socket's backlog grows until it passes
    // the limit; how many rows that takes depends on the kernel's buffers, so rows keep coming until
    // the drop, up to twice what those buffers and the limit could hold.
    const rowBytes = 240_000;
    const enough = Math.ceil((2 * (kernelSocketBufferBytes() + SLOW_CONSUMER_BYTES)) / rowBytes);
    let sent = 0;
    while (!dropped() && sent < enough) {
      sent += 1;
      await db.query(
        `insert into realtime.messages (topic, extension, event, payload, private)
         values ($1, 'broadcast', 'bulk', jsonb_build_object('n', $2::int, 'pad', repeat('x', $3)), false)`,
        [topic, sent, rowBytes],
      );
      await received.find((m) => (m.payload as { n: number }).n === sent, `row ${sent} at the reader`);
    }
    expect(dropped()).toBe(true);
    expect(received.messages.map((m) => (m.payload as { n: number }).n)).toEqual(
      Array.from({ length: sent }, (_, i) => i + 1),
    );
    expect(lines.some((line) => line.includes('dropping a realtime socket that does not read'))).toBe(true);
    (stalled.ws as unknown as { _socket: Socket })._socket.resume();
    await stalled.closed;
  });

  it('uses one temporary slot per service, and stopping a service closes its sockets and drops its slot', async () => {
    expect((await slots()).map((s) => s.temporary)).toEqual([true]);
    const second = await startRealtime({
      keys: stack.keys,
      dbUrl: stack.database.realtimeUrl,
      log: recordingLogger([]),
    });
    expect(await slots()).toHaveLength(2);
    const server = createServer();
    server.on('upgrade', second.handleUpgrade);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = await RawSocket.open(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stack.anonKey,
    );
    await socket.join('realtime:rt-test:stopping', {}, '1');
    expect(second.stats().connections).toBe(1);

    await second.stop();
    expect((await socket.closed).code).toBe(1001);
    expect(second.stats().connections).toBe(0);
    server.close();
    await waitFor(async () => ((await slots()).length === 1 ? true : undefined), 'the second slot to go');
  });

  it('resumes database broadcasts by itself after PostgreSQL restarts, and says so in the log', async () => {
    const topic = topicName('restart');
    const member = await stack.createUser();
    clients.push(member.client);
    await addMember(db, topic, member.id);
    const publicChannel = client().channel(topic);
    const publicInbox = inbox(publicChannel);
    const publicStatus = await subscribed(publicChannel);
    await db.query(`select realtime.send('{"n":1}'::jsonb, 'tick', $1, false)`, [topic]);
    await publicInbox.find((m) => (m.payload as { n: number }).n === 1);

    await stack.database.cluster?.restart();
    await waitFor(
      () => lines.find((line) => line.includes('[realtime] database broadcasts resumed')),
      'the log line saying the stream is back',
    );
    expect(lines.some((line) => line.startsWith('warn [realtime] lost the replication stream'))).toBe(true);

    await db.query(`select realtime.send('{"n":2}'::jsonb, 'tick', $1, false)`, [topic]);
    await publicInbox.find((m) => (m.payload as { n: number }).n === 2);
    expect(publicStatus.statuses.map((s) => s.status)).toEqual(['SUBSCRIBED']);

    // Authorization reconnects too: a private join and a private row after the restart.
    const privateChannel = member.client.channel(topic, { config: { private: true } });
    const privateInbox = inbox(privateChannel);
    await subscribed(privateChannel);
    await db.query(`insert into public.rt_test_events (topic, body) values ($1, 'after restart')`, [topic]);
    await privateInbox.find((m) => (m.payload as { body: string }).body === 'after restart');
  });
});
