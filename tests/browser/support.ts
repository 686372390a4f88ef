// Helpers for the browser tests: one Chromium per file, a browser context per
// person (its own storage, so its own session), screenshots as artifacts, and
// the database for checks the screen cannot make.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, inject } from 'vitest';
import { launchChromium } from './chromium.ts';

export const stack = inject('browserStack');

const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');

/** A Chromium for this file, closed after its tests. */
export async function openBrowser(): Promise<Browser> {
  const browser = await launchChromium();
  afterAll(() => browser.close());
  return browser;
}

export interface Person {
  name: string;
  email: string;
  password: string;
  context: BrowserContext;
  page: Page;
}

/**
 * A browser context of its own at the app. Media permission lets Chromium offer
 * WebRTC candidates of every interface (here: loopback) instead of only the
 * default route's address, which the tests' network namespace does not have.
 */
export async function newContext(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  await context.grantPermissions(['camera', 'microphone'], { origin: stack.url });
  const page = await context.newPage();
  await page.goto(`${stack.url}/`);
  return { context, page };
}

/** Signs a new person up through the app's own form. */
export async function signUp(browser: Browser, name: string): Promise<Person> {
  const { context, page } = await newContext(browser);
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${randomUUID().slice(0, 8)}@example.test`;
  const password = `pw-${randomUUID()}`;
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Display name').fill(name);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('complementary', { name: 'Conversations' }).waitFor();
  return { name, email, password, context, page };
}

/** A screenshot of the page, kept in tests/browser/artifacts/ (not committed). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** The database as `postgres`, for what the screen cannot tell (e.g. a message stored once). */
export function database(): pg.Pool {
  const pool = new pg.Pool({ connectionString: stack.dbUrl, max: 2 });
  afterAll(() => pool.end());
  return pool;
}

/** The conversation list as the person sees it, top first. */
export async function inboxOf(page: Page): Promise<{ name: string; preview: string; unread: number }[]> {
  return page.locator('.inbox-item').evaluateAll((items) =>
    items.map((item) => ({
      name: item.querySelector('.inbox-title')?.textContent ?? '',
      preview: item.querySelector('.inbox-preview')?.textContent ?? '',
      unread: Number(item.querySelector('.badge')?.textContent ?? 0),
    })),
  );
}

/** The texts of the open conversation's messages, top to bottom. */
export function messagesOf(page: Page): Promise<string[]> {
  return page.locator('ol[aria-label="Messages"] li.message .body').allTextContents();
}

/** The open conversation's messages with their seq and send state, top to bottom. */
export async function timelineOf(page: Page): Promise<{ body: string; seq: number | null; state: string }[]> {
  return page.locator('ol[aria-label="Messages"] li.message').evaluateAll((items) =>
    items.map((item) => ({
      body: item.querySelector('.body')?.textContent ?? '',
      seq: item.getAttribute('data-seq') ? Number(item.getAttribute('data-seq')) : null,
      state: ['pending', 'failed', 'sent'].find((state) => item.classList.contains(state)) ?? '',
    })),
  );
}

/** Opens a conversation from the list by its name. */
export async function openFromList(page: Page, name: string): Promise<void> {
  await page
    .locator('.inbox-item a')
    .filter({ has: page.locator('.inbox-title', { hasText: name }) })
    .click();
  await page.getByRole('heading', { level: 2, name }).waitFor();
}

/** Starts (or reopens) the direct conversation with `other` through "New message". */
export async function startDirect(person: Person, other: Person): Promise<string> {
  const { page } = person;
  await page.getByRole('button', { name: 'New message' }).click();
  await page.getByLabel('Search people').fill(other.name);
  await page.getByRole('button', { name: `Message ${other.name}` }).click();
  await page.getByRole('heading', { level: 2, name: other.name }).waitFor();
  return conversationIdOf(page);
}

/** Creates a group with the others through "New group". */
export async function createGroupWith(person: Person, title: string, others: Person[]): Promise<string> {
  const { page } = person;
  await page.getByRole('button', { name: 'New group' }).click();
  await page.getByLabel('Group name').fill(title);
  for (const other of others) {
    await page.getByLabel('Search people').fill(other.name);
    await page.getByRole('button', { name: `Add ${other.name}` }).click();
  }
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('heading', { level: 2, name: title }).waitFor();
  return conversationIdOf(page);
}

export function conversationIdOf(page: Page): string {
  const id = /#\/c\/([0-9a-f-]{36})$/.exec(page.url())?.[1];
  if (!id) throw new Error(`no conversation is open at ${page.url()}`);
  return id;
}

/** Types and sends a message in the open conversation. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

/** A mark on the page's window that a reload would wipe: proof that something happened without one. */
export async function markPage(page: Page): Promise<() => Promise<boolean>> {
  const mark = randomUUID();
  await page.evaluate((value) => {
    (window as unknown as { testMark: string }).testMark = value;
  }, mark);
  return () =>
    page.evaluate((value) => (window as unknown as { testMark?: string }).testMark === value, mark);
}

/**
 * Stores `count` messages from `senderId` in one transaction, as that user and
 * through the same send_message as the app (so numbered and announced alike).
 * The send rule's burst is raised inside the transaction only: nobody else sees it.
 */
export async function seedMessages(
  db: pg.Pool,
  options: { conversationId: string; senderId: string; count: number; text: (n: number) => string },
): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('begin');
    await client.query(
      "update private.rate_limit_rules set capacity = capacity + $1 where action = 'send_message'",
      [options.count],
    );
    await client.query(
      "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)",
      [JSON.stringify({ sub: options.senderId, role: 'authenticated', aud: 'authenticated' })],
    );
    for (let n = 1; n <= options.count; n++) {
      await client.query('select public.send_message($1, $2, $3)', [
        options.conversationId,
        randomUUID(),
        options.text(n),
      ]);
    }
    await client.query('reset role');
    await client.query(
      "update private.rate_limit_rules set capacity = capacity - $1 where action = 'send_message'",
      [options.count],
    );
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

export async function userIdOf(db: pg.Pool, person: Person): Promise<string> {
  const { rows } = await db.query('select id from auth.users where email = $1', [person.email]);
  return rows[0].id as string;
}
