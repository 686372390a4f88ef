// Contract v2 and the security model, end to end with the real supabase-js:
// a removed member's open channel hears nothing more and reaches nobody, the
// others follow the rotation without a gap, server events cannot be forged,
// replays hold no edited or deleted text, blocking holds in groups, profiles
// reveal no email, and a service-role call to a user RPC is a clean 401.
//
// "Hears nothing" is checked by order, not by waiting: Realtime delivers database
// events in commit order over one socket, so once a later event (a sentinel) has
// arrived, an earlier one would have arrived before it.

import { randomUUID } from 'node:crypto';
import type { RealtimeChannel } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import type { TestUser } from '../../emulator/testing.ts';
import {
  type BroadcastMessage,
  disconnectAfterAll,
  inbox,
  subscribe,
  subscribed,
  waitFor,
} from './realtime-support.ts';
import { newUser, serviceClient, stack } from './support.ts';

const track = disconnectAfterAll();

interface Conversation {
  id: string;
  topic: string;
  live_topic: string;
}

interface Message {
  id: string;
  seq: number;
  change_seq: number;
  body: string;
}

interface Rotated {
  conversation_id: string;
  topic: string;
  live_topic: string;
  epoch: number;
  change: number;
}

async function rpc<T>(user: TestUser, name: string, args: Record<string, unknown>): Promise<T> {
  const { data, error } = await user.client.rpc(name, args);
  if (error) throw new Error(`${name} failed: ${error.message}`);
  return data as T;
}

const group = (owner: TestUser, members: TestUser[], title = 'Team') =>
  rpc<Conversation>(owner, 'create_group_conversation', { title, member_ids: members.map((m) => m.id) });

const sendText = async (user: TestUser, conversationId: string, body: string) =>
  (
    await rpc<{ message: Message }>(user, 'send_message', {
      conversation_id: conversationId,
      client_id: randomUUID(),
      body,
    })
  ).message;

/** Joins a private topic as `user` and records its broadcasts. */
async function listen(user: TestUser, topic: string, config: Record<string, unknown> = {}) {
  const channel: RealtimeChannel = track(user.client).channel(topic, {
    config: { private: true, ...config },
  });
  const box = inbox(channel);
  await subscribed(channel);
  return { channel, ...box };
}

const created = (messages: BroadcastMessage[]) =>
  messages.filter((m) => m.event === 'message.created').map((m) => (m.payload as { record: Message }).record);

/** A database event on `user`'s own topic, caused by someone else: a sentinel for "everything before it arrived". */
async function sentinelFor(user: TestUser, userInbox: ReturnType<typeof inbox>) {
  const stranger = await newUser();
  const dm = await rpc<Conversation>(stranger, 'get_or_create_direct_conversation', {
    other_user_id: user.id,
  });
  await userInbox.find(
    (m) =>
      m.event === 'conversation.added' &&
      (m.payload as { conversation_id: string }).conversation_id === dm.id,
    `the sentinel on user:${user.id}`,
  );
}

describe('revocation by topic rotation', () => {
  it("a removed member's open channel hears nothing sent after the removal; the others miss nothing", async () => {
    const [alice, bob, kim] = await Promise.all([newUser(), newUser(), newUser()]);
    const team = await group(alice, [bob, kim]);
    expect(team.topic).toBe(`conversation:${team.id}:1`);
    expect(team.live_topic).toBe(`live:${team.id}:1`);

    const kimTeam = await listen(kim, team.topic);
    const kimInbox = await listen(kim, `user:${kim.id}`);
    const bobInbox = await listen(bob, `user:${bob.id}`);
    let bobTeam = await listen(bob, team.topic);

    for (const body of ['one', 'two', 'three']) await sendText(alice, team.id, body);
    await waitFor(
      () => (created(kimTeam.messages).length === 3 ? true : undefined),
      'Kim hears the first three',
    );

    await rpc(alice, 'remove_conversation_member', { conversation_id: team.id, user_id: kim.id });
    const removed = await kimInbox.find(
      (m) => m.event === 'conversation.removed',
      'conversation.removed for Kim',
    );
    expect(removed.payload).toMatchObject({
      conversation_id: team.id,
      reason: 'removed',
      removed_by: alice.id,
    });

    // Bob follows the rotation as the client library does: new topic, then catch up from his cursor.
    const { id: _rotationId, ...rotated } = (
      await bobInbox.find((m) => m.event === 'conversation.rotated', 'conversation.rotated for Bob')
    ).payload as Rotated & { id: string };
    expect(rotated).toMatchObject({
      conversation_id: team.id,
      topic: `conversation:${team.id}:2`,
      live_topic: `live:${team.id}:2`,
      epoch: 2,
    });
    const onOldTopic = await bobTeam.find(
      (m) => m.event === 'conversation.rotated',
      'rotation on the old topic',
    );
    expect(onOldTopic.payload).toMatchObject(rotated);
    const heldBefore = created(bobTeam.messages);
    await bobTeam.channel.unsubscribe();

    // Messages sent while Bob is between topics, and after.
    await sendText(alice, team.id, 'four');
    bobTeam = await listen(bob, rotated.topic);
    await sendText(alice, team.id, 'five');
    const sync = await rpc<{ messages: Message[] }>(bob, 'sync_conversation', {
      conversation_id: team.id,
      since_change: Math.max(...heldBefore.map((m) => m.change_seq)),
    });
    await waitFor(
      () => (created(bobTeam.messages).some((m) => m.body === 'five') ? true : undefined),
      'five, live',
    );
    const bobHas = new Map<number, string>();
    for (const m of [...heldBefore, ...sync.messages, ...created(bobTeam.messages)])
      bobHas.set(m.seq, m.body);
    expect([...bobHas.entries()].sort(([a], [b]) => a - b)).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
      [5, 'five'],
    ]);

    // Kim's channel on the old topic stayed open and heard none of it.
    await sentinelFor(kim, kimInbox);
    expect(created(kimTeam.messages).map((m) => m.body)).toEqual(['one', 'two', 'three']);
    // (The group's creation events may reach a channel joined while replication catches up: only what
    // came after the last message she was meant to hear matters.)
    const third = kimTeam.messages.findIndex(
      (m) => m.event === 'message.created' && (m.payload as { record: Message }).record.body === 'three',
    );
    expect(kimTeam.messages.slice(third + 1).map((m) => m.event)).toEqual([
      'member.changed',
      'conversation.rotated',
    ]);

    // And the new topics are closed to her.
    for (const topic of [rotated.topic, rotated.live_topic]) {
      const log = subscribe(track(kim.client).channel(topic, { config: { private: true } }));
      const { status, error } = await log.first;
      expect(status).toBe('CHANNEL_ERROR');
      expect(error?.message).toContain('Unauthorized');
    }
  });

  it("a removed member's typing on the old live topic reaches nobody who moved", async () => {
    const [alice, bob, kim] = await Promise.all([newUser(), newUser(), newUser()]);
    const team = await group(alice, [bob, kim]);
    const kimLive = track(kim.client).channel(team.live_topic, {
      config: { private: true, broadcast: { ack: true } },
    });
    await subscribed(kimLive);
    expect(
      await kimLive.send({ type: 'broadcast', event: 'typing', payload: { user_id: kim.id, typing: true } }),
    ).toBe('ok');

    await rpc(alice, 'remove_conversation_member', { conversation_id: team.id, user_id: kim.id });
    const moved = await rpc<Conversation>(bob, 'get_conversation', { conversation_id: team.id });
    expect(moved.live_topic).toBe(`live:${team.id}:2`);
    const bobLive = await listen(bob, moved.live_topic);
    const aliceLive = track(alice.client).channel(moved.live_topic, {
      config: { private: true, broadcast: { ack: true } },
    });
    await subscribed(aliceLive);

    // Kim's channel keeps its cached permission (the platform re-checks only on a new token),
    // but the others are not on that topic any more. Each ack comes after the server fanned the
    // broadcast out, so Alice's later one arriving means Kim's would have arrived before it.
    expect(
      await kimLive.send({ type: 'broadcast', event: 'typing', payload: { user_id: kim.id, typing: true } }),
    ).toBe('ok');
    expect(
      await aliceLive.send({
        type: 'broadcast',
        event: 'typing',
        payload: { user_id: alice.id, typing: true },
      }),
    ).toBe('ok');
    await bobLive.find((m) => (m.payload as { user_id: string }).user_id === alice.id, "Alice's typing");
    expect(bobLive.messages.map((m) => (m.payload as { user_id: string }).user_id)).toEqual([alice.id]);

    // Nor can she write to the new live topic over HTTP.
    const response = await fetch(
      `${stack.url}/realtime/v1/api/broadcast/${encodeURIComponent(moved.live_topic)}/events/typing?private=true`,
      {
        method: 'POST',
        headers: {
          apikey: stack.anonKey,
          authorization: `Bearer ${kim.session.access_token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ user_id: kim.id, typing: true }),
      },
    );
    expect(response.status).toBe(403);
  });
});

describe('server events cannot be forged', () => {
  it("a member's message.created or member.changed, over the socket or HTTP, never reaches the others", async () => {
    const [alice, bob] = await Promise.all([newUser(), newUser()]);
    const team = await group(alice, [bob]);
    const aliceTeam = await listen(alice, team.topic);

    const forged = {
      record: { id: randomUUID(), seq: 99, body: 'forged', sender_id: alice.id, conversation_id: team.id },
      operation: 'INSERT',
      table: 'messages',
      schema: 'public',
    };
    const bobTeam = track(bob.client).channel(team.topic, {
      config: { private: true, broadcast: { ack: true } },
    });
    await subscribed(bobTeam);
    expect(
      await bobTeam.send(
        { type: 'broadcast', event: 'message.created', payload: forged },
        { timeout: 2_000 },
      ),
    ).toBe('timed out'); // a denied write is dropped without an answer, as on the platform

    const headers = {
      apikey: stack.anonKey,
      authorization: `Bearer ${bob.session.access_token}`,
      'content-type': 'application/json',
    };
    const single = await fetch(
      `${stack.url}/realtime/v1/api/broadcast/${encodeURIComponent(team.topic)}/events/member.changed?private=true`,
      { method: 'POST', headers, body: JSON.stringify({ operation: 'DELETE', user_id: alice.id }) },
    );
    expect(single.status).toBe(403);
    const batch = await fetch(`${stack.url}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        messages: [{ topic: team.topic, event: 'message.created', payload: forged, private: true }],
      }),
    });
    expect(batch.status).toBe(202); // the batch route skips what the caller may not send

    await sendText(bob, team.id, 'the real one');
    await aliceTeam.find((m) => m.event === 'message.created', 'the real message');
    // (member.changed of the group's creation may still reach a channel joined while replication catches up.)
    expect(
      aliceTeam.messages
        .filter(
          (m) => m.event !== 'member.changed' || (m.payload as { operation: string }).operation !== 'INSERT',
        )
        .map((m) => [m.event, (m.payload as { record?: Message }).record?.body]),
    ).toEqual([['message.created', 'the real one']]);
  });
});

describe('replay', () => {
  it('a member added later replays no text that was edited or deleted', async () => {
    const [alice, bob, carol] = await Promise.all([newUser(), newUser(), newUser()]);
    const team = await group(alice, [bob]);
    const since = Date.now() - 60_000;
    const edited = await sendText(alice, team.id, 'the first draft');
    await rpc(alice, 'edit_message', { message_id: edited.id, body: 'the final text' });
    const deleted = await sendText(bob, team.id, 'a regrettable remark');
    await rpc(bob, 'delete_message', { message_id: deleted.id });
    await sendText(alice, team.id, 'kept as sent');
    await rpc(alice, 'add_conversation_members', { conversation_id: team.id, user_ids: [carol.id] });

    const carolTeam = await listen(carol, team.topic, { broadcast: { replay: { since, limit: 25 } } });
    await sendText(alice, team.id, 'live');
    await carolTeam.find(
      (m) => m.event === 'message.created' && (m.payload as { record: Message }).record.body === 'live',
      'the live message after the replay',
    );
    const replayed = carolTeam.messages.filter((m) => m.meta?.replayed);
    const text = JSON.stringify(replayed);
    expect(text).toContain('the final text');
    expect(text).toContain('kept as sent');
    expect(text).not.toContain('the first draft');
    expect(text).not.toContain('a regrettable remark');
  });
});

describe('blocking', () => {
  it('nobody puts into a group a user who blocked them or whom they blocked', async () => {
    const [gina, hank, ivy] = await Promise.all([newUser(), newUser(), newUser()]);
    await rpc(gina, 'block_user', { user_id: hank.id });

    const asHank = await hank.client.rpc('create_group_conversation', {
      title: 'Hi',
      member_ids: [gina.id, ivy.id],
    });
    expect(asHank.error?.code).toBe('blocked');
    expect(JSON.parse(asHank.error?.details ?? '')).toEqual({ user_ids: [gina.id] }); // text, as PostgREST sends it
    const asGina = await gina.client.rpc('create_group_conversation', { title: 'Hi', member_ids: [hank.id] });
    expect(asGina.error).toMatchObject({ code: 'blocked' });

    const ivys = await group(ivy, [hank]);
    await rpc(ivy, 'set_member_role', { conversation_id: ivys.id, user_id: hank.id, role: 'admin' });
    const adding = await hank.client.rpc('add_conversation_members', {
      conversation_id: ivys.id,
      user_ids: [gina.id],
    });
    expect(adding.error?.code).toBe('blocked');
    expect(JSON.parse(adding.error?.details ?? '')).toEqual({ user_ids: [gina.id] });
    const members = await rpc<{ user_id: string }[]>(ivy, 'list_members', { conversation_id: ivys.id });
    expect(members.map((m) => m.user_id).sort()).toEqual([hank.id, ivy.id].sort());
  });
});

describe('personal data', () => {
  it('a display name is never derived from the email, and finding someone by email takes the exact address', async () => {
    const local = `zed-${randomUUID().slice(0, 8)}`;
    const [zed, asker] = await Promise.all([newUser({ email: `${local}@example.test` }), newUser()]);
    const profile = await rpc<{ display_name: string }[]>(asker, 'search_profiles', {
      query: `${local}@example.test`,
    });
    expect(profile).toHaveLength(1);
    expect(profile[0]?.display_name).toBe(`User ${zed.id.slice(0, 6)}`);
    expect(await rpc<unknown[]>(asker, 'search_profiles', { query: local })).toEqual([]);
    expect(await rpc<unknown[]>(asker, 'search_profiles', { query: `${local}@example` })).toEqual([]);
  });
});

describe('the service role', () => {
  it('gets a clean 401 from a user RPC, naming no internal helper', async () => {
    const { error, status } = await serviceClient().rpc('list_inbox', {});
    expect(status).toBe(401);
    expect(error).toMatchObject({ code: 'not_authenticated', message: 'Sign in to use the chat API.' });
  });
});
