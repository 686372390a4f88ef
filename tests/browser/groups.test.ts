// Groups: Alice removes Carol, whose screen says so and shows nothing sent
// after it, while Bob's goes on with every message in order, no seq missing;
// a member added later finds the group at once, and can leave it.

import { expect, it } from 'vitest';
import {
  createGroupWith,
  database,
  inboxOf,
  markPage,
  messagesOf,
  openBrowser,
  openFromList,
  screenshot,
  send,
  signUp,
  timelineOf,
} from './support.ts';

const browser = await openBrowser();
const db = database();

it('removes Carol: she sees that and nothing after it, Bob misses nothing', async () => {
  const alice = await signUp(browser, 'Alice Abbott');
  const bob = await signUp(browser, 'Bob Bell');
  const carol = await signUp(browser, 'Carol Clark');
  const conversationId = await createGroupWith(alice, 'Book club', [bob, carol]);
  await openFromList(bob.page, 'Book club');
  await openFromList(carol.page, 'Book club');

  // Each answers what they have seen, so the server's order is the order written.
  await send(alice.page, 'Welcome to the book club');
  await expect.poll(() => messagesOf(carol.page)).toEqual(['Welcome to the book club']);
  await send(carol.page, 'Thanks for having me');
  await expect.poll(() => messagesOf(bob.page)).toEqual(['Welcome to the book club', 'Thanks for having me']);
  await send(bob.page, 'Hi both');
  for (const person of [alice, bob, carol]) {
    await expect
      .poll(() => messagesOf(person.page))
      .toEqual(['Welcome to the book club', 'Thanks for having me', 'Hi both']);
  }

  await alice.page.getByRole('button', { name: 'Members' }).click();
  await alice.page.getByRole('button', { name: 'Remove Carol Clark' }).click();
  await expect
    .poll(() => alice.page.getByRole('list', { name: 'Members' }).textContent())
    .not.toContain('Carol Clark');
  await alice.page.getByRole('button', { name: 'Done' }).click();

  await expect
    .poll(() => carol.page.getByRole('status', { name: 'Membership' }).textContent())
    .toBe('You were removed from this group.');
  await expect.poll(() => carol.page.getByRole('textbox', { name: 'Message' }).isDisabled()).toBe(true);

  await send(alice.page, 'Next month: a novel');
  await expect.poll(async () => (await messagesOf(bob.page)).at(-1)).toBe('Next month: a novel');
  await send(bob.page, 'Sounds good');
  const after = ['Next month: a novel', 'Sounds good'];
  await expect.poll(async () => (await messagesOf(bob.page)).slice(-2)).toEqual(after);
  await expect.poll(async () => (await messagesOf(alice.page)).slice(-2)).toEqual(after);
  // Bob has them, and the server stored them: Carol's screen has had its chance and shows none.
  expect(await messagesOf(carol.page)).toEqual([
    'Welcome to the book club',
    'Thanks for having me',
    'Hi both',
  ]);
  await screenshot(carol.page, 'groups-removed');
  await screenshot(bob.page, 'groups-after-removal');

  // Bob's screen is the server's conversation, message for message: no seq missing.
  const stored = await db.query(
    "select seq::int, body from public.messages where conversation_id = $1 and kind <> 'system' order by seq",
    [conversationId],
  );
  expect(await timelineOf(bob.page)).toEqual(
    stored.rows.map((row) => ({ body: row.body, seq: row.seq, state: 'sent' })),
  );
});

it('adds Dave, who finds the group in his list without a reload, and lets him leave', async () => {
  const alice = await signUp(browser, 'Alice Ash');
  const dave = await signUp(browser, 'Dave Dunn');
  const notReloaded = await markPage(dave.page);
  await createGroupWith(alice, 'Film night', []);
  await send(alice.page, 'Friday, 8 pm');
  // Added at once, while the group may still be loading on Alice's screen.
  await alice.page.getByRole('button', { name: 'Members' }).click();
  await alice.page.getByRole('button', { name: 'Add people' }).click();
  await alice.page.getByLabel('Search people').fill('Dave Dunn');
  await alice.page.getByRole('button', { name: 'Add Dave Dunn' }).click();
  await expect
    .poll(() => alice.page.getByRole('list', { name: 'Members' }).textContent())
    .toContain('Dave Dunn');
  await alice.page.getByRole('button', { name: 'Done' }).click();

  await expect
    .poll(async () => (await inboxOf(dave.page)).map((entry) => entry.name))
    .toEqual(['Film night']);
  expect(await notReloaded()).toBe(true);
  await openFromList(dave.page, 'Film night');
  await expect.poll(() => messagesOf(dave.page)).toEqual(['Friday, 8 pm']);

  await dave.page.getByRole('button', { name: 'Members' }).click();
  await dave.page.getByRole('button', { name: 'Leave group' }).click();
  await expect.poll(() => inboxOf(dave.page)).toEqual([]);
  await alice.page.getByRole('button', { name: 'Members' }).click();
  await expect
    .poll(() => alice.page.getByRole('list', { name: 'Members' }).textContent())
    .not.toContain('Dave Dunn');
});
