// The sync engine on the model server: what the user sees equals what the
// server has after drops, duplicates, reorders, edits, reactions, rotation.

import { afterEach, describe, expect, it } from 'vitest';
import { settle } from '../support/fake-clock.ts';
import { bodies, modelWorld } from '../support/model-chat.ts';
import type { Frame } from '../support/model-server.ts';

/** The frame at `index`, which the test expects to be there. */
const at = (frames: Frame[], index: number): Frame => {
  const frame = frames[index];
  if (!frame) throw new Error(`no frame ${index} in flight`);
  return frame;
};

describe('a conversation kept equal to the server', () => {
  let world = modelWorld();
  afterEach(() => {
    world.closeAll();
    world = modelWorld();
  });

  const openAsBob = async (history = 0) => {
    const { server } = world;
    const id = server.createConversation('group', ['alice', 'bob'], 'team');
    for (let i = 1; i <= history; i++) server.send('alice', id, `old ${i}`);
    const bob = await world.client('bob');
    const handle = bob.chat.open(id);
    await settle();
    return { id, bob, handle, server };
  };

  it('loads the newest page, then shows live messages in seq order', async () => {
    const { id, handle, server } = await openAsBob(3);
    server.send('alice', id, 'live');
    await settle();
    expect(handle.store.getSnapshot().status).toBe('ready');
    expect(bodies(handle.store.getSnapshot().messages)).toEqual(['1:old 1', '2:old 2', '3:old 3', '4:live']);
  });

  it('starts the window of an empty conversation at seq 1 when a message arrives while the first page is fetched', async () => {
    const { server } = world;
    const id = server.createConversation('group', ['alice', 'bob'], 'team');
    const bob = await world.client('bob');
    const release = bob.transport.holdNextAnswer('get_messages'); // answered empty, delivered late
    const handle = bob.chat.open(id);
    await settle();
    server.send('alice', id, 'first'); // its event comes before the page
    await settle();
    release();
    await settle();
    expect(bodies(handle.store.getSnapshot().messages)).toEqual(['1:first']);
    expect(handle.store.getSnapshot().hasOlder).toBe(false);
  });

  it('opens a conversation whose first get_conversation got no answer: shows the error, asks again, then loads', async () => {
    const { server } = world;
    const id = server.createConversation('group', ['alice', 'bob'], 'team');
    server.send('alice', id, 'hello');
    const bob = await world.client('bob');
    bob.transport.failNextCalls = 1;
    const handle = bob.chat.open(id);
    await settle();
    expect(handle.store.getSnapshot()).toMatchObject({ status: 'error', error: { code: 'network_error' } });
    await world.clock.advance(2_000);
    expect(handle.store.getSnapshot()).toMatchObject({ status: 'ready', error: null });
    expect(bodies(handle.store.getSnapshot().messages)).toEqual(['1:hello']);
  });

  it('ignores a duplicated event', async () => {
    const { id, handle, bob, server } = await openAsBob();
    bob.transport.socket.faulty = true;
    server.send('alice', id, 'once');
    const frame = at(
      bob.transport.socket.inflight.filter((f) => f.event === 'message.created'),
      0,
    );
    bob.transport.socket.deliver(frame);
    bob.transport.socket.deliver(frame);
    await settle();
    expect(bodies(handle.store.getSnapshot().messages)).toEqual(['1:once']);
  });

  it('repairs a dropped message with one sync from the cursor it held', async () => {
    const { id, handle, bob, server } = await openAsBob(2);
    bob.transport.socket.faulty = true;
    server.send('alice', id, 'lost');
    server.send('alice', id, 'seen');
    const frames = bob.transport.socket.inflight.filter((f) => f.event === 'message.created');
    const before = server.calls.filter((c) => c.name === 'sync_conversation').length;
    bob.transport.socket.deliver(at(frames, 1)); // seq 4 arrives, seq 3 never does
    await settle();
    const syncs = server.calls.filter((c) => c.name === 'sync_conversation').slice(before);
    expect(syncs.map((c) => c.args.since_change)).toEqual([2]);
    expect(bodies(handle.store.getSnapshot().messages)).toEqual(['1:old 1', '2:old 2', '3:lost', '4:seen']);
  });

  it('holds a message that arrives ahead of its predecessor until the hole is filled, without asking when it fills itself', async () => {
    const { id, handle, bob, server } = await openAsBob();
    bob.transport.socket.faulty = true;
    server.send('alice', id, 'first');
    server.send('alice', id, 'second');
    const created = bob.transport.socket.inflight.filter((f) => f.event === 'message.created');
    bob.transport.socket.deliver(at(created, 1));
    bob.transport.socket.deliver(at(created, 0));
    await settle();
    expect(bodies(handle.store.getSnapshot().messages)).toEqual(['1:first', '2:second']);
  });

  it('applies edits, deletes and reactions in place, and an old copy never overwrites a newer one', async () => {
    const { id, handle, bob, server } = await openAsBob();
    const { row } = server.send('alice', id, 'draft');
    await settle();
    bob.transport.socket.faulty = true;
    server.edit('alice', row.id, 'final');
    server.react('alice', row.id, '👍', true);
    const onTopic = bob.transport.socket.inflight.filter((f) => f.topic.startsWith('conversation:'));
    bob.transport.socket.deliver(at(onTopic, 1)); // the reaction before the edit it follows
    bob.transport.socket.deliver(at(onTopic, 0));
    await settle();
    const [message] = handle.store.getSnapshot().messages;
    expect(message).toMatchObject({ seq: 1, body: 'final', reactions: { '👍': ['alice'] } });
    bob.transport.socket.faulty = false;
    server.edit('alice', row.id, null);
    await settle();
    expect(handle.store.getSnapshot().messages[0]).toMatchObject({
      seq: 1,
      body: '',
      reactions: { '👍': ['alice'] },
    });
    expect(handle.store.getSnapshot().messages[0]?.deleted_at).not.toBeNull();
  });

  it('trusts server events only from the server topic', async () => {
    const { id, handle, bob, server } = await openAsBob();
    const entry = server.call('bob', 'get_conversation', { conversation_id: id }) as { live_topic: string };
    // A member forging a message event on the live topic (clients may write there).
    bob.transport.socket.deliver({
      topic: entry.live_topic,
      event: 'message.created',
      payload: {
        record: {
          conversation_id: id,
          seq: 1,
          change_seq: 1,
          id: 'forged',
          body: 'forged',
          sender_id: 'alice',
          client_id: 'x',
        },
      },
    });
    await settle();
    expect(handle.store.getSnapshot().messages).toEqual([]);
  });

  it('catches up after the socket is lost while messages are sent', async () => {
    const { id, handle, bob, server } = await openAsBob(1);
    bob.transport.socket.disconnect();
    for (let i = 1; i <= 5; i++) server.send('alice', id, `while away ${i}`);
    bob.transport.socket.reconnect();
    await world.clock.advance(30_000);
    expect(bodies(handle.store.getSnapshot().messages)).toEqual([
      '1:old 1',
      '2:while away 1',
      '3:while away 2',
      '4:while away 3',
      '5:while away 4',
      '6:while away 5',
    ]);
    expect(bob.chat.connection.getSnapshot().state).toBe('live');
  });

  it('loads older pages on demand, exactly up to the first message', async () => {
    const { handle } = await openAsBob(120);
    expect(handle.store.getSnapshot().messages).toHaveLength(50);
    expect(handle.store.getSnapshot().hasOlder).toBe(true);
    await handle.loadOlder();
    await handle.loadOlder();
    const snapshot = handle.store.getSnapshot();
    expect(snapshot.messages.map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(snapshot.hasOlder).toBe(false);
  });

  it('follows a rotation without a gap, and a removed member sees the removal and nothing after it', async () => {
    const { server } = world;
    const id = server.createConversation('group', ['alice', 'bob', 'carol'], 'team');
    const bob = await world.client('bob');
    const carol = await world.client('carol');
    const bobView = bob.chat.open(id);
    const carolView = carol.chat.open(id);
    await settle();
    server.send('alice', id, 'before');
    await settle();
    server.remove('alice', id, 'carol');
    server.send('alice', id, 'after');
    await settle();
    expect(bodies(bobView.store.getSnapshot().messages)).toEqual(['1:before', '2:after']);
    expect(bobView.store.getSnapshot().entry?.topic).toBe(`conversation:${id}:2`);
    expect(carolView.store.getSnapshot()).toMatchObject({
      status: 'removed',
      removed: { reason: 'removed', removed_by: 'alice' },
    });
    expect(bodies(carolView.store.getSnapshot().messages)).toEqual(['1:before']);
    expect(carol.chat.inbox.getSnapshot().entries.map((e) => e.conversation_id)).not.toContain(id);
  });

  it('a refused join of a conversation one was removed from reports the removal instead of retrying', async () => {
    const { server } = world;
    const id = server.createConversation('group', ['alice', 'carol'], 'team');
    const carol = await world.client('carol');
    carol.transport.socket.faulty = true; // carol hears nothing of her removal
    server.remove('alice', id, 'carol');
    carol.transport.socket.inflight = [];
    const view = carol.chat.open(id);
    await world.clock.advance(60_000);
    expect(view.store.getSnapshot()).toMatchObject({
      status: 'removed',
      removed: { reason: 'not_a_member' },
    });
  });
});
