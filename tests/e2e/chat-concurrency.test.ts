// Concurrency of the chat data model, with many real connections at once:
// parallel senders into one conversation get seq 1..N with no holes and no
// duplicates (also when a sender's transaction rolls back mid-way), and
// parallel retries with the same client_id store one message and announce it once.
//
// Senders are supabase-js clients (POST /rest/v1/rpc/send_message) and raw pg
// connections acting as a user the way PostgREST does (`set local role
// authenticated` + request.jwt.claims in the transaction). Races are forced,
// not hoped for: one transaction holds the conversation lock while the others
// are seen waiting in pg_stat_activity before it ends.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../../emulator/testing.ts';
import { newUser, sqlPool, stack } from './support.ts';

interface SentMessage {
  id: string;
  seq: number;
  change_seq: number;
  sender_id: string;
  client_id: string;
  body: string;
}
interface SendResult {
  message: SentMessage;
  created: boolean;
}

const db = sqlPool();
/** Connections that act as users, several at a time. */
const userConnections = new pg.Pool({ connectionString: stack.dbUrl, max: 16 });
afterAll(() => userConnections.end());

/**
 * A connection inside a transaction acting as `userId`, as PostgREST sets up a request.
 * Tests end it with release(true): closing the connection ends whatever it still holds.
 */
async function actAs(userId: string): Promise<pg.PoolClient> {
  const client = await userConnections.connect();
  await client.query('begin');
  await client.query(
    `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`,
    [JSON.stringify({ sub: userId, role: 'authenticated', aud: 'authenticated' })],
  );
  return client;
}

async function sendAs(client: pg.PoolClient, conversationId: string, clientId: string, body: string) {
  const { rows } = await client.query<{ result: SendResult }>(
    'select public.send_message($1, $2, $3) as result',
    [conversationId, clientId, body],
  );
  return rows[0]?.result as SendResult;
}

async function rpcSend(user: TestUser, conversationId: string, clientId: string, body: string) {
  const { data, error } = await user.client.rpc('send_message', {
    conversation_id: conversationId,
    client_id: clientId,
    body,
  });
  if (error) throw new Error(`send_message failed: ${error.code} ${error.message}`);
  return data as SendResult;
}

/** Waits until every one of these backends is blocked on a lock. */
async function waitUntilBlocked(pids: number[]) {
  for (let attempt = 0; attempt < 500; attempt++) {
    const { rows } = await db.query<{ waiting: number }>(
      `select count(*)::int as waiting from pg_stat_activity where pid = any($1) and wait_event_type = 'Lock'`,
      [pids],
    );
    if (rows[0]?.waiting === pids.length) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`backends ${pids.join(', ')} never all waited on a lock`);
}

const backendPid = async (client: pg.PoolClient) =>
  (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid as number;

async function storedSeqs(conversationId: string) {
  const { rows } = await db.query<{ seq: string }>(
    'select seq from public.messages where conversation_id = $1 order by seq',
    [conversationId],
  );
  return rows.map((row) => Number(row.seq));
}

async function cursors(conversationId: string) {
  const { rows } = await db.query<{ last_seq: string; last_change: string }>(
    'select last_seq, last_change from public.conversations where id = $1',
    [conversationId],
  );
  return { lastSeq: Number(rows[0]?.last_seq), lastChange: Number(rows[0]?.last_change) };
}

async function createdEvents(conversationId: string, messageId?: string) {
  const { rows } = await db.query<{ count: number }>(
    `select count(*)::int as count from realtime.messages
      where topic = (select topic from public.conversations where id = $1)
        and event = 'message.created' and ($2::text is null or payload -> 'record' ->> 'id' = $2)`,
    [conversationId, messageId ?? null],
  );
  return rows[0]?.count ?? 0;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

let owner: TestUser;
let members: TestUser[];
let everyone: TestUser[];

beforeAll(async () => {
  owner = await newUser({ displayName: 'Owner' });
  members = await Promise.all(range(4).map((i) => newUser({ displayName: `Member ${i}` })));
  everyone = [owner, ...members];
});

async function newGroup(title: string) {
  const { data, error } = await owner.client.rpc('create_group_conversation', {
    title,
    member_ids: members.map((member) => member.id),
  });
  if (error) throw new Error(`create_group_conversation failed: ${error.message}`);
  return (data as { id: string }).id;
}

describe('parallel senders', () => {
  it('five users sending 10 messages each at once through supabase.rpc get seq 1..50', async () => {
    const conversationId = await newGroup('Parallel rpc');
    const results = await Promise.all(
      everyone.flatMap((user, u) =>
        range(10).map((i) => rpcSend(user, conversationId, `rpc-${u}-${i}`, `from ${u}: ${i}`)),
      ),
    );

    expect(results.every((result) => result.created)).toBe(true);
    const seqs = results.map((result) => result.message.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(range(50));
    expect(new Set(results.map((result) => result.message.id)).size).toBe(50);
    expect(await storedSeqs(conversationId)).toEqual(range(50));
    expect(await cursors(conversationId)).toEqual({ lastSeq: 50, lastChange: 50 });
    expect(await createdEvents(conversationId)).toBe(50);
    // Each sender's messages carry its own id and client ids, nobody else's.
    for (const [u, user] of everyone.entries()) {
      const own = results.filter((result) => result.message.client_id.startsWith(`rpc-${u}-`));
      expect(own).toHaveLength(10);
      expect(own.every((result) => result.message.sender_id === user.id)).toBe(true);
    }
  });

  it('eight connections acting as users, 8 messages each, get seq 1..64', async () => {
    const conversationId = await newGroup('Parallel sql');
    const senders = range(8).map((i) => everyone[i % everyone.length] as TestUser);
    const connections = await Promise.all(senders.map((user) => actAs(user.id)));
    try {
      const perConnection = await Promise.all(
        connections.map(async (connection, c) => {
          const sent: SendResult[] = [];
          for (const i of range(8))
            sent.push(await sendAs(connection, conversationId, `sql-${c}-${i}`, `${c}/${i}`));
          await connection.query('commit');
          return sent;
        }),
      );
      const results = perConnection.flat();
      expect(results.every((result) => result.created)).toBe(true);
      expect(results.map((result) => result.message.seq).sort((a, b) => a - b)).toEqual(range(64));
      // Within one connection, messages are numbered in the order they were sent.
      for (const sent of perConnection) {
        const seqs = sent.map((result) => result.message.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
    } finally {
      for (const connection of connections) connection.release(true);
    }
    expect(await storedSeqs(conversationId)).toEqual(range(64));
    expect(await cursors(conversationId)).toEqual({ lastSeq: 64, lastChange: 64 });
  });

  it('a sender that rolls back while others wait leaves no hole', async () => {
    const conversationId = await newGroup('Rollback');
    const first = await rpcSend(owner, conversationId, 'before', 'seq 1');
    expect(first.message.seq).toBe(1);

    // The doomed transaction takes seq 2 and holds the conversation lock.
    const doomed = await actAs(owner.id);
    const doomedResult = await sendAs(doomed, conversationId, 'doomed', 'never committed');
    expect(doomedResult.message.seq).toBe(2);

    const waiting = await Promise.all(members.map((member) => actAs(member.id)));
    const waitingPids = await Promise.all(waiting.map(backendPid));
    try {
      const pending = waiting.map(async (connection, i) => {
        const result = await sendAs(connection, conversationId, `after-${i}`, `waited ${i}`);
        await connection.query('commit');
        return result;
      });
      await waitUntilBlocked(waitingPids);
      await doomed.query('rollback');
      const results = await Promise.all(pending);
      expect(results.map((result) => result.message.seq).sort((a, b) => a - b)).toEqual([2, 3, 4, 5]);
    } finally {
      doomed.release(true);
      for (const connection of waiting) connection.release(true);
    }
    expect(await storedSeqs(conversationId)).toEqual([1, 2, 3, 4, 5]);
    expect(await cursors(conversationId)).toEqual({ lastSeq: 5, lastChange: 5 });
    const { rows } = await db.query('select 1 from realtime.messages where payload -> $1 ->> $2 = $3', [
      'record',
      'client_id',
      'doomed',
    ]);
    expect(rows).toHaveLength(0);
  });
});

describe('parallel retries', () => {
  it('ten retries racing on one client_id store one message; the others get the original', async () => {
    const conversationId = await newGroup('Retries');
    const clientId = randomUUID();

    // The first attempt is inserted but not yet committed when the others arrive, so they
    // miss it, queue on the conversation lock, and then hit the (sender, client_id) key.
    const firstAttempt = await actAs(owner.id);
    const original = await sendAs(firstAttempt, conversationId, clientId, 'hello once');
    expect(original.created).toBe(true);

    const retries = await Promise.all(range(9).map(() => actAs(owner.id)));
    const retryPids = await Promise.all(retries.map(backendPid));
    try {
      const pending = retries.map(async (connection) => {
        const result = await sendAs(connection, conversationId, clientId, 'hello once');
        await connection.query('commit');
        return result;
      });
      await waitUntilBlocked(retryPids);
      await firstAttempt.query('commit');
      const results = await Promise.all(pending);
      expect(results.every((result) => !result.created)).toBe(true);
      expect(new Set(results.map((result) => result.message.id))).toEqual(new Set([original.message.id]));
      expect(results.every((result) => result.message.seq === original.message.seq)).toBe(true);
    } finally {
      firstAttempt.release(true);
      for (const connection of retries) connection.release(true);
    }

    const { rows } = await db.query<{ count: number }>(
      'select count(*)::int as count from public.messages where sender_id = $1 and client_id = $2',
      [owner.id, clientId],
    );
    expect(rows[0]?.count).toBe(1);
    expect(await cursors(conversationId)).toEqual({ lastSeq: 1, lastChange: 1 });
    expect(await createdEvents(conversationId, original.message.id)).toBe(1);
  });

  it('eight simultaneous supabase.rpc retries of one send create it exactly once', async () => {
    const conversationId = await newGroup('Rpc retries');
    const clientId = randomUUID();
    const results = await Promise.all(
      range(8).map(() => rpcSend(members[0] as TestUser, conversationId, clientId, 'once')),
    );

    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.message.id)).size).toBe(1);
    expect(await storedSeqs(conversationId)).toEqual([1]);
    expect(await createdEvents(conversationId)).toBe(1);
  });

  it('a retry racing into another conversation with the same client_id is refused with 409', async () => {
    const first = await newGroup('First home');
    const second = await newGroup('Second home');
    const clientId = randomUUID();

    const holder = await actAs(owner.id);
    await sendAs(holder, first, clientId, 'here');
    const intruder = await actAs(owner.id);
    const intruderPid = await backendPid(intruder);
    try {
      const attempt = sendAs(intruder, second, clientId, 'there').then(
        () => 'stored',
        (error: { code?: string; message: string }) => error,
      );
      await waitUntilBlocked([intruderPid]);
      await holder.query('commit');
      const outcome = await attempt;
      expect(outcome).not.toBe('stored');
      const error = outcome as { code?: string; message: string };
      expect(error.code).toBe('PGRST');
      expect(JSON.parse(error.message)).toMatchObject({ code: 'client_id_conflict' });
      await intruder.query('rollback');
    } finally {
      holder.release(true);
      intruder.release(true);
    }
    expect(await storedSeqs(second)).toEqual([]);
    expect(await storedSeqs(first)).toEqual([1]);
  });
});
