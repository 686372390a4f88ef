// Two people in two browser contexts, and a second tab: the conversation list
// moves and counts without a reload, opening a conversation clears its badge
// (in every tab) and turns the sender's tick to read, and typing shows on the
// other side until it stops.

import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  inboxOf,
  markPage,
  messagesOf,
  openBrowser,
  openFromList,
  type Person,
  screenshot,
  send,
  signUp,
  startDirect,
} from './support.ts';

const browser = await openBrowser();
let alice: Person;
let bob: Person;
let carol: Person;

beforeAll(async () => {
  [alice, bob, carol] = [
    await signUp(browser, 'Alice Archer'),
    await signUp(browser, 'Bob Baker'),
    await signUp(browser, 'Carol Cook'),
  ];
  // Bob has two conversations; Carol's is the newer one, so Alice's starts below it.
  await startDirect(alice, bob);
  await send(alice.page, 'Hi Bob, it is Alice');
  await startDirect(carol, bob);
  await send(carol.page, 'Hello from Carol');
  await vi.waitFor(
    async () =>
      expect((await inboxOf(bob.page)).map((entry) => entry.name)).toEqual(['Carol Cook', 'Alice Archer']),
    { timeout: 30_000, interval: 100 },
  );
});

describe('the conversation list', () => {
  it("moves Alice's conversation to the top of Bob's list with her words and an unread badge, without a reload", async () => {
    const notReloaded = await markPage(bob.page);
    await send(alice.page, 'Are you there?');
    await expect
      .poll(() => inboxOf(bob.page))
      .toEqual([
        { name: 'Alice Archer', preview: 'Are you there?', unread: 2 },
        { name: 'Carol Cook', preview: 'Hello from Carol', unread: 1 },
      ]);
    expect(await notReloaded()).toBe(true);
    await screenshot(bob.page, 'live-list-moved');
  });
});

describe('reading', () => {
  it("clears Bob's badge when he opens the conversation, and Alice sees her message read", async () => {
    const secondTab = await bob.context.newPage();
    await secondTab.goto(bob.page.url());
    await expect
      .poll(async () => (await inboxOf(secondTab))[0])
      .toMatchObject({ name: 'Alice Archer', unread: 2 });

    await openFromList(bob.page, 'Alice Archer');
    await expect.poll(() => messagesOf(bob.page)).toEqual(['Hi Bob, it is Alice', 'Are you there?']);
    await expect.poll(async () => (await inboxOf(bob.page))[0]?.unread).toBe(0);
    // The read in the first tab reaches the second one, which never opened the conversation.
    await expect.poll(async () => (await inboxOf(secondTab))[0]?.unread).toBe(0);
    await secondTab.close();

    const lastTick = alice.page.locator('li.message.mine').last().locator('.tick');
    await expect.poll(() => lastTick.getAttribute('data-receipt')).toBe('read');
    await expect.poll(() => alice.page.locator('.seen-by').textContent()).toBe('Seen');
    await screenshot(alice.page, 'live-read-tick');
  });
});

describe('typing', () => {
  it("shows Bob typing on Alice's side, and stops showing it when Bob clears the box", async () => {
    const typing = alice.page.locator('.typing');
    await bob.page.getByRole('textbox', { name: 'Message' }).pressSequentially('I am wri');
    await expect.poll(() => typing.textContent()).toBe('Bob Baker is typing…');
    await screenshot(alice.page, 'live-typing');
    await bob.page.getByRole('textbox', { name: 'Message' }).fill('');
    await expect.poll(() => typing.textContent()).toBe('');
  });

  it("stops showing it when Bob's tab goes away without saying stop", async () => {
    const typing = alice.page.locator('.typing');
    await bob.page.getByRole('textbox', { name: 'Message' }).pressSequentially('Wait, one more');
    await expect.poll(() => typing.textContent()).toBe('Bob Baker is typing…');
    await bob.page.close();
    await expect.poll(() => typing.textContent()).toBe('');
  });
});
