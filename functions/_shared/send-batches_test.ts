// Unit tests of the batching of SendBatches (what reaches the database is proven end to end
// by tests/e2e, and private.send_messages by pgTAP): which sends travel together, in which
// order, and that every send gets its own answer.

import assert from 'node:assert/strict';
import type { Caller } from './auth.ts';
import { type Answer, type Send, SendBatches, SendError } from './send-batches.ts';

const user = (userId: string): Caller & { userId: string } => ({
  userId,
  role: 'authenticated',
  claims: { sub: userId, role: 'authenticated' },
});
const send = (userId: string, clientId: string): Send => ({
  caller: user(userId),
  input: { client_id: clientId },
});

/** A runner that holds each batch until released, and records what it was given. */
function heldRunner() {
  const batches: string[][] = [];
  /** The lane each send's batch ran on, by client_id. */
  const lanes = new Map<string, number>();
  const releases: (() => void)[] = [];
  const run = (sends: Send[], lane: number): Promise<Answer<string>[]> => {
    batches.push(sends.map((s) => String(s.input.client_id)));
    for (const s of sends) lanes.set(String(s.input.client_id), lane);
    return new Promise((resolve) =>
      releases.push(() =>
        resolve(
          sends.map((s) =>
            s.input.client_id === 'bad'
              ? { error: { code: 'PGRST', message: '{"code":"bad"}', detail: '{"status":400}' } }
              : { result: `stored ${s.input.client_id}` },
          ),
        ),
      ),
    );
  };
  return { run, batches, lanes, release: () => releases.shift()?.() };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test('a send alone goes at once; those arriving meanwhile go together in the next batch', async () => {
  const runner = heldRunner();
  const batches = new SendBatches(runner.run, 1, 64);
  const first = batches.submit(send('u1', 'a'));
  await settle();
  assert.deepEqual(runner.batches, [['a']]);
  const later = [batches.submit(send('u2', 'b')), batches.submit(send('u1', 'c'))];
  await settle();
  assert.deepEqual(runner.batches, [['a']], 'nothing more goes while the first batch is in the database');
  runner.release();
  assert.equal(await first, 'stored a');
  await settle();
  assert.deepEqual(runner.batches, [['a'], ['b', 'c']]);
  runner.release();
  assert.deepEqual(await Promise.all(later), ['stored b', 'stored c']);
});

Deno.test('a batch holds at most maxBatch sends; the rest follow in order', async () => {
  const runner = heldRunner();
  const batches = new SendBatches(runner.run, 1, 2);
  const all = ['a', 'b', 'c', 'd', 'e'].map((id) => batches.submit(send('u1', id)));
  for (let i = 0; i < 3; i++) {
    await settle();
    runner.release();
  }
  assert.deepEqual(await Promise.all(all), ['stored a', 'stored b', 'stored c', 'stored d', 'stored e']);
  assert.deepEqual(runner.batches, [['a'], ['b', 'c'], ['d', 'e']]);
});

Deno.test('a refused send is rejected alone, with its SQL error fields', async () => {
  const runner = heldRunner();
  const batches = new SendBatches(runner.run, 1, 64);
  const held = batches.submit(send('u1', 'first'));
  const good = batches.submit(send('u1', 'good'));
  const bad = batches.submit(send('u1', 'bad'));
  runner.release();
  await held;
  await settle();
  runner.release();
  assert.equal(await good, 'stored good');
  const error = await bad.then(
    () => assert.fail('the bad send was answered as stored'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof SendError);
  assert.equal(error.code, 'PGRST');
  assert.equal(error.detail, '{"status":400}');
});

Deno.test('a failed transaction rejects every send of its batch, and the lane goes on', async () => {
  // Batches of one commit; the batch of two loses its connection.
  const batches = new SendBatches<string>(
    (sends) =>
      sends.length > 1
        ? Promise.reject(new Error('connection lost'))
        : Promise.resolve(sends.map(() => ({ result: 'stored' }))),
    1,
    64,
  );
  const alone = batches.submit(send('u1', 'a'));
  const together = [batches.submit(send('u1', 'b')), batches.submit(send('u2', 'c'))];
  assert.equal(await alone, 'stored');
  const outcomes = await Promise.allSettled(together);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['rejected', 'rejected'],
  );
  assert.equal(await batches.submit(send('u1', 'd')), 'stored');
});

Deno.test("lanes run batches beside each other; one sender's sends stay in order", async () => {
  const runner = heldRunner();
  const batches = new SendBatches(runner.run, 4, 64);
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
  const first = users.map((u) => batches.submit(send(u, `${u}:1`)));
  await settle();
  const inFlight = runner.batches.length;
  assert.ok(inFlight > 1 && inFlight <= 4, `${inFlight} batches at once over 4 lanes`);
  const second = users.map((u) => batches.submit(send(u, `${u}:2`)));
  let done = false;
  const all = Promise.all([...first, ...second]).then(() => {
    done = true;
  });
  while (!done) {
    runner.release();
    await settle();
  }
  await all;
  assert.equal(runner.batches.flat().length, 80);
  for (const u of users) {
    const order = runner.batches.flat().filter((id) => id.startsWith(`${u}:`));
    assert.deepEqual(order, [`${u}:1`, `${u}:2`], `${u}'s sends in order`);
    const lane = runner.lanes.get(`${u}:1`) as number;
    assert.ok(lane >= 0 && lane < 4, `${u}'s lane ${lane}`);
    assert.equal(runner.lanes.get(`${u}:2`), lane, `${u}'s sends on one lane`);
  }
  assert.ok(new Set(runner.lanes.values()).size > 1, 'more than one lane used');
});
