// Presence through the real supabase-js: state after join, diffs on track,
// re-track and untrack, leaves on disconnect, presence keys, the platform's
// per-client rate limit, and RLS on private channels.

import type { RealtimeChannel } from '@supabase/supabase-js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  disconnectAfterAll,
  installFixtures,
  subscribed,
  systemMessages,
  topicName,
  waitFor,
} from './realtime-support.ts';
import { anonClient, newUser, sqlPool } from './support.ts';

const db = sqlPool();
const keep = disconnectAfterAll();
beforeAll(() => installFixtures(db));

interface PresenceEvents {
  joins: { key: string; newPresences: Record<string, unknown>[] }[];
  leaves: { key: string; leftPresences: Record<string, unknown>[] }[];
  syncs: number;
}

function watchPresence(channel: RealtimeChannel): PresenceEvents {
  const events: PresenceEvents = { joins: [], leaves: [], syncs: 0 };
  channel
    .on('presence', { event: 'join' }, ({ key, newPresences }) => {
      events.joins.push({ key, newPresences });
    })
    .on('presence', { event: 'leave' }, ({ key, leftPresences }) => {
      events.leaves.push({ key, leftPresences });
    })
    .on('presence', { event: 'sync' }, () => {
      events.syncs += 1;
    });
  return events;
}

const keysOf = (channel: RealtimeChannel) => Object.keys(channel.presenceState()).sort();
const until = (condition: () => boolean, what: string) =>
  waitFor(() => (condition() ? true : undefined), what);

describe('presence on a public channel', () => {
  it('syncs between two clients and clears when one disconnects', async () => {
    const topic = topicName('presence');
    const alice = keep(anonClient());
    const bob = keep(anonClient());
    const aliceChannel = alice.channel(topic, { config: { presence: { key: 'alice' } } });
    const bobChannel = bob.channel(topic, { config: { presence: { key: 'bob' } } });
    watchPresence(aliceChannel);
    const seenByBob = watchPresence(bobChannel);
    await subscribed(aliceChannel);
    expect(await aliceChannel.track({ name: 'Alice' })).toBe('ok');

    // Bob joins after Alice tracked: the presence_state after his join already holds her.
    await subscribed(bobChannel);
    await until(() => keysOf(bobChannel).includes('alice'), 'alice in bob’s state');
    expect(await bobChannel.track({ name: 'Bob' })).toBe('ok');
    await until(() => keysOf(aliceChannel).join() === 'alice,bob', 'both in alice’s state');
    expect(aliceChannel.presenceState().bob).toEqual([{ name: 'Bob', presence_ref: expect.any(String) }]);

    await alice.realtime.disconnect();
    await until(() => seenByBob.leaves.some((l) => l.key === 'alice'), 'alice’s leave at bob');
    expect(keysOf(bobChannel)).toEqual(['bob']);
    expect(seenByBob.leaves.find((l) => l.key === 'alice')?.leftPresences).toEqual([
      { name: 'Alice', presence_ref: expect.any(String) },
    ]);
  });

  it('turns a re-track into a join and a leave, ignores an unchanged one, and untracks', async () => {
    const topic = topicName('retrack');
    const alice = keep(anonClient()).channel(topic, { config: { presence: { key: 'alice' } } });
    const bobChannel = keep(anonClient()).channel(topic, { config: { presence: { key: 'bob' } } });
    const seenByBob = watchPresence(bobChannel);
    await subscribed(alice);
    await subscribed(bobChannel);

    expect(await alice.track({ status: 'online' })).toBe('ok');
    await until(() => seenByBob.joins.length === 1, 'the first join');
    expect(await alice.track({ status: 'online' })).toBe('ok'); // unchanged: no diff
    expect(await alice.track({ status: 'away' })).toBe('ok');
    await until(() => seenByBob.joins.length >= 2, 'the re-track');
    const firstRef = seenByBob.joins[0]?.newPresences[0]?.presence_ref;
    expect(seenByBob.joins.map((j) => j.newPresences.map((p) => p.status))).toEqual([['online'], ['away']]);
    expect(seenByBob.leaves).toEqual([
      { key: 'alice', leftPresences: [{ status: 'online', presence_ref: firstRef }] },
    ]);
    expect(bobChannel.presenceState().alice).toEqual([{ status: 'away', presence_ref: expect.any(String) }]);

    expect(await alice.untrack()).toBe('ok');
    await until(() => seenByBob.leaves.length === 2, 'the untrack');
    expect(keysOf(bobChannel)).toEqual([]);
  });

  it('gives a client without a presence key a key made by the server', async () => {
    const topic = topicName('keyless');
    const anonymous = keep(anonClient()).channel(topic, { config: { presence: { key: '' } } });
    const observer = keep(anonClient()).channel(topic, { config: { presence: { key: 'observer' } } });
    const seen = watchPresence(observer);
    await subscribed(anonymous);
    await subscribed(observer);
    expect(await anonymous.track({ x: 1 })).toBe('ok');
    await until(() => seen.joins.length === 1, 'the join');
    expect(seen.joins[0]?.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('closes a channel that makes more than 5 presence calls in 30 seconds', async () => {
    const channel = keep(anonClient()).channel(topicName('presence-limit'), {
      config: { presence: { key: 'busy' } },
    });
    const system = systemMessages(channel);
    const log = await subscribed(channel);
    for (let n = 1; n <= 5; n++) expect(await channel.track({ n })).toBe('ok');
    void channel.track({ n: 6 });
    await log.reached('CLOSED');
    expect(system).toContainEqual({
      extension: 'system',
      status: 'error',
      message: 'Client presence rate limit exceeded',
      channel: channel.subTopic,
    });
  });
});

describe('presence on a private channel', () => {
  it('needs write permission to track, and read permission to see', async () => {
    const topic = topicName('private-presence');
    const writer = await newUser();
    const readOnly = await newUser();
    keep(writer.client);
    keep(readOnly.client);
    await addMember(db, topic, writer.id);
    await addMember(db, topic, readOnly.id, { canWrite: false });
    const writerChannel = writer.client.channel(topic, {
      config: { private: true, presence: { key: 'writer' } },
    });
    const readerChannel = readOnly.client.channel(topic, {
      config: { private: true, presence: { key: 'reader' } },
    });
    const seenByReader = watchPresence(readerChannel);
    await subscribed(writerChannel);
    await subscribed(readerChannel);

    expect(await readerChannel.track({ me: 'reader' })).toBe('error');
    expect(await writerChannel.track({ me: 'writer' })).toBe('ok');
    await until(() => seenByReader.joins.some((j) => j.key === 'writer'), 'the writer at the reader');
    expect(keysOf(readerChannel)).toEqual(['writer']);
  });
});
