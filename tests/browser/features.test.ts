// What people do to messages, seen from the other side: replies, reactions,
// edits and deletes; and what goes wrong said plainly: a too-long message, an
// edit refused by the rate limit, a send the server refuses, retried once allowed.

import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  database,
  messagesOf,
  openBrowser,
  openFromList,
  type Person,
  screenshot,
  send,
  signUp,
  startDirect,
  timelineOf,
  userIdOf,
} from './support.ts';

const browser = await openBrowser();
const db = database();
let alice: Person;
let bob: Person;

beforeAll(async () => {
  alice = await signUp(browser, 'Alice Avon');
  bob = await signUp(browser, 'Bob Burke');
  await startDirect(alice, bob);
  await send(alice.page, 'Lunch at noon?');
  await openFromList(bob.page, 'Alice Avon');
  await vi.waitFor(async () => expect(await messagesOf(bob.page)).toEqual(['Lunch at noon?']), {
    timeout: 30_000,
    interval: 100,
  });
});

const messageNamed = (person: Person, text: string) =>
  person.page.locator('li.message').filter({ has: person.page.locator('.body', { hasText: text }) });

describe('messages', () => {
  it('shows a reply with what it answers, and a reaction, on both sides', async () => {
    const lunch = messageNamed(bob, 'Lunch at noon?');
    await lunch.hover();
    await lunch.getByRole('button', { name: 'Reply' }).click();
    await send(bob.page, 'Noon works');
    await expect
      .poll(() => messageNamed(alice, 'Noon works').locator('.quote').textContent())
      .toBe('You Lunch at noon?');

    await lunch.hover();
    await lunch.getByRole('button', { name: 'Add a reaction' }).click();
    await lunch.getByRole('button', { name: 'React with 👍' }).click();
    const reaction = messageNamed(alice, 'Lunch at noon?').locator('.reaction');
    await expect.poll(() => reaction.getAttribute('aria-label')).toBe('👍 1: Bob Burke');
    await screenshot(alice.page, 'features-reply-reaction');
  });

  it('shows an edit and a delete on the other side', async () => {
    await send(alice.page, 'See you at the cafe');
    const sent = messageNamed(alice, 'See you at the cafe');
    await expect.poll(() => sent.getAttribute('class')).toContain('sent');
    await sent.hover();
    await sent.getByRole('button', { name: 'Edit' }).click();
    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.fill('See you at the park');
    await box.press('Enter');
    const edited = messageNamed(bob, 'See you at the park');
    await expect.poll(() => edited.locator('.meta').textContent()).toContain('edited');
    expect(await messagesOf(bob.page)).not.toContain('See you at the cafe');

    const mine = messageNamed(alice, 'See you at the park');
    await mine.hover();
    alice.page.once('dialog', (dialog) => void dialog.accept());
    await mine.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => messagesOf(bob.page)).toContain('This message was deleted');
    expect(await messagesOf(bob.page)).not.toContain('See you at the park');
  });
});

describe('keyboard and small screens', () => {
  it('replies with the keyboard alone: the actions take focus, Enter sends, Escape lets go', async () => {
    const box = bob.page.getByRole('textbox', { name: 'Message' });
    await messageNamed(bob, 'Lunch at noon?').getByRole('button', { name: 'Reply' }).focus();
    await bob.page.keyboard.press('Enter');
    await expect
      .poll(() => bob.page.locator('.composer-context').textContent())
      .toContain('Replying to Alice Avon');
    await expect.poll(() => box.evaluate((element) => element === document.activeElement)).toBe(true);
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => bob.page.locator('.composer-context').count()).toBe(0);
    await bob.page.keyboard.type('Typed, not clicked');
    await bob.page.keyboard.press('Enter');
    await expect.poll(() => messagesOf(alice.page)).toContain('Typed, not clicked');
  });

  it('shows one pane at a time on a phone-sized screen, with a way back to the list', async () => {
    const { page } = bob;
    await page.setViewportSize({ width: 390, height: 760 });
    const list = page.getByRole('complementary', { name: 'Conversations' });
    expect(await list.isVisible()).toBe(false);
    await screenshot(page, 'phone-conversation');
    await page.getByRole('button', { name: 'Back to conversations' }).click();
    await expect.poll(() => list.isVisible()).toBe(true);
    expect(await page.getByRole('textbox', { name: 'Message' }).isVisible()).toBe(false);
    await screenshot(page, 'phone-list');
    await openFromList(page, 'Alice Avon');
    await page.setViewportSize({ width: 1100, height: 720 });
  });
});

describe('errors', () => {
  it('explains a message that is too long and does not send it', async () => {
    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.fill('x'.repeat(4001));
    await expect
      .poll(() => alice.page.getByRole('alert').textContent())
      .toBe('That message is too long: keep it under 4,000 characters.');
    expect(await alice.page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    await box.fill('');
  });

  it('says when to try again when an edit hits the rate limit', async () => {
    await send(alice.page, 'Typo in this mesage');
    const message = messageNamed(alice, 'Typo in this mesage');
    await expect.poll(() => message.getAttribute('class')).toContain('sent');
    // As if Alice had just made many edits: her edit bucket is empty for about half a minute.
    await db.query(
      `insert into private.rate_limit_buckets (user_id, action, tokens, refreshed_at)
       values ($1, 'edit_message', -30, now())
       on conflict (user_id, action) do update set tokens = -30, refreshed_at = now()`,
      [await userIdOf(db, alice)],
    );
    await message.hover();
    await message.getByRole('button', { name: 'Edit' }).click();
    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.fill('Typo in this message');
    await box.press('Enter');
    await expect
      .poll(() => alice.page.locator('.composer').getByRole('alert').textContent())
      .toMatch(/^You're going a bit fast\. Try again in \d+ seconds\.$/);
    await screenshot(alice.page, 'features-rate-limited');
    // What Alice wrote is still there to try again.
    expect(await box.inputValue()).toBe('Typo in this message');
    expect(await messagesOf(bob.page)).toContain('Typo in this mesage');
    await alice.page.getByRole('button', { name: 'Cancel editing' }).click();
  });

  it('shows a send the server refuses as failed with the reason, and sends it once on retry', async () => {
    const [aliceId, bobId] = [await userIdOf(db, alice), await userIdOf(db, bob)];
    await db.query('insert into private.blocked_users (blocker_id, blocked_id) values ($1, $2)', [
      aliceId,
      bobId,
    ]);
    await send(bob.page, 'Are you upset?');
    const failed = messageNamed(bob, 'Are you upset?');
    await expect
      .poll(() => failed.getByRole('alert').textContent())
      .toContain('Not sent: You cannot message this person.');
    await screenshot(bob.page, 'features-send-failed');

    await db.query('delete from private.blocked_users where blocker_id = $1 and blocked_id = $2', [
      aliceId,
      bobId,
    ]);
    await failed.getByRole('button', { name: 'Retry' }).click();
    await expect
      .poll(async () => (await timelineOf(bob.page)).filter((message) => message.body === 'Are you upset?'))
      .toEqual([{ body: 'Are you upset?', seq: expect.any(Number), state: 'sent' }]);
    await expect.poll(() => messagesOf(alice.page)).toContain('Are you upset?');
    const stored = await db.query('select count(*)::int as n from public.messages where body = $1', [
      'Are you upset?',
    ]);
    expect(stored.rows[0].n).toBe(1);
  });
});
