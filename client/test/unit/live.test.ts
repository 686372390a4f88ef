// Typing, presence, receipts and the connection status, on a fake clock.

import { describe, expect, it } from 'vitest';
import { ChatError } from '../../src/errors.ts';
import { TypingReceiver, TypingSender } from '../../src/typing.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';
import { modelWorld } from '../support/model-chat.ts';

describe('typing', () => {
  it('sends at most one start per 2 s while typing, and one stop', async () => {
    const clock = new FakeClock();
    const sent: boolean[] = [];
    const sender = new TypingSender(clock, (typing) => sent.push(typing));
    for (let i = 0; i < 12; i++) {
      sender.keystroke();
      await clock.advance(450); // 5.4 s of typing: starts at 0, 2.25 and 4.5 s
    }
    expect(sent).toEqual([true, true, true]);
    sender.stop();
    sender.stop();
    expect(sent).toEqual([true, true, true, false]);
  });

  it('stops by itself 3 s after the last key', async () => {
    const clock = new FakeClock();
    const sent: boolean[] = [];
    const sender = new TypingSender(clock, (typing) => sent.push(typing));
    sender.keystroke();
    await clock.advance(2_999);
    expect(sent).toEqual([true]);
    await clock.advance(1);
    expect(sent).toEqual([true, false]);
  });

  it('shows a typer until their stop, or 6 s after their last start', async () => {
    const clock = new FakeClock();
    let typers: string[] = [];
    const receiver = new TypingReceiver(clock, (now) => {
      typers = now;
    });
    receiver.receive('alice', true);
    receiver.receive('carol', true);
    await clock.advance(4_000);
    receiver.receive('alice', true); // refreshed
    await clock.advance(2_000);
    expect(typers).toEqual(['alice']); // carol expired at 6 s
    receiver.receive('alice', false);
    expect(typers).toEqual([]);
  });

  it('reaches the other members, and is believed only for members', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('group', ['alice', 'bob'], 'team');
    const alice = await world.client('alice');
    const bob = await world.client('bob');
    const aliceView = alice.chat.open(id);
    const bobView = bob.chat.open(id);
    await settle();
    aliceView.keystroke();
    await settle();
    expect(bobView.typing.getSnapshot()).toEqual(['alice']);
    expect(aliceView.typing.getSnapshot()).toEqual([]);
    aliceView.stopTyping();
    await settle();
    expect(bobView.typing.getSnapshot()).toEqual([]);
    // A forged claim for someone who is not a member is ignored.
    const entry = world.server.call('alice', 'get_conversation', { conversation_id: id }) as {
      live_topic: string;
    };
    const channel = alice.transport.join(entry.live_topic, {
      onStatus: () => undefined,
      onEvent: () => undefined,
    });
    await settle();
    channel.broadcast('typing', { user_id: 'mallory', typing: true });
    await settle();
    expect(bobView.typing.getSnapshot()).toEqual([]);
    world.closeAll();
  });
});

describe('presence', () => {
  it('lists the members who have the conversation open', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const alice = await world.client('alice');
    const bob = await world.client('bob');
    const aliceView = alice.chat.open(id);
    await settle();
    expect(aliceView.online.getSnapshot()).toEqual(['alice']);
    const bobView = bob.chat.open(id);
    await settle();
    expect(aliceView.online.getSnapshot()).toEqual(['alice', 'bob']);
    bobView.close();
    await settle();
    expect(aliceView.online.getSnapshot()).toEqual(['alice']);
    world.closeAll();
  });
});

describe('members', () => {
  it('keeps the newest member list when an older answer arrives after it', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('group', ['alice', 'bob'], 'team');
    const alice = await world.client('alice');
    const view = alice.chat.open(id);
    await settle();
    const memberIds = () => view.store.getSnapshot().members.map((m) => m.user_id);
    expect(memberIds()).toEqual(['alice', 'bob']);

    const releaseSlow = alice.transport.holdNextAnswer('list_members');
    world.server.add('alice', id, 'carol'); // asked first, answered last
    await settle();
    world.server.add('alice', id, 'dave');
    await settle();
    expect(memberIds()).toEqual(['alice', 'bob', 'carol', 'dave']);
    releaseSlow();
    await settle();
    expect(memberIds()).toEqual(['alice', 'bob', 'carol', 'dave']);
    world.closeAll();
  });
  it('a member list that fails to load after a change is loaded with the next sync, no unhandled rejection', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('group', ['alice', 'bob'], 'team');
    const bob = await world.client('bob', { resyncEveryMs: 10_000 });
    const view = bob.chat.open(id);
    await settle();
    bob.transport.failNextCalls = 1; // the list_members the change asks for gets no answer
    world.server.add('alice', id, 'carol');
    await settle();
    expect(
      view.store
        .getSnapshot()
        .members.map((m) => m.user_id)
        .sort(),
    ).toEqual(['alice', 'bob']);
    await world.clock.advance(10_000);
    expect(
      view.store
        .getSnapshot()
        .members.map((m) => m.user_id)
        .sort(),
    ).toEqual(['alice', 'bob', 'carol']);
    world.closeAll();
  });
});

describe('receipts', () => {
  it('marks delivered on receipt and read while visible, batched into one call each', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const alice = await world.client('alice');
    const bob = await world.client('bob');
    const aliceView = alice.chat.open(id);
    const bobView = bob.chat.open(id);
    await settle();
    for (let i = 1; i <= 3; i++) world.server.send('alice', id, `m${i}`);
    await world.clock.advance(1_000);
    const marks = () => world.server.calls.filter((c) => c.user === 'bob' && c.name.startsWith('mark_'));
    expect(marks().map((c) => [c.name, c.args.seq])).toEqual([['mark_delivered', 3]]);
    const last = () => aliceView.store.getSnapshot().messages.at(-1);
    const bobOf = () => aliceView.store.getSnapshot().members.find((m) => m.user_id === 'bob');
    expect(bobOf()).toMatchObject({ last_delivered_seq: 3, last_read_seq: 0 });
    bobView.setVisible(true);
    await world.clock.advance(1_000);
    expect(marks().map((c) => [c.name, c.args.seq])).toEqual([
      ['mark_delivered', 3],
      ['mark_read', 3],
    ]);
    expect(bobOf()).toMatchObject({ last_read_seq: 3 });
    expect(last()?.seq).toBe(3);
    expect(bob.chat.inbox.getSnapshot().entries[0]?.unread_count).toBe(0);
    world.closeAll();
  });
});

describe('connection status', () => {
  it('goes connecting → catching-up → live, offline when the socket is lost, and live again', async () => {
    const world = modelWorld();
    const seen: string[] = [];
    const transport = world.server.transport('bob');
    const { createChat } = await import('../../src/chat.ts');
    const { memoryStorage } = await import('../../src/outbox-storage.ts');
    const { singleTab } = await import('../../src/tabs.ts');
    const chat = createChat(null, {
      transport,
      clock: world.clock,
      random: () => 0.5,
      storage: memoryStorage(),
      tabs: singleTab(),
    });
    chat.connection.subscribe(() => {
      const state = chat.connection.getSnapshot().state;
      if (seen.at(-1) !== state) seen.push(state);
    });
    seen.push(chat.connection.getSnapshot().state);
    await chat.ready;
    await settle();
    transport.socket.disconnect();
    await settle();
    expect(chat.connection.getSnapshot().error?.code).toBe('channel_error');
    transport.socket.reconnect();
    await world.clock.advance(5_000);
    expect(seen).toEqual(['connecting', 'catching-up', 'live', 'offline', 'catching-up', 'live']);
    expect(chat.connection.getSnapshot()).toMatchObject({
      state: 'live',
      transport: 'realtime',
      error: null,
    });
    chat.close();
  });

  it('reports an expired session and joins again once the session is back', async () => {
    const world = modelWorld();
    const bob = await world.client('bob');
    bob.transport.authorizeFailure = new ChatError({
      status: 401,
      code: 'session_expired',
      message: 'sign in again',
    });
    bob.transport.socket.disconnect();
    bob.transport.socket.reconnect();
    await world.clock.advance(10_000);
    expect(bob.chat.connection.getSnapshot()).toMatchObject({
      state: 'offline',
      error: { code: 'session_expired' },
    });
    bob.transport.authorizeFailure = null;
    for (const listener of bob.transport.authListeners) listener('token-refreshed');
    await settle();
    expect(bob.chat.connection.getSnapshot().state).toBe('live');
    world.closeAll();
  });

  it('joins the user topic again after a refusal that passes (a policy check that failed with the database), and goes live', async () => {
    const world = modelWorld();
    const bob = await world.client('bob');
    expect(bob.chat.connection.getSnapshot().state).toBe('live');
    bob.transport.refuseNextJoins = 2; // the user topic's rejoin, twice
    bob.transport.socket.disconnect();
    bob.transport.socket.reconnect();
    await world.clock.advance(1_000);
    expect(bob.chat.connection.getSnapshot()).toMatchObject({
      state: 'offline',
      error: { code: 'join_refused' },
    });
    await world.clock.advance(60_000);
    expect(bob.chat.connection.getSnapshot()).toMatchObject({ state: 'live', error: null });
    world.closeAll();
  });

  it('surfaces a refused join of the user topic while it stays refused', async () => {
    const world = modelWorld();
    const transport = world.server.transport('bob');
    world.server.canJoin = () => false;
    const { createChat } = await import('../../src/chat.ts');
    const { memoryStorage } = await import('../../src/outbox-storage.ts');
    const chat = createChat(null, { transport, clock: world.clock, storage: memoryStorage() });
    await chat.ready;
    await world.clock.advance(60_000);
    expect(chat.connection.getSnapshot()).toMatchObject({
      state: 'offline',
      error: { code: 'join_refused' },
    });
    chat.close();
  });
});
