// Broadcast from Database: rows inserted into realtime.messages (by
// realtime.send or realtime.broadcast_changes in triggers) reach the
// subscribers of their topic after commit, private rows only private
// channels, public rows only public channels, each with meta.id; replay on
// join re-sends stored rows.
//
// "Never receives" is checked by order, not by waiting: the stream delivers
// rows in commit order, so once a later row (the sentinel) has arrived, an
// earlier one would have arrived before it.

import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  disconnectAfterAll,
  inbox,
  installFixtures,
  subscribe,
  subscribed,
  topicName,
  v1Client,
} from './realtime-support.ts';
import { anonClient, newUser, sqlPool, stack } from './support.ts';

const db = sqlPool();
const keep = disconnectAfterAll();
beforeAll(() => installFixtures(db));

const member = async (topic: string) => {
  const user = await newUser();
  keep(user.client);
  await addMember(db, topic, user.id);
  return user;
};

const send = (topic: string, body: string, isPrivate = true) =>
  db.query('insert into public.rt_test_events (topic, body, private) values ($1, $2, $3)', [
    topic,
    body,
    isPrivate,
  ]);

describe('rows sent by a trigger with realtime.send', () => {
  it('reach a member of the private topic, with meta.id', async () => {
    const topic = topicName('send');
    const alice = await member(topic);
    const channel = alice.client.channel(topic, { config: { private: true } });
    const received = inbox(channel, 'created');
    await subscribed(channel);

    await send(topic, 'hello');
    const message = await received.find((m) => (m.payload as { body: string }).body === 'hello');
    const payload = message.payload as { body: string; event_id: number; id: string };
    expect(message.event).toBe('created');
    expect(payload.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.meta?.id).toBe(payload.id);
    const { rows } = await db.query('select topic, event, private from realtime.messages where id = $1', [
      payload.id,
    ]);
    expect(rows).toEqual([{ topic, event: 'created', private: true }]);
  });

  it('never reach a non-member: the private join is refused and the public twin gets no private row', async () => {
    const topic = topicName('outsider');
    const alice = await member(topic);
    const mallory = await newUser();
    keep(mallory.client);

    const attempt = mallory.client.channel(topic, { config: { private: true } });
    const denied = await subscribe(attempt).first;
    expect(denied.status).toBe('CHANNEL_ERROR');
    await mallory.client.removeChannel(attempt);

    const publicTwin = mallory.client.channel(topic);
    const seenByMallory = inbox(publicTwin);
    const privateChannel = alice.client.channel(topic, { config: { private: true } });
    const seenByAlice = inbox(privateChannel);
    await subscribed(publicTwin);
    await subscribed(privateChannel);

    await send(topic, 'secret', true);
    await send(topic, 'sentinel', false);
    await seenByMallory.find((m) => (m.payload as { body: string }).body === 'sentinel');
    expect(seenByMallory.messages.map((m) => (m.payload as { body: string }).body)).toEqual(['sentinel']);
    expect(seenByAlice.messages.map((m) => (m.payload as { body: string }).body)).toEqual(['secret']);
  });

  it('deliver public rows only to public channels', async () => {
    const topic = topicName('public-row');
    const alice = await member(topic);
    const privateChannel = alice.client.channel(topic, { config: { private: true } });
    const seenPrivately = inbox(privateChannel);
    const publicChannel = keep(anonClient()).channel(topic);
    const seenPublicly = inbox(publicChannel);
    await subscribed(privateChannel);
    await subscribed(publicChannel);

    await send(topic, 'for everyone', false);
    await send(topic, 'members only', true);
    await seenPrivately.find((m) => (m.payload as { body: string }).body === 'members only');
    await seenPublicly.find((m) => (m.payload as { body: string }).body === 'for everyone');
    expect(seenPrivately.messages.map((m) => (m.payload as { body: string }).body)).toEqual(['members only']);
  });

  it('are not sent for a rolled-back transaction', async () => {
    const topic = topicName('rollback');
    const alice = await member(topic);
    const channel = alice.client.channel(topic, { config: { private: true } });
    const received = inbox(channel);
    await subscribed(channel);

    const client = await db.connect();
    try {
      await client.query('begin');
      await client.query('insert into public.rt_test_events (topic, body) values ($1, $2)', [
        topic,
        'undone',
      ]);
      await client.query('rollback');
    } finally {
      client.release();
    }
    await send(topic, 'kept');
    await received.find((m) => (m.payload as { body: string }).body === 'kept');
    expect(received.messages.map((m) => (m.payload as { body: string }).body)).toEqual(['kept']);
  });

  it('reach a client on the 1.0.0 serializer as JSON with meta.id', async () => {
    const topic = topicName('v1');
    const alice = await member(topic);
    const client = keep(await v1Client(stack, alice.session.access_token));
    const channel = client.channel(topic, { config: { private: true } });
    const received = inbox(channel);
    await subscribed(channel);
    await send(topic, 'to v1');
    const message = await received.find((m) => (m.payload as { body: string }).body === 'to v1');
    expect(message.meta?.id).toBe((message.payload as { id: string }).id);
  });
});

describe('rows written directly and by realtime.broadcast_changes', () => {
  it('carry the row change as {record, old_record, operation, table, schema}', async () => {
    const topic = topicName('changes');
    const alice = await member(topic);
    const channel = alice.client.channel(topic, { config: { private: true } });
    const received = inbox(channel);
    await subscribed(channel);

    const { rows } = await db.query<{ id: string }>(
      `insert into public.rt_test_rows (topic, note) values ($1, 'first') returning id`,
      [topic],
    );
    const id = Number(rows[0]?.id);
    await db.query(`update public.rt_test_rows set note = 'second' where id = $1`, [id]);
    await db.query('delete from public.rt_test_rows where id = $1', [id]);

    await received.find((m) => m.event === 'DELETE');
    expect(received.messages.map((m) => m.event)).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    const [insert, update, remove] = received.messages.map((m) => m.payload) as Record<string, unknown>[];
    expect(insert).toMatchObject({
      operation: 'INSERT',
      table: 'rt_test_rows',
      schema: 'public',
      record: { id, topic, note: 'first' },
      old_record: null,
    });
    expect(update).toMatchObject({
      operation: 'UPDATE',
      record: { note: 'second' },
      old_record: { note: 'first' },
    });
    expect(remove).toMatchObject({ operation: 'DELETE', record: null, old_record: { id, note: 'second' } });
  });

  it('deliver binary_payload as bytes', async () => {
    const topic = topicName('binary');
    const alice = await member(topic);
    const channel = alice.client.channel(topic, { config: { private: true } });
    const received = inbox(channel);
    await subscribed(channel);
    await db.query(
      `insert into realtime.messages (topic, extension, event, binary_payload, private)
       values ($1, 'broadcast', 'bytes', '\\x00ff10'::bytea, true)`,
      [topic],
    );
    const message = await received.find((m) => m.event === 'bytes');
    expect(message.payload).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(message.payload as ArrayBuffer)]).toEqual([0x00, 0xff, 0x10]);
    expect(message.meta?.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('replay on join', () => {
  it('re-sends the newest stored rows after `since`, oldest first, marked replayed', async () => {
    const topic = topicName('replay');
    const alice = await member(topic);
    await send(topic, 'before since');
    const { rows } = await db.query<{ since: string }>(
      `select (floor(extract(epoch from clock_timestamp()) * 1000) + 1)::bigint as since, pg_sleep(0.01)`,
    );
    const since = Number(rows[0]?.since);
    for (let n = 1; n <= 5; n++) await send(topic, `stored ${n}`);

    const channel = alice.client.channel(topic, {
      config: { private: true, broadcast: { replay: { since, limit: 3 } } },
    });
    const received = inbox(channel);
    await subscribed(channel);
    await send(topic, 'live');
    await received.find((m) => (m.payload as { body: string }).body === 'live');

    expect(received.messages.map((m) => (m.payload as { body: string }).body)).toEqual([
      'stored 3',
      'stored 4',
      'stored 5',
      'live',
    ]);
    for (const message of received.messages.slice(0, 3)) {
      expect(message.meta).toEqual({ replayed: true, id: (message.payload as { id: string }).id });
    }
    expect(received.messages[3]?.meta?.replayed).toBeUndefined();
  });

  it('replays at most 25 rows', async () => {
    const topic = topicName('replay-cap');
    const alice = await member(topic);
    await db.query(
      `insert into public.rt_test_events (topic, body) select $1, 'row ' || n from generate_series(1, 30) n`,
      [topic],
    );
    const channel = alice.client.channel(topic, {
      config: { private: true, broadcast: { replay: { since: 0, limit: 100 } } },
    });
    const received = inbox(channel);
    await subscribed(channel);
    await send(topic, 'live');
    await received.find((m) => (m.payload as { body: string }).body === 'live');
    expect(received.messages.filter((m) => m.meta?.replayed)).toHaveLength(25);
  });

  it('is refused by the client library on a public channel', () => {
    expect(() =>
      keep(anonClient()).channel(topicName('public-replay'), {
        config: { broadcast: { replay: { since: 0 } } },
      }),
    ).toThrow(/replay on public channel/);
  });
});
