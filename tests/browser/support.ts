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
