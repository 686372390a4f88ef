// The property: whatever the network does to Realtime frames — drop, duplicate,
// reorder, delay, lose the socket — and whatever fails in between, once it is
// healed the client's timeline equals the server's, message for message, and
// each of the client's own sends is there exactly once.
//
// The server here is the in-memory MODEL (support/model-server.ts), so that
// thousands of runs take seconds; client/test/integration proves the same
// behaviours against the real stack. fast-check prints the seed and the
// shrunk counterexample of a failing run (replay: FC_SEED=<seed>).

import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import type { ChatMessage, MessageRow } from '../../src/types.ts';
import { settle } from '../support/fake-clock.ts';
import { modelWorld } from '../support/model-chat.ts';

type Action =
  | { type: 'send'; by: 'alice' | 'carol'; body: string }
  | { type: 'mySend'; body: string }
  | { type: 'edit' | 'delete'; index: number }
  | { type: 'react'; index: number; emoji: string; by: 'alice' | 'bob' | 'carol'; add: boolean }
  | { type: 'deliver' | 'drop' | 'duplicate'; index: number }
  | { type: 'disconnect' }
  | { type: 'reconnect' }
  | { type: 'failCalls'; count: number }
  | { type: 'wait'; ms: number };

const body = fc.string({ minLength: 1, maxLength: 8 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({
      type: fc.constant('send' as const),
      by: fc.constantFrom('alice' as const, 'carol' as const),
      body,
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ type: fc.constant('mySend' as const), body }), weight: 2 },
  {
    arbitrary: fc.record({ type: fc.constantFrom('edit' as const, 'delete' as const), index: fc.nat() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      type: fc.constant('react' as const),
      index: fc.nat(),
      emoji: fc.constantFrom('👍', '🎉'),
      by: fc.constantFrom('alice' as const, 'bob' as const, 'carol' as const),
      add: fc.boolean(),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ type: fc.constant('deliver' as const), index: fc.nat() }), weight: 8 },
  { arbitrary: fc.record({ type: fc.constant('drop' as const), index: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('duplicate' as const), index: fc.nat() }), weight: 2 },
  { arbitrary: fc.constant({ type: 'disconnect' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'reconnect' as const }), weight: 2 },
  {
    arbitrary: fc.record({ type: fc.constant('failCalls' as const), count: fc.integer({ min: 1, max: 3 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ type: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 5_000 }) }),
    weight: 2,
  },
);

/** What a person sees of a message, stored or shown. */
const SEEN = ['seq', 'body', 'deleted_at', 'edited_at', 'reactions', 'sender_id', 'client_id'] as const;
const comparable = (message: MessageRow | ChatMessage) => SEEN.map((field) => message[field]);

let world = modelWorld();
afterEach(() => world.closeAll());

it('the timeline equals the server’s after any run of network faults', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 40 }), async (actions) => {
      world.closeAll();
      world = modelWorld();
      const { server, clock } = world;
      const id = server.createConversation('group', ['alice', 'bob', 'carol'], 'faults');
      const bob = await world.client('bob');
      const socket = bob.transport.socket;
      const view = bob.chat.open(id);
      await settle();
      socket.faulty = true;
      const mine: string[] = [];

      for (const step of actions) {
        const messages = server.timeline(id);
        const target = messages.length
          ? messages[('index' in step ? step.index : 0) % messages.length]
          : undefined;
        switch (step.type) {
          case 'send':
            server.send(step.by, id, step.body);
            break;
          case 'mySend':
            mine.push((await view.send(step.body)).client_id);
            break;
          case 'edit':
            if (target?.sender_id === 'alice' && !target.deleted_at)
              server.edit('alice', target.id, `${target.body}*`);
            break;
          case 'delete':
            if (target?.sender_id === 'alice' && !target.deleted_at) server.edit('alice', target.id, null);
            break;
          case 'react':
            if (target) server.react(step.by, target.id, step.emoji, step.add);
            break;
          case 'deliver':
          case 'drop':
          case 'duplicate': {
            if (!socket.inflight.length) break;
            const index = step.index % socket.inflight.length;
            const frame = socket.inflight[index];
            if (step.type !== 'duplicate') socket.inflight.splice(index, 1);
            if (frame && step.type !== 'drop') socket.deliver(frame);
            break;
          }
          case 'disconnect':
            socket.disconnect();
            break;
          case 'reconnect':
            socket.reconnect();
            break;
          case 'failCalls':
            bob.transport.failNextCalls += step.count;
            break;
          case 'wait':
            await clock.advance(step.ms);
            break;
        }
        await settle(5);
      }

      // Heal: the network works again; whatever was in flight arrives or is lost.
      socket.reconnect();
      socket.faulty = false;
      for (const frame of socket.inflight.splice(0)) socket.deliver(frame);
      await clock.advance(120_000);

      const seen = view.store.getSnapshot().messages;
      const stored = server.timeline(id);
      expect(seen.map((m) => m.status)).toEqual(stored.map(() => 'sent'));
      expect(seen.map(comparable)).toEqual(stored.map(comparable));
      const mineStored = stored.filter((m) => m.sender_id === 'bob').map((m) => m.client_id);
      expect(mineStored).toEqual(mine);
      expect(bob.chat.outbox.getSnapshot()).toEqual([]);
    }),
    {
      numRuns: Number(process.env.FC_RUNS ?? 200),
      seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined,
    },
  );
});
