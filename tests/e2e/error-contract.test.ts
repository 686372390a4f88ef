// One error contract across routes: the same input gives the same status, code,
// message and Retry-After whether it goes through an Edge Function
// (supabase.functions.invoke) or straight to the SQL (supabase.rpc), because the
// functions hand their arguments to the same SQL, converted by Postgres the way
// PostgREST converts them. Driven by the real supabase-js on both routes.

import { randomUUID } from 'node:crypto';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TestUser } from '../../emulator/testing.ts';
import { newUser, sqlPool, stack } from './support.ts';

const db = sqlPool();

interface Outcome {
  status: number;
  code: string | undefined;
  message: string | undefined;
  retryAfter: string | null;
}

/** Both routes as `user`, through supabase-js, with the HTTP response of each call kept for its headers. */
function routes(user: TestUser) {
  let last: Response | undefined;
  const client: SupabaseClient = createClient(stack.url, stack.anonKey, {
    accessToken: async () => user.session.access_token,
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
    global: {
      fetch: async (input, init) => {
        last = await fetch(input, init);
        return last;
      },
    },
  });
  return {
    async viaFunction(name: string, body: Record<string, unknown>): Promise<Outcome> {
      const { error, response } = await client.functions.invoke(name, { body });
      const answer = error ? await (response as Response).json() : {};
      return {
        status: (response as Response).status,
        code: answer.code,
        message: answer.message,
        retryAfter: (response as Response).headers.get('retry-after'),
      };
    },
    async viaRpc(name: string, args: Record<string, unknown>): Promise<Outcome> {
      const { error, status } = await client.rpc(name, args);
      return {
        status,
        code: error?.code,
        message: error?.message,
        retryAfter: last?.headers.get('retry-after') ?? null,
      };
    },
  };
}

type Route = ReturnType<typeof routes>;

/** Sends one input both ways and checks they agree, and that they say `status` and `code`. */
async function expectSameAnswer(
  route: Route,
  pair: { fn: string; body: Record<string, unknown>; rpc: string; args: Record<string, unknown> },
  status: number,
  code: string,
) {
  const viaFunction = await route.viaFunction(pair.fn, pair.body);
  const viaRpc = await route.viaRpc(pair.rpc, pair.args);
  expect(viaFunction).toEqual(viaRpc);
  expect(viaFunction).toMatchObject({ status, code });
  return viaFunction;
}

let alice: TestUser;
let bob: TestUser;
let mallory: TestUser;
let conversationId: string;

beforeAll(async () => {
  [alice, bob, mallory] = await Promise.all([newUser(), newUser(), newUser()]);
  const { data, error } = await alice.client.rpc('get_or_create_direct_conversation', {
    other_user_id: bob.id,
  });
  if (error) throw new Error(error.message);
  conversationId = (data as { id: string }).id;
  const first = await alice.client.rpc('send_message', {
    conversation_id: conversationId,
    client_id: randomUUID(),
    body: 'the first message',
  });
  if (first.error) throw new Error(first.error.message);
});

describe('send-message and send_message', () => {
  const message = (fields: Record<string, unknown>) => {
    const args = { conversation_id: conversationId, client_id: randomUUID(), body: 'hello', ...fields };
    return { fn: 'send-message', body: args, rpc: 'send_message', args };
  };

  it('agree on every invalid field: the SQL decides, with its codes', async () => {
    const route = routes(alice);
    await expectSameAnswer(route, message({ client_id: '' }), 400, 'invalid_client_id');
    await expectSameAnswer(route, message({ client_id: 'x'.repeat(101) }), 400, 'invalid_client_id');
    await expectSameAnswer(route, message({ body: '   ' }), 400, 'invalid_body');
    await expectSameAnswer(route, message({ body: null }), 400, 'invalid_body');
    await expectSameAnswer(route, message({ body: 'x'.repeat(4001) }), 413, 'body_too_long');
    await expectSameAnswer(route, message({ metadata: [1, 2] }), 400, 'invalid_metadata');
    await expectSameAnswer(route, message({ conversation_id: null }), 400, 'invalid_argument');
  });

  it('agree on values Postgres cannot convert (PostgREST reports the SQLSTATE)', async () => {
    const route = routes(alice);
    const answer = await expectSameAnswer(route, message({ conversation_id: 'nope' }), 400, '22P02');
    expect(answer.message).toBe('invalid input syntax for type uuid: "nope"');
    await expectSameAnswer(route, message({ reply_to: 42 }), 400, '22P02');
  });

  it('agree on unknown ids and on callers who are not members', async () => {
    await expectSameAnswer(
      routes(alice),
      message({ conversation_id: randomUUID() }),
      404,
      'conversation_not_found',
    );
    await expectSameAnswer(routes(alice), message({ reply_to: randomUUID() }), 404, 'reply_to_not_found');
    await expectSameAnswer(routes(mallory), message({}), 403, 'not_a_member');
  });

  it('agree on 429 rate_limited, with the same Retry-After header', async () => {
    const sender = await newUser();
    const { data } = await sender.client.rpc('get_or_create_direct_conversation', { other_user_id: bob.id });
    const conversation = (data as { id: string }).id;
    // An empty bucket that refills from an hour ahead: every send is refused the same way.
    await db.query(
      `insert into private.rate_limit_buckets (user_id, action, tokens, refreshed_at)
       values ($1, 'send_message', 0, now() + interval '1 hour')
       on conflict (user_id, action) do update set tokens = 0, refreshed_at = excluded.refreshed_at`,
      [sender.id],
    );
    const args = { conversation_id: conversation, client_id: randomUUID(), body: 'one too many' };
    const answer = await expectSameAnswer(
      routes(sender),
      { fn: 'send-message', body: args, rpc: 'send_message', args },
      429,
      'rate_limited',
    );
    expect(answer.retryAfter).toBe('1');
    const { rows } = await db.query(
      'select count(*)::int as n from public.messages where conversation_id = $1',
      [conversation],
    );
    expect(rows[0].n).toBe(0);
  });
});

describe('mark-read and mark_read', () => {
  const read = (fields: Record<string, unknown>) => {
    const args = { conversation_id: conversationId, seq: 1, ...fields };
    return { fn: 'mark-read', body: args, rpc: 'mark_read', args };
  };

  it('agree on every error', async () => {
    const route = routes(bob);
    await expectSameAnswer(route, read({ seq: 99 }), 400, 'invalid_seq');
    await expectSameAnswer(route, read({ seq: 1.5 }), 400, '22P02');
    await expectSameAnswer(route, read({ seq: 'first' }), 400, '22P02');
    await expectSameAnswer(route, read({ seq: null }), 400, 'invalid_argument');
    await expectSameAnswer(route, read({ conversation_id: randomUUID() }), 404, 'conversation_not_found');
    await expectSameAnswer(routes(mallory), read({}), 403, 'not_a_member');
  });
});

describe('signal and send_signal', () => {
  const signal = (fields: { to?: unknown; type?: unknown; payload?: unknown; conversation_id?: unknown }) => {
    const body = {
      conversation_id: conversationId,
      to: bob.id,
      type: 'offer',
      payload: { sdp: 'v=0' },
      ...fields,
    };
    return {
      fn: 'signal',
      body,
      rpc: 'send_signal',
      args: {
        conversation_id: body.conversation_id,
        to_user: body.to,
        signal_type: body.type,
        payload: body.payload,
      },
    };
  };

  it('agree on every error', async () => {
    const route = routes(alice);
    await expectSameAnswer(route, signal({ to: alice.id }), 400, 'invalid_argument');
    await expectSameAnswer(route, signal({ type: 'hello' }), 400, 'invalid_signal_type');
    await expectSameAnswer(route, signal({ payload: { sdp: 'x'.repeat(20_000) } }), 413, 'signal_too_large');
    await expectSameAnswer(route, signal({ to: 'bob' }), 400, '22P02');
    await expectSameAnswer(route, signal({ to: mallory.id }), 404, 'member_not_found');
    await expectSameAnswer(routes(mallory), signal({}), 403, 'not_a_member');
  });
});
