// Unit tests for the memory of verified tokens: it must never outlive a token's
// expiry or its own time limit, and must stay bounded.

import assert from 'node:assert/strict';
import { VerifiedTokens } from './verified-tokens.ts';

const at = 1_800_000_000_000; // a fixed "now" (ms)
const seconds = (ms: number) => Math.floor(ms / 1000);

Deno.test('a remembered token is returned until its time limit', () => {
  const tokens = new VerifiedTokens(60_000);
  tokens.remember('a', { sub: 'u', exp: seconds(at) + 3600 }, at);
  assert.deepEqual(tokens.get('a', at + 59_999), { sub: 'u', exp: seconds(at) + 3600 });
  assert.equal(tokens.get('a', at + 60_000), undefined);
  assert.equal(tokens.size, 0);
});

Deno.test('an expired token is never returned (exp <= now, as jwtVerify decides)', () => {
  const tokens = new VerifiedTokens(60_000);
  tokens.remember('a', { exp: seconds(at) + 10 }, at);
  assert.ok(tokens.get('a', at + 9_999));
  assert.equal(tokens.get('a', at + 10_000), undefined);
});

Deno.test('a token without exp lasts only the time limit', () => {
  const tokens = new VerifiedTokens(1000);
  tokens.remember('a', { sub: 'u' }, at);
  assert.ok(tokens.get('a', at + 999));
  assert.equal(tokens.get('a', at + 1000), undefined);
});

Deno.test('unknown tokens are not returned, and the memory stays bounded', () => {
  const tokens = new VerifiedTokens(60_000, 2);
  assert.equal(tokens.get('never', at), undefined);
  tokens.remember('a', { exp: seconds(at) + 60 }, at);
  tokens.remember('b', { exp: seconds(at) + 60 }, at);
  tokens.remember('c', { exp: seconds(at) + 60 }, at);
  assert.equal(tokens.size, 2);
  assert.equal(tokens.get('a', at), undefined);
  assert.ok(tokens.get('b', at));
  assert.ok(tokens.get('c', at));
});
