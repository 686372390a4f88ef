// A long conversation: it opens at the newest messages, scrolling up brings
// the older pages until the beginning, and a reload keeps the history and the
// sends that had not gone out yet, which then go out once each.

import type { Route } from 'playwright-core';
import { expect, it } from 'vitest';
import {
  database,
  openBrowser,
  openFromList,
  screenshot,
  seedMessages,
  send,
  signUp,
  startDirect,
  timelineOf,
  userIdOf,
} from './support.ts';

const browser = await openBrowser();
const db = database();
const HISTORY = 120;
const numbered = (n: number) => `Message number ${n}`;

it('pages older history in on scroll, and keeps history and pending sends across a reload', async () => {
  const alice = await signUp(browser, 'Alice Arden');
  const bob = await signUp(browser, 'Bob Blake');
  const conversationId = await startDirect(alice, bob);
  await seedMessages(db, {
    conversationId,
    senderId: await userIdOf(db, alice),
    count: HISTORY,
    text: numbered,
  });
  await openFromList(bob.page, 'Alice Arden');

  const seqs = async () => (await timelineOf(bob.page)).map((message) => message.seq);
  await expect.poll(async () => (await seqs()).at(-1)).toBe(HISTORY);
  expect((await seqs()).length).toBeLessThan(HISTORY);
  const edge = bob.page.locator('.history-edge');
  // Each scroll to the top brings one older page; a few pages hold the whole history.
  for (
    let page = 0;
    page < 10 && (await edge.textContent()) !== 'The beginning of the conversation';
    page++
  ) {
    await bob.page.locator('.timeline').evaluate((element) => {
      element.scrollTop = 0;
      element.dispatchEvent(new Event('scroll'));
    });
    await bob.page.waitForFunction(
      () => document.querySelector('ol[aria-label="Messages"]')?.getAttribute('aria-busy') !== 'true',
    );
  }
  expect(await seqs()).toEqual(Array.from({ length: HISTORY }, (_, index) => index + 1));
  await screenshot(bob.page, 'history-beginning');

  // The server cannot be reached for sends: they wait, and survive a reload.
  const unreachable = (route: Route) => route.abort('internetdisconnected');
  await bob.page.route('**/functions/v1/send-message', unreachable);
  const waiting = ['Still there?', 'Reply when you can'];
  for (const text of waiting) await send(bob.page, text);
  const pending = async () =>
    (await timelineOf(bob.page)).filter((message) => message.state !== 'sent').map((message) => message.body);
  await expect.poll(pending).toEqual(waiting);

  await bob.page.reload();
  await bob.page.getByRole('heading', { level: 2, name: 'Alice Arden' }).waitFor();
  await expect.poll(async () => (await timelineOf(bob.page)).at(0)?.seq).toBeGreaterThan(0);
  await expect.poll(pending).toEqual(waiting);
  const seen = await timelineOf(bob.page);
  expect(seen.filter((message) => message.state === 'sent').at(-1)).toEqual({
    body: numbered(HISTORY),
    seq: HISTORY,
    state: 'sent',
  });
  await screenshot(bob.page, 'history-pending-after-reload');

  await bob.page.unroute('**/functions/v1/send-message', unreachable);
  await expect.poll(pending).toEqual([]);
  const stored = await db.query(
    'select body, seq::int from public.messages where conversation_id = $1 and seq > $2 order by seq',
    [conversationId, HISTORY],
  );
  expect(stored.rows).toEqual([
    { body: waiting[0], seq: HISTORY + 1 },
    { body: waiting[1], seq: HISTORY + 2 },
  ]);
  await expect
    .poll(async () => (await timelineOf(alice.page)).slice(-2))
    .toEqual(waiting.map((body, index) => ({ body, seq: HISTORY + 1 + index, state: 'sent' })));
});
