// Signing in as a person does it: an account with a password, a guest with a
// name, signing out and back in, a wrong password said plainly, a reload that
// keeps the session.

import { expect, it } from 'vitest';
import { newContext, openBrowser, screenshot, signUp } from './support.ts';

const browser = await openBrowser();

it('creates an account, signs out, and signs back in with the same password', async () => {
  const alice = await signUp(browser, 'Alice Adams');
  const { page } = alice;
  await expect.poll(() => page.locator('.me .grow').textContent()).toBe('Alice Adams');
  await screenshot(page, 'auth-signed-in');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(alice.email);
  await page.getByLabel('Password').fill(alice.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.locator('.me .grow').textContent()).toBe('Alice Adams');

  await page.reload();
  await expect.poll(() => page.locator('.me .grow').textContent()).toBe('Alice Adams');
  await alice.context.close();
});

it('says plainly when the password is wrong, and stays on the sign-in form', async () => {
  const bob = await signUp(browser, 'Bob Brown');
  await bob.page.getByRole('button', { name: 'Sign out' }).click();
  const { page } = bob;
  await page.getByLabel('Email').fill(bob.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect
    .poll(() => page.getByRole('alert').textContent())
    .toBe('That email and password do not match an account.');
  await screenshot(page, 'auth-wrong-password');
  expect(await page.getByRole('complementary', { name: 'Conversations' }).count()).toBe(0);
  await bob.context.close();
});

it('lets a guest in with only a display name', async () => {
  const { context, page } = await newContext(browser);
  await page.getByRole('tab', { name: 'Guest' }).click();
  await page.getByLabel('Display name').fill('Gina Guest');
  await page.getByRole('button', { name: 'Continue as guest' }).click();
  await expect.poll(() => page.locator('.me .grow').textContent()).toBe('Gina Guest · guest');
  await context.close();
});
