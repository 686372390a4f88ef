// The stack recovers by itself from faults, on a stack of its own (it restarts
// PostgreSQL and Realtime and kills the Edge Functions process): after each one,
// through the real supabase-js, send-message stores again, a subscribed member
// receives the next message on the same channel, what was committed while
// Realtime was down can be caught up, and a request cut off by a fault is
// answered with an error rather than left hanging.

import { randomUUID } from 'node:crypto';
import type { SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../emulator/stack.ts';
import type { TestUser } from '../../emulator/testing.ts';
import { type BroadcastMessage, inbox, type StatusLog, subscribed, waitFor } from './realtime-support.ts';

interface Message {
  id: string;
  seq: number;
  client_id: string;
  body: string;
}

/** Bounds every request: a fault must end in an answer, not a hang. */
const REQUEST_LIMIT_MS = 30_000;

describe('recovery from faults, on a stack of its own', { tags: ['emulator-only'] }, () => {
  let stack: Stack;
  let admin: pg.Pool;
  const clients: SupabaseClient[] = [];

  beforeAll(async () => {
    // Quiet keeps warnings and errors: the faults cause some on purpose, and they explain a failure.
    stack = await startStack({ port: 0, dbPort: 0, authRateLimits: false, quiet: true });
    admin = new pg.Pool({ connectionString: stack.dbAdminUrl ?? stack.dbUrl, max: 2 });
    admin.on('error', () => undefined); // idle connections end with each PostgreSQL restart
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.removeAllChannels().catch(() => undefined)));
    await admin?.end();
    await stack?.stop();
  });

  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;
  let bobStatus: StatusLog;
  let bobInbox: ReturnType<typeof inbox>;

  // Each test has its own pair, conversation and subscription: none relies on another's faults.
  beforeEach(async () => {
    [alice, bob] = await Promise.all([stack.createUser(), stack.createUser()]);
    clients.push(alice.client, bob.client);
    const direct = await alice.client.rpc('get_or_create_direct_conversation', { other_user_id: bob.id });
    if (direct.error) throw new Error(direct.error.message);
    conversationId = (direct.data as { id: string }).id;
    const { data, error } = await bob.client.rpc('get_conversation', { conversation_id: conversationId });
    if (error) throw new Error(error.message);
    const channel = bob.client.channel((data as { topic: string }).topic, { config: { private: true } });
    bobInbox = inbox(channel, 'message.created');
    bobStatus = await subscribed(channel);
  });

  /** send-message as Alice, answered (error or not) within the bound. */
  async function send(body: string, clientId = randomUUID()) {
    const response = await fetch(`${stack.url}/functions/v1/send-message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.session.access_token}` },
      body: JSON.stringify({ conversation_id: conversationId, client_id: clientId, body }),
      signal: AbortSignal.timeout(REQUEST_LIMIT_MS),
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  }

  async function sendOk(body: string): Promise<Message> {
    const answer = await send(body);
    expect(answer, `send-message of "${body}"`).toMatchObject({ status: 201 });
    return answer.body as unknown as Message;
  }

  /** Bob's broadcast of `message` on the channel he subscribed to before the fault. */
  const received = (message: Message) =>
    bobInbox.find(
      (m: BroadcastMessage) => (m.payload as { record?: Message }).record?.id === message.id,
      `Bob's message.created for "${message.body}"`,
    );

  const storedBodies = async () => {
    const { data, error } = await bob.client.rpc('get_messages', { conversation_id: conversationId });
    if (error) throw new Error(error.message);
    return (data as Message[]).map((m) => m.body);
  };

  /** Resolves once the replication stream is back after `sessionsBefore` sessions. */
  const streamingAgain = (sessionsBefore: number) =>
    waitFor(() => {
      const replication = stack.realtime.stats().replication;
      return replication?.streaming && replication.sessions > sessionsBefore ? true : undefined;
    }, 'database broadcasts to stream again');

  // Locks still held when a test fails are let go.
  const releases = new Set<() => Promise<void>>();
  afterEach(async () => {
    for (const release of [...releases]) await release();
  });

  /**
   * Starts a send that blocks inside its transaction in Deno (Alice's insert waits for a lock
   * held here) and, with `alsoRpc`, Bob's history read through REST, which waits inside its own
   * transaction too. Resolves once the database shows them all waiting; `release()` lets them go.
   */
  async function blockedOnMessages(body: string, options: { alsoRpc?: boolean } = {}) {
    const holder = await admin.connect();
    holder.on('error', () => undefined); // a PostgreSQL restart ends this session too
    await holder.query('begin');
    await holder.query('lock table public.messages in access exclusive mode');
    const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    const clientId = randomUUID();
    const answer = send(body, clientId);
    answer.catch(() => undefined); // awaited by the test
    // Promise.resolve sends it now (the builder is lazy).
    const rpc = options.alsoRpc
      ? Promise.resolve(
          bob.client
            .rpc('get_messages', { conversation_id: conversationId })
            .abortSignal(AbortSignal.timeout(REQUEST_LIMIT_MS)),
        )
      : undefined;
    // Deno's connections are postgres.js's (its application_name); any other waiter is REST's.
    await waitFor(async () => {
      const { rows } = await admin.query<{ deno: number; others: number }>(
        `select count(*) filter (where application_name = 'postgres.js')::int as deno,
                count(*) filter (where application_name <> 'postgres.js')::int as others
           from pg_stat_activity
          where wait_event_type = 'Lock' and pid <> $1 and backend_type = 'client backend'`,
        [holderPid],
      );
      return rows[0]?.deno === 1 && rows[0].others === (rpc ? 1 : 0) ? true : undefined;
    }, 'the requests to wait for the lock');
    const release = async () => {
      if (!releases.delete(release)) return;
      await holder.query('rollback').catch(() => undefined);
      holder.release(true);
    };
    releases.add(release);
    return { clientId, answer, rpc, release };
  }

  it.each(['fast', 'immediate'] as const)(
    'after a PostgreSQL %s restart with requests in flight, they are answered and the next send is stored and broadcast',
    async (mode) => {
      await received(await sendOk('before the restart'));
      const denoPid = stack.processIds().at(-1); // PostgreSQL's, then Deno's
      const sessions = stack.realtime.stats().replication?.sessions ?? 0;

      const inFlight = await blockedOnMessages('in flight during the restart', { alsoRpc: true });
      await stack.faults.restartPostgres(mode);
      await inFlight.release();
      const cut = await inFlight.answer;
      const read = await inFlight.rpc;
      // An immediate shutdown cuts them both. A fast one may end the lock holder (which lets go)
      // before the others are told to stop, and a waiter can then still finish: answered either way.
      const sendFinished = cut.status === 201;
      const readFinished = read?.error === null;
      if (mode === 'immediate') expect([sendFinished, readFinished]).toEqual([false, false]);
      if (!sendFinished) {
        // The envelope, not a hang: a server fault (5xx), which a client retries with the same client_id.
        expect(cut.status).toBeGreaterThanOrEqual(500);
        expect(cut.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      }
      // REST lost its checked-out connection mid-transaction: an error, and the emulator lives on.
      if (!readFinished) expect(read?.status).toBeGreaterThanOrEqual(500);
      // The functions process survived the driver losing its connection mid-transaction.
      expect(stack.processIds().at(-1)).toBe(denoPid);

      await streamingAgain(sessions);
      const after = await sendOk('after the restart');
      await received(after);
      expect(bobStatus.statuses.map((s) => s.status)).toEqual(['SUBSCRIBED']);
      // Auth and REST reconnected too: a fresh sign-in, and the history through RPC.
      const fresh = await stack.createUser();
      clients.push(fresh.client);
      expect(await storedBodies()).toEqual([
        'before the restart',
        ...(sendFinished ? ['in flight during the restart'] : []),
        'after the restart',
      ]);
    },
  );

  it.each(['graceful', 'crash'] as const)(
    'after a Realtime restart (%s), the channel rejoins by itself; what was sent meanwhile can be caught up and the next send arrives',
    async (mode) => {
      await received(await sendOk('before the restart'));
      const subscribedBefore = bobStatus.statuses.filter((s) => s.status === 'SUBSCRIBED').length;
      let meanwhile: Message | undefined;
      await stack.faults.restartRealtime({
        mode,
        whileDown: async () => {
          meanwhile = await sendOk('while Realtime is down');
        },
      });
      await waitFor(
        () =>
          bobStatus.statuses.filter((s) => s.status === 'SUBSCRIBED').length > subscribedBefore
            ? true
            : undefined,
        'the channel to rejoin',
      );
      // Committed while nobody streamed (the platform does not replay it): in the history.
      expect(meanwhile?.seq).toBe(2);
      expect(await storedBodies()).toEqual(['before the restart', 'while Realtime is down']);
      await received(await sendOk('after the restart'));
    },
  );

  it('a send in flight when the functions process is killed is answered 500 WORKER_ERROR; a new process serves the next', async () => {
    await received(await sendOk('before the kill'));
    const denoPid = stack.processIds().at(-1); // PostgreSQL's, then Deno's

    const inFlight = await blockedOnMessages('in flight during the kill');
    await stack.faults.killFunctions();
    const cut = await inFlight.answer;
    await inFlight.release();
    expect(cut).toEqual({
      status: 500,
      body: { code: 'WORKER_ERROR', message: 'Function exited due to an error (please check logs)' },
    });

    await received(await sendOk('after the kill'));
    expect(stack.processIds().at(-1)).not.toBe(denoPid);
    // The cut transaction never committed.
    const { rows } = await admin.query('select 1 from public.messages where client_id = $1', [
      inFlight.clientId,
    ]);
    expect(rows).toEqual([]);
    expect(await storedBodies()).toEqual(['before the kill', 'after the kill']);
  });
});
