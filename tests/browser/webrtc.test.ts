// A direct conversation goes peer to peer: with both people in it, the
// indicator says WebRTC, a message reaches the other side while the server has
// not stored it yet (so it cannot have come through Realtime), and once stored
// it is in the database exactly once and on screen exactly once.

import type { Route } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  database,
  messagesOf,
  openBrowser,
  openFromList,
  screenshot,
  send,
  signUp,
  startDirect,
  timelineOf,
} from './support.ts';

const browser = await openBrowser();
const db = database();

const storedCopies = async (conversationId: string, body: string) =>
  (
    await db.query(
      'select count(*)::int as n from public.messages where conversation_id = $1 and body = $2',
      [conversationId, body],
    )
  ).rows[0].n as number;

it('opens a WebRTC link between two people in their direct conversation and sends over it', async () => {
  const alice = await signUp(browser, 'Alice Ames');
  const bob = await signUp(browser, 'Bob Bright');
  const conversationId = await startDirect(alice, bob);
  await send(alice.page, 'Shall we go direct?');
  await openFromList(bob.page, 'Alice Ames');

  for (const person of [alice, bob]) {
    await expect
      .poll(() => person.page.getByRole('status', { name: /^Connection:/ }).getAttribute('aria-label'))
      .toBe('Connection: Live via WebRTC');
  }
  await screenshot(bob.page, 'webrtc-indicator');

  // Hold Alice's call to the server: whatever Bob sees meanwhile came peer to peer.
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const holdSend = async (route: Route) => {
    await held;
    await route.continue();
  };
  await alice.page.route('**/functions/v1/send-message', holdSend);
  const text = 'This one goes straight to you';
  await send(alice.page, text);
  await expect.poll(() => messagesOf(bob.page)).toContain(text);
  expect(await storedCopies(conversationId, text)).toBe(0);
  await screenshot(bob.page, 'webrtc-message-before-stored');

  release();
  await expect.poll(() => storedCopies(conversationId, text)).toBe(1);
  for (const person of [alice, bob]) {
    await expect
      .poll(async () => (await timelineOf(person.page)).filter((message) => message.body === text))
      .toEqual([{ body: text, seq: 2, state: 'sent' }]);
  }
  await alice.page.unroute('**/functions/v1/send-message', holdSend);
  expect(await storedCopies(conversationId, text)).toBe(1);
});
