// Offline and back: Bob's browser loses the network while Alice sends five
// messages and Bob writes two; Bob's show as pending and the indicator says
// offline. Back online, both screens hold all seven exactly once, in the order
// the server numbered them.

import { expect, it } from 'vitest';
import {
  createGroupWith,
  database,
  openBrowser,
  openFromList,
  screenshot,
  send,
  signUp,
  timelineOf,
} from './support.ts';

const browser = await openBrowser();
const db = database();

it("loses nothing and doubles nothing while Bob's browser is offline", async () => {
  const alice = await signUp(browser, 'Alice Avery');
  const bob = await signUp(browser, 'Bob Bishop');
  // A group, so that nothing can travel peer to peer while Bob is offline.
  const conversationId = await createGroupWith(alice, 'Weekend plans', [bob]);
  await openFromList(bob.page, 'Weekend plans');
  const indicator = bob.page.getByRole('status', { name: /^Connection:/ });
  await expect.poll(() => indicator.getAttribute('aria-label')).toBe('Connection: Live via Realtime');

  await bob.context.setOffline(true);
  await expect.poll(() => indicator.getAttribute('aria-label')).toBe('Connection: Offline');
  const fromAlice = ['A1 Saturday?', 'A2 or Sunday', 'A3 morning is best', 'A4 bring snacks', 'A5 see you'];
  for (const text of fromAlice) await send(alice.page, text);
  const fromBob = ['B1 Saturday works', 'B2 I will bring snacks'];
  for (const text of fromBob) await send(bob.page, text);
  await expect
    .poll(async () => (await timelineOf(bob.page)).filter((message) => message.state === 'pending').length)
    .toBe(2);
  await screenshot(bob.page, 'offline-pending');

  await bob.context.setOffline(false);
  const stored = async () =>
    (
      await db.query(
        'select body from public.messages where conversation_id = $1 and kind = $2 order by seq',
        [conversationId, 'text'],
      )
    ).rows.map((row) => row.body as string);
  await expect.poll(stored).toHaveLength(7);
  const order = await stored();
  expect(order.filter((body) => body.startsWith('A'))).toEqual(fromAlice);
  expect(order.filter((body) => body.startsWith('B'))).toEqual(fromBob);

  for (const person of [alice, bob]) {
    await expect
      .poll(async () => (await timelineOf(person.page)).map((message) => `${message.state} ${message.body}`))
      .toEqual(order.map((body) => `sent ${body}`));
  }
  await expect.poll(() => indicator.getAttribute('aria-label')).toBe('Connection: Live via Realtime');
  await screenshot(bob.page, 'offline-back-online');
});
