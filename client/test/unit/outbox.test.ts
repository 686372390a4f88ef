// The outbox state machine on a fake clock: pending → sent / failed, backoff
// and Retry-After, no retry of a refusal, order, persistence, one tab sending.

import { describe, expect, it } from 'vitest';
import { ChatError } from '../../src/errors.ts';
import { localStorageStorage, memoryStorage } from '../../src/outbox-storage.ts';
import { settle } from '../support/fake-clock.ts';
import { bodies, modelWorld } from '../support/model-chat.ts';
import { StorageArea } from '../support/storage-area.ts';

const rateLimited = (seconds: number) =>
  new ChatError({ status: 429, code: 'rate_limited', message: 'slow down', retryAfterMs: seconds * 1000 });

describe('the outbox', () => {
  it('shows a send at once as pending, then places it at its seq', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const bob = await world.client('bob');
    const view = bob.chat.open(id);
    await settle();
    bob.transport.failNextCalls = 1; // the first attempt gets no answer
    const { client_id } = await view.send('hello');
    await settle();
    expect(view.store.getSnapshot().messages).toMatchObject([
      { id: null, seq: null, body: 'hello', status: 'pending', client_id },
    ]);
    await world.clock.advance(1_000);
    expect(view.store.getSnapshot().messages).toMatchObject([
      { seq: 1, body: 'hello', status: 'sent', client_id },
    ]);
    world.closeAll();
  });

  it('waits for Retry-After on 429, then succeeds, once', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const bob = await world.client('bob');
    const view = bob.chat.open(id);
    await settle();
    world.server.sendFailures.push(rateLimited(10));
    const { client_id } = await view.send('patient');
    await settle();
    expect(view.store.getSnapshot().messages).toMatchObject([
      { status: 'pending', client_id, error: { code: 'rate_limited' } },
    ]);
    await world.clock.advance(9_000);
    expect(world.server.calls.filter((c) => c.name === 'send-message')).toHaveLength(1);
    await world.clock.advance(1_000);
    expect(world.server.calls.filter((c) => c.name === 'send-message')).toHaveLength(2);
    expect(bodies(view.store.getSnapshot().messages)).toEqual(['1:patient']);
    world.closeAll();
  });

  it('marks a refused send failed without retrying, and sends it again on retry with the same client_id', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const bob = await world.client('bob');
    const view = bob.chat.open(id);
    await settle();
    world.server.sendFailures.push(
      new ChatError({ status: 413, code: 'body_too_long', message: 'too long' }),
    );
    const { client_id } = await view.send('refused');
    await world.clock.advance(120_000);
    expect(world.server.calls.filter((c) => c.name === 'send-message')).toHaveLength(1);
    expect(view.store.getSnapshot().messages).toMatchObject([
      { status: 'failed', error: { status: 413, code: 'body_too_long' } },
    ]);
    await bob.chat.retry(client_id);
    await settle();
    expect(view.store.getSnapshot().messages).toMatchObject([{ seq: 1, status: 'sent', client_id }]);
    world.closeAll();
  });

  it('keeps sends while there is no answer and delivers them in order, each once, when the network is back', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const bob = await world.client('bob');
    const view = bob.chat.open(id);
    await settle();
    bob.transport.failNextCalls = 1_000;
    for (const text of ['one', 'two', 'three']) await view.send(text);
    await world.clock.advance(300_000);
    expect(view.store.getSnapshot().messages.map((m) => m.status)).toEqual(['pending', 'pending', 'pending']);
    bob.transport.failNextCalls = 0;
    await world.clock.advance(30_000);
    expect(bodies(view.store.getSnapshot().messages)).toEqual(['1:one', '2:two', '3:three']);
    expect(world.server.timeline(id)).toHaveLength(3);
    world.closeAll();
  });

  it('once the server has failed a send too often, fails what waits after it at its first server fault, and sends again when it answers', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const bob = await world.client('bob');
    const view = bob.chat.open(id);
    await settle();
    const down = () =>
      new ChatError({ status: 503, code: 'BOOT_ERROR', message: 'Function failed to start' });
    for (let i = 0; i < 10; i++) world.server.sendFailures.push(down());
    for (const text of ['one', 'two', 'three']) await view.send(text);
    // One send's backoff (0.5 s … 30 s, 8 attempts) is about a minute; not three.
    await world.clock.advance(120_000);
    expect(view.store.getSnapshot().messages.map((m) => m.status)).toEqual(['failed', 'failed', 'failed']);
    expect(world.server.calls.filter((c) => c.name === 'send-message')).toHaveLength(10);
    await view.send('four'); // the server answers again
    await settle();
    expect(bodies(view.store.getSnapshot().messages)).toEqual([
      '1:four',
      '-:one (failed)',
      '-:two (failed)',
      '-:three (failed)',
    ]);
    world.closeAll();
  });

  it('survives a reload through persistent storage', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const storage = localStorageStorage(new StorageArea());
    const first = await world.client('bob', { storage });
    first.transport.failNextCalls = 1_000;
    await first.chat.send(id, 'kept');
    first.chat.close();
    const second = await world.client('bob', { storage });
    const view = second.chat.open(id);
    await world.clock.advance(5_000);
    expect(bodies(view.store.getSnapshot().messages)).toEqual(['1:kept']);
    world.closeAll();
  });

  it('lets one tab send for all: the other tab’s send goes out once, from the leader, and both show it sent', async () => {
    const world = modelWorld();
    const id = world.server.createConversation('direct', ['alice', 'bob']);
    const storage = memorySharedStorage();
    const tabs = twoTabs();
    const leader = await world.client('bob', { storage, tabs: tabs[0] });
    const follower = await world.client('bob', { storage, tabs: tabs[1] });
    const leaderView = leader.chat.open(id);
    const followerView = follower.chat.open(id);
    await settle();
    await followerView.send('from the second tab');
    await settle();
    const sends = world.server.calls.filter((c) => c.name === 'send-message');
    expect(sends.map((c) => c.user)).toEqual(['bob']);
    expect(bodies(leaderView.store.getSnapshot().messages)).toEqual(['1:from the second tab']);
    expect(bodies(followerView.store.getSnapshot().messages)).toEqual(['1:from the second tab']);
    expect(follower.chat.outbox.getSnapshot()).toEqual([]);
    world.closeAll();
  });
});

function memorySharedStorage() {
  return { ...memoryStorage(), shared: true };
}

/** Two tabs in one process: the first to ask leads; messages go to the other. */
function twoTabs() {
  type Listener = Parameters<import('../../src/tabs.ts').TabCoordinator['onMessage']>[0];
  const listeners: Listener[][] = [[], []];
  let leader: number | null = null;
  return [0, 1].map((me) => ({
    lead(onLeader: () => void) {
      if (leader === null) {
        leader = me;
        onLeader();
      }
    },
    post(message: Parameters<Listener>[0]) {
      for (const listener of listeners[1 - me] ?? [])
        queueMicrotask(() => listener(structuredClone(message)));
    },
    onMessage(listener: Listener) {
      listeners[me]?.push(listener);
      return () => undefined;
    },
    close() {},
  }));
}
