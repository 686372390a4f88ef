// No single client can take every Realtime slot: with the platform's limit of
// 200 concurrent users, 500 sockets with only the anon key (all from one
// address, as on loopback) get the share of one client, and Alice's private
// join still succeeds; a signed-in user gets a share of their own. On a stack
// of its own with the default limits (the shared stack lifts the shares).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../emulator/realtime/limits.ts';
import { ConcurrentUsers, identify } from '../../emulator/realtime/users.ts';
import { type Stack, startStack } from '../../emulator/stack.ts';
import type { TestUser } from '../../emulator/testing.ts';
import { RawSocket, subscribed, waitFor } from './realtime-support.ts';

describe('the shares of concurrent users', () => {
  const limits = {
    ...DEFAULT_LIMITS,
    maxConcurrentUsers: 10,
    maxConnectionsPerClient: 3,
    maxAnonymousConnections: 4,
  };
  const anonymous = (address: string) => identify({ role: 'anon' }, 'anon', address);
  const user = (sub: string) => identify({ role: 'authenticated', sub }, 'authenticated', '127.0.0.1');

  it('gives each address of tokenless sockets and each user a share, and tokenless sockets a pool', () => {
    const users = new ConcurrentUsers(limits);
    const admit = (identity: ReturnType<typeof identify>) => users.admit({}, identity);
    expect([1, 2, 3, 4].map(() => admit(anonymous('192.0.2.1')))).toEqual([
      undefined,
      undefined,
      undefined,
      'Too many connections from this address',
    ]);
    expect(admit(anonymous('192.0.2.2'))).toBeUndefined();
    expect(admit(anonymous('192.0.2.3'))).toBe('Too many connections without a user token');
    expect([1, 2, 3, 4].map(() => admit(user('alice')))).toEqual([
      undefined,
      undefined,
      undefined,
      'Too many connections for this user',
    ]);
    expect(admit(user('bob'))).toBeUndefined();
    expect(users.size).toBe(8);
  });

  it('counts the service role only in the total, and frees a share when a socket goes', () => {
    const users = new ConcurrentUsers(limits);
    const sockets = Array.from({ length: 10 }, () => ({}));
    for (const socket of sockets)
      expect(users.admit(socket, identify({}, 'service_role', '127.0.0.1'))).toBeUndefined();
    expect(users.admit({}, user('alice'))).toBe('Too many connected users');
    users.release(sockets[0] as object);
    const alice = {};
    expect(users.admit(alice, user('alice'))).toBeUndefined();
    users.release(alice);
    users.release(alice);
    expect(users.size).toBe(9);
  });
});

describe('500 anonymous sockets on a stack with the default limits', { tags: ['emulator-only'] }, () => {
  let stack: Stack;
  let alice: TestUser;
  let bob: TestUser;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    stack = await startStack({ port: 0, dbPort: 0, quiet: true, functions: false });
    [alice, bob] = await Promise.all([stack.createUser(), stack.createUser()]);
  }, 120_000);

  afterAll(() => stack?.stop());

  // Each test starts with no socket open (the shares count what is connected): what it opened, it closes.
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await alice.client.removeAllChannels();
    await waitFor(() => (stack.realtime.stats().connections === 0 ? true : undefined), 'every socket closed');
  });

  /** Opens a raw socket and joins `topic`; the reply's status and, for an error, its reason. */
  async function join(topic: string, payload: Record<string, unknown> = {}) {
    const socket = await RawSocket.open(stack.url, stack.anonKey);
    sockets.push(socket);
    const reply = await socket.join(`realtime:${topic}`, { config: {}, ...payload }, '1');
    const { status, response } = reply[4] as { status: string; response: { reason?: string } };
    return { status, reason: response.reason };
  }

  it("take one client's share, not the 200 slots, so Alice's private join succeeds", async () => {
    const replies: { status: string; reason?: string }[] = [];
    for (let batch = 0; batch < 10; batch++) {
      replies.push(...(await Promise.all(Array.from({ length: 50 }, () => join('lobby')))));
    }
    const joined = replies.filter((reply) => reply.status === 'ok');
    expect(joined).toHaveLength(DEFAULT_LIMITS.maxConnectionsPerClient);
    const refused = replies.filter((reply) => reply.status === 'error');
    expect(refused).toHaveLength(500 - DEFAULT_LIMITS.maxConnectionsPerClient);
    expect(new Set(refused.map((reply) => reply.reason))).toEqual(
      new Set(['ConnectionRateLimitReached: Too many connections from this address']),
    );

    await subscribed(alice.client.channel(`user:${alice.id}`, { config: { private: true } }));
    expect(stack.realtime.stats().users).toBe(DEFAULT_LIMITS.maxConnectionsPerClient + 1);
  });

  it('give a signed-in user a share of their own, however many sockets they open', async () => {
    const topic = `user:${bob.id}`;
    const payload = { config: { private: true }, access_token: bob.session.access_token };
    const replies = await Promise.all(
      Array.from({ length: DEFAULT_LIMITS.maxConnectionsPerClient + 3 }, () => join(topic, payload)),
    );
    expect(replies.filter((reply) => reply.status === 'ok')).toHaveLength(
      DEFAULT_LIMITS.maxConnectionsPerClient,
    );
    expect(replies.filter((reply) => reply.status === 'error').map((reply) => reply.reason)).toEqual([
      'ConnectionRateLimitReached: Too many connections for this user',
      'ConnectionRateLimitReached: Too many connections for this user',
      'ConnectionRateLimitReached: Too many connections for this user',
    ]);
    // Another socket of Alice's is counted in her share, not Bob's.
    expect(
      await join(`user:${alice.id}`, { config: { private: true }, access_token: alice.session.access_token }),
    ).toEqual({ status: 'ok', reason: undefined });
  });
});
