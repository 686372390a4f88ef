// Auth cannot stall the stack: passwords are hashed off the event loop, so a
// burst of sign-ins leaves REST and Realtime answering, and Auth's rate limits
// ([auth.rate_limit], per client address, GoTrue's buckets) turn the rest of a
// burst away with GoTrue's 429. On a stack of its own with small limits (the
// shared stack has them off, since every suite's requests come from 127.0.0.1).

import { randomUUID } from 'node:crypto';
import { AuthApiError } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthRateLimiter } from '../../emulator/auth/rate-limits.ts';
import { DEFAULT_AUTH_RATE_LIMITS } from '../../emulator/config.ts';
import { type Stack, startStack } from '../../emulator/stack.ts';
import { createStackClient, type TestUser } from '../../emulator/testing.ts';
import { RawSocket } from './realtime-support.ts';

/** GoTrue lets 30 requests through at once before the refill rate counts. */
const BURST = 30;

describe('the per-address buckets (GoTrue shapes)', () => {
  it('lets 30 sign-ins, refreshes or sign-ups through at once whatever the rate, then refuses', () => {
    const limiter = createAuthRateLimiter({
      ...DEFAULT_AUTH_RATE_LIMITS,
      token_refresh: 1,
      sign_in_sign_ups: 1,
    });
    for (const action of ['token', 'signups', 'user'] as const) {
      const taken = Array.from({ length: BURST + 5 }, () => limiter.take(action, '192.0.2.1'));
      expect(taken.filter(Boolean)).toHaveLength(BURST);
      expect(taken.slice(BURST).every((ok) => !ok)).toBe(true);
    }
  });

  it('allows anonymous_users anonymous sign-ins at once', () => {
    const limiter = createAuthRateLimiter({ ...DEFAULT_AUTH_RATE_LIMITS, anonymous_users: 3 });
    expect(Array.from({ length: 5 }, () => limiter.take('anonymous', '192.0.2.1'))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('keeps each address and each kind of request in a bucket of its own', () => {
    const limiter = createAuthRateLimiter({ ...DEFAULT_AUTH_RATE_LIMITS, anonymous_users: 1 });
    expect(limiter.take('anonymous', '192.0.2.1')).toBe(true);
    expect(limiter.take('anonymous', '192.0.2.1')).toBe(false);
    expect(limiter.take('anonymous', '192.0.2.2')).toBe(true);
    expect(limiter.take('token', '192.0.2.1')).toBe(true);
  });

  it('limits nothing when switched off, like the Supabase CLI', () => {
    const limiter = createAuthRateLimiter(false);
    expect(Array.from({ length: 100 }, () => limiter.take('anonymous', '192.0.2.1')).every(Boolean)).toBe(
      true,
    );
  });
});

describe('a stack with small auth limits', { tags: ['emulator-only'] }, () => {
  let stack: Stack;
  let user: TestUser;

  beforeAll(async () => {
    stack = await startStack({
      port: 0,
      dbPort: 0,
      quiet: true,
      functions: false,
      // Refills of one request per 5 minutes (per hour for anonymous sign-ins): nothing refills during the test.
      authRateLimits: { token_refresh: 1, sign_in_sign_ups: 1, anonymous_users: 3 },
    });
    user = await stack.createUser();
  }, 120_000);

  afterAll(() => stack?.stop());

  // One test, since both steps draw on the one password bucket, which does not refill meanwhile.
  it("keeps REST and Realtime answering while a burst of sign-ins is hashed, refuses the burst past the limit, and answers GoTrue's 429 body to a client that names no API version", async () => {
    const heartbeats = await RawSocket.open(stack.url, stack.anonKey);
    const attempts = BURST + 10;
    let answered = 0;
    const burst = Array.from({ length: attempts }, () =>
      createStackClient(stack)
        .auth.signInWithPassword({ email: user.email, password: 'not-the-password' })
        .finally(() => {
          answered += 1;
        }),
    );

    // Sent while the burst is in flight; each must answer before the burst has been answered in full.
    const rpc = await user.client.rpc('list_inbox');
    const answeredAtRpc = answered;
    heartbeats.send([null, 'beat', 'phoenix', 'heartbeat', {}]);
    await heartbeats.text((frame) => Array.isArray(frame) && frame[1] === 'beat', 'the heartbeat reply');
    const answeredAtHeartbeat = answered;

    const results = await Promise.all(burst);
    heartbeats.close();
    expect(rpc.error).toBeNull();
    expect(answeredAtRpc).toBeLessThan(attempts);
    expect(answeredAtHeartbeat).toBeLessThan(attempts);

    const codes = results.map(({ error }) => error?.code);
    expect(codes.filter((code) => code === 'invalid_credentials')).toHaveLength(BURST);
    const refused = results.filter(({ error }) => error?.status === 429);
    expect(refused).toHaveLength(attempts - BURST);
    for (const { error } of refused) {
      expect(error).toBeInstanceOf(AuthApiError);
      expect(error).toMatchObject({ code: 'over_request_rate_limit', message: 'Request rate limit reached' });
    }

    // The bucket stays empty, and a client that names no API version gets GoTrue's own body.
    const response = await fetch(`${stack.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { apikey: stack.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('x-sb-error-code')).toBe('over_request_rate_limit');
    expect(await response.json()).toEqual({
      code: 429,
      error_code: 'over_request_rate_limit',
      msg: 'Request rate limit reached',
    });
  });

  it('counts sign-ups (even refused ones) in a bucket of their own', async () => {
    // The stack's first user took one request of the bucket.
    const results = await Promise.all(
      Array.from({ length: BURST + 2 }, () =>
        createStackClient(stack).auth.signUp({
          email: `not-an-email-${randomUUID()}`,
          password: 'long-enough',
        }),
      ),
    );
    const codes = results.map(({ error }) => error?.code);
    expect(codes.filter((code) => code === 'validation_failed')).toHaveLength(BURST - 1);
    expect(codes.filter((code) => code === 'over_request_rate_limit')).toHaveLength(3);
  });

  it('limits anonymous sign-ins to anonymous_users', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => createStackClient(stack).auth.signInAnonymously()),
    );
    expect(results.filter(({ error }) => error === null)).toHaveLength(3);
    expect(results.filter(({ error }) => error?.code === 'over_request_rate_limit')).toHaveLength(2);
  });
});
