// Private channels are authorized by RLS on realtime.messages, as on the
// platform: read on join, write lazily on the first send, both cached per
// channel and checked again on every new access token; a token that expires
// or a permission that disappears ends the channel with a system error.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadKeys } from '../../emulator/keys.ts';
import { quietLogger } from '../../emulator/log.ts';
import { startRealtime } from '../../emulator/realtime/index.ts';
import { createStackClient } from '../../emulator/testing.ts';
import {
  addMember,
  disconnectAfterAll,
  inbox,
  installFixtures,
  subscribe,
  subscribed,
  systemMessages,
  topicName,
  waitFor,
} from './realtime-support.ts';
import { anonClient, mintToken, newUser, sqlPool, stack } from './support.ts';

const db = sqlPool();
const keep = disconnectAfterAll();
beforeAll(() => installFixtures(db));

const member = async (topic: string, options?: Parameters<typeof addMember>[3]) => {
  const user = await newUser();
  keep(user.client);
  await addMember(db, topic, user.id, options);
  return user;
};

describe('joining a private channel', () => {
  it('lets a member in and keeps a non-member out with the platform reason', async () => {
    const topic = topicName('join');
    const alice = await member(topic);
    const mallory = await newUser();
    keep(mallory.client);

    expect((await subscribe(alice.client.channel(topic, { config: { private: true } })).first).status).toBe(
      'SUBSCRIBED',
    );
    const denied = await subscribe(mallory.client.channel(topic, { config: { private: true } })).first;
    expect(denied.status).toBe('CHANNEL_ERROR');
    expect(denied.error?.message).toBe(
      `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`,
    );
  });

  it('keeps anonymous clients (anon key, no user) out of a private topic', async () => {
    const client = keep(anonClient());
    const denied = await subscribe(client.channel(topicName('anon'), { config: { private: true } })).first;
    expect(denied.status).toBe('CHANNEL_ERROR');
    expect(denied.error?.message).toMatch(
      /^Unauthorized: You do not have permissions to read from this Channel topic: /,
    );
  });

  it('treats a policy that raises an error as a denial', async () => {
    const user = await newUser();
    keep(user.client);
    const denied = await subscribe(user.client.channel('rt-test:boom', { config: { private: true } })).first;
    expect(denied.status).toBe('CHANNEL_ERROR');
    expect(denied.error?.message).toBe(
      'Unauthorized: You do not have permissions to read from this Channel topic: rt-test:boom',
    );
  });

  it('lets anyone join a public channel of the same name, which is a different channel', async () => {
    const topic = topicName('public-twin');
    const alice = await member(topic);
    const outsider = await newUser();
    keep(outsider.client);
    const privateChannel = alice.client.channel(topic, { config: { private: true } });
    const publicTwin = outsider.client.channel(topic);
    const heardInPrivate = inbox(privateChannel);
    const heardInPublic = inbox(publicTwin);
    await subscribed(privateChannel);
    expect((await subscribe(publicTwin).first).status).toBe('SUBSCRIBED');

    // Rows reach each socket in commit order: once a later row has arrived, an earlier one
    // sent to the wrong channel would have arrived before it.
    const privateRow = (body: string) =>
      db.query(`insert into public.rt_test_events (topic, body) values ($1, $2)`, [topic, body]);
    const said = (body: string) => (m: { payload: unknown }) =>
      (m.payload as { body?: string }).body === body;
    await privateRow('for members');
    await heardInPrivate.find(said('for members'), 'the private row');
    await db.query(`select realtime.send('{"body":"for everyone"}'::jsonb, 'created', $1, false)`, [topic]);
    await heardInPublic.find(said('for everyone'), 'the public message');
    await privateRow('for members again');
    await heardInPrivate.find(said('for members again'), 'the second private row');
    expect(heardInPublic.messages.map((m) => (m.payload as { body: string }).body)).toEqual(['for everyone']);
    expect(heardInPrivate.messages.map((m) => (m.payload as { body: string }).body)).toEqual([
      'for members',
      'for members again',
    ]);
  });

  it('rejects a token that is not a JWT with MalformedJWT', async () => {
    const user = await newUser();
    keep(user.client);
    await user.client.realtime.setAuth('not-a-jwt');
    const denied = await subscribe(user.client.channel(topicName('malformed'), { config: { private: true } }))
      .first;
    expect(denied.status).toBe('CHANNEL_ERROR');
    expect(denied.error?.message).toBe('MalformedJWT: The token provided is not a valid JWT');
  });

  it('rejects an expired token with InvalidJWTToken and how long ago it expired', {
    tags: ['emulator-only'],
  }, async () => {
    const user = await newUser();
    keep(user.client);
    const now = Math.floor(Date.now() / 1000);
    const expired = await mintToken({
      sub: user.id,
      role: 'authenticated',
      aud: 'authenticated',
      iat: now - 200,
      exp: now - 100,
    });
    await user.client.realtime.setAuth(expired);
    const denied = await subscribe(user.client.channel(topicName('expired'))).first;
    expect(denied.status).toBe('CHANNEL_ERROR');
    const seconds = Number(
      /^InvalidJWTToken: Token has expired (\d+) seconds ago$/.exec(denied.error?.message ?? '')?.[1],
    );
    expect(seconds).toBeGreaterThanOrEqual(100);
  });

  it('rejects a token signed by another key', async () => {
    const user = await newUser();
    keep(user.client);
    const now = Math.floor(Date.now() / 1000);
    await user.client.realtime.setAuth(
      await mintToken({ sub: user.id, role: 'authenticated', iat: now, exp: now + 600 }, 'forged'),
    );
    const denied = await subscribe(user.client.channel(topicName('forged'))).first;
    expect(denied.status).toBe('CHANNEL_ERROR');
    expect(denied.error?.message).toBe('JwtSignatureError: Failed to validate JWT signature');
  });

  it('requires the role and exp claims', { tags: ['emulator-only'] }, async () => {
    const user = await newUser();
    keep(user.client);
    const now = Math.floor(Date.now() / 1000);
    await user.client.realtime.setAuth(await mintToken({ sub: user.id, iat: now, exp: now + 600 }));
    const denied = await subscribe(user.client.channel(topicName('claims'))).first;
    expect(denied.error?.message).toBe('InvalidJWTToken: Fields `role` and `exp` are required in JWT');
  });
});

describe('writing to a private channel', () => {
  it('drops broadcasts of a member without write permission, caches that, and re-checks on a new token', async () => {
    const topic = topicName('write');
    const reader = await member(topic, { canWrite: false });
    const listener = await member(topic);
    const writerChannel = reader.client.channel(topic, {
      config: { private: true, broadcast: { ack: true } },
    });
    const listenerChannel = listener.client.channel(topic, { config: { private: true } });
    const received = inbox(listenerChannel);
    await subscribed(writerChannel);
    await subscribed(listenerChannel);

    // A denied write gets no reply. Messages of a channel are handled in order, so once the
    // untrack after it has been answered, the broadcast's ack would have come first.
    const settled: string[] = [];
    const first = writerChannel.send({ type: 'broadcast', event: 'note', payload: { n: 1 } }).then((r) => {
      settled.push(`first:${r}`);
    });
    expect(await writerChannel.untrack()).toBe('ok');
    expect(settled).toEqual([]);

    // Granted in the database, but the channel keeps its cached answer until a new token.
    await addMember(db, topic, reader.id, { canWrite: true });
    const second = writerChannel.send({ type: 'broadcast', event: 'note', payload: { n: 2 } }).then((r) => {
      settled.push(`second:${r}`);
    });
    expect(await writerChannel.untrack()).toBe('ok');
    expect(settled).toEqual([]);

    const { data, error } = await reader.client.auth.refreshSession();
    expect(error).toBeNull();
    await reader.client.realtime.setAuth(data.session?.access_token as string);
    expect(await writerChannel.send({ type: 'broadcast', event: 'note', payload: { n: 3 } })).toBe('ok');
    const arrived = await received.find((m) => m.event === 'note');
    expect(arrived.payload).toEqual({ n: 3 });
    expect(received.messages.map((m) => m.payload)).toEqual([{ n: 3 }]);
    void first;
    void second;
  });
});

describe('token refresh and expiry', () => {
  it('closes the channel with a system error when a new token no longer grants read', async () => {
    const topic = topicName('revoke');
    const user = await member(topic);
    const channel = user.client.channel(topic, { config: { private: true } });
    const system = systemMessages(channel);
    const log = await subscribed(channel);

    await db.query('delete from public.rt_test_members where topic = $1 and user_id = $2', [topic, user.id]);
    const { data } = await user.client.auth.refreshSession();
    await user.client.realtime.setAuth(data.session?.access_token as string);

    await log.reached('CLOSED');
    expect(system).toContainEqual({
      extension: 'system',
      status: 'error',
      message: `You no longer have permission to read from this Channel topic: ${topic}`,
      channel: topic,
    });
  });

  it('keeps the channel when the new token still grants read', async () => {
    const topic = topicName('keep');
    const user = await member(topic);
    const other = await member(topic);
    const channel = user.client.channel(topic, { config: { private: true } });
    const received = inbox(channel);
    const log = await subscribed(channel);
    const { data } = await user.client.auth.refreshSession();
    await user.client.realtime.setAuth(data.session?.access_token as string);

    const sender = other.client.channel(topic, { config: { private: true, broadcast: { ack: true } } });
    await subscribed(sender);
    expect(await sender.send({ type: 'broadcast', event: 'after-refresh', payload: {} })).toBe('ok');
    await received.find((m) => m.event === 'after-refresh');
    expect(log.statuses.map((s) => s.status)).toEqual(['SUBSCRIBED']);
  });

  it('ends the channel with a system error and phx_close when the token expires', {
    tags: ['emulator-only'],
  }, async () => {
    // A Realtime service of its own, whose clock the test moves: the token lives for an hour and
    // expires when the test says so, not when the machine happens to be slow enough.
    const realtime = await startRealtime({
      keys: await loadKeys(stack.dataDir),
      dbUrl: stack.dbUrl, // public channels only: its authorizer never connects
      log: quietLogger(),
      replication: false,
      limits: { tokenRecheckMs: 20 },
    });
    const server = createServer();
    server.on('upgrade', realtime.handleUpgrade);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = createStackClient({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      anonKey: stack.anonKey,
    });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const now = Math.floor(Date.now() / 1000);
      const exp = now + 3600;
      await client.realtime.setAuth(
        await mintToken({
          sub: crypto.randomUUID(),
          role: 'authenticated',
          aud: 'authenticated',
          iat: now,
          exp,
        }),
      );
      const topic = topicName('expiry');
      const channel = client.channel(topic);
      const system = systemMessages(channel);
      const log = await subscribed(channel);

      vi.setSystemTime((exp + 1) * 1000);
      await log.reached('CLOSED');
      expect(system).toEqual([
        {
          extension: 'system',
          status: 'error',
          message: 'Token has expired 1 seconds ago',
          channel: channel.subTopic,
        },
      ]);
    } finally {
      vi.useRealTimers();
      await client.removeAllChannels();
      await realtime.stop();
      server.close();
    }
  });
});

describe('presence-only permission', () => {
  it('joins and sees presence, but receives no broadcasts', async () => {
    const topic = topicName('presence-only');
    const full = await member(topic);
    const watcher = await member(topic, { broadcastRead: false });
    const fullChannel = full.client.channel(topic, { config: { private: true, presence: { key: 'full' } } });
    const watcherChannel = watcher.client.channel(topic, {
      config: { private: true, presence: { key: 'watcher' } },
    });
    const seenByWatcher = inbox(watcherChannel);
    const seenByFull = inbox(fullChannel);
    const joins: string[] = [];
    watcherChannel.on('presence', { event: 'join' }, ({ key }) => {
      joins.push(key);
    });
    fullChannel.on('presence', { event: 'sync' }, () => undefined);
    await subscribed(fullChannel);
    await subscribed(watcherChannel);

    await db.query(`insert into public.rt_test_events (topic, body) values ($1, 'for readers')`, [topic]);
    await seenByFull.find((m) => m.event === 'created', 'the row at the full member');
    // Sent to the watcher after the row would have been: it arrives, the row does not.
    expect(await fullChannel.track({ here: true })).toBe('ok');
    await waitFor(() => (joins.includes('full') ? true : undefined), 'the presence join at the watcher');
    expect(seenByWatcher.messages).toEqual([]);
  });
});
