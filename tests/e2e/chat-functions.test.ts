// The chat Edge Functions end to end, through the real supabase-js against the
// running stack: send-message and mark-read with delivery over private Realtime
// channels, the signal relay, the Twilio webhook, and every error status with
// its envelope.

import { createHmac, randomUUID } from 'node:crypto';
import type { RealtimeChannel } from '@supabase/supabase-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStackClient, type TestUser } from '../../emulator/testing.ts';
import { type BroadcastMessage, disconnectAfterAll, inbox, subscribed, waitFor } from './realtime-support.ts';
import { newUser, sqlPool, stack } from './support.ts';

const db = sqlPool();
const track = disconnectAfterAll();

interface Message {
  id: string;
  seq: number;
  conversation_id: string;
  sender_id: string | null;
  client_id: string;
  body: string;
}

/** Calls a function as `user` and returns the status and the JSON body, error or not. */
async function call(
  user: TestUser | undefined,
  name: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${stack.url}/functions/v1/${name}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(user ? { authorization: `Bearer ${user.session.access_token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** Joins a private topic as `user` and records its broadcasts. */
async function listen(user: TestUser, topic: string) {
  const channel: RealtimeChannel = track(user.client).channel(topic, { config: { private: true } });
  const box = inbox(channel);
  await subscribed(channel);
  return box;
}

const ofEvent = (event: string) => (message: BroadcastMessage) => message.event === event;
const payloadOf = <T>(message: BroadcastMessage) => message.payload as T;

async function directConversation(a: TestUser, b: TestUser): Promise<string> {
  const { data, error } = await a.client.rpc('get_or_create_direct_conversation', { other_user_id: b.id });
  if (error) throw new Error(error.message);
  return (data as { id: string }).id;
}

/** The conversation's current server topic (conversation:<id>:<epoch>), as `user` learns it. */
async function topicOf(user: TestUser, conversationId: string): Promise<string> {
  const { data, error } = await user.client.rpc('get_conversation', { conversation_id: conversationId });
  if (error) throw new Error(error.message);
  return (data as { topic: string }).topic;
}

async function groupConversation(owner: TestUser, others: TestUser[], title = 'Group'): Promise<string> {
  const { data, error } = await owner.client.rpc('create_group_conversation', {
    title,
    member_ids: others.map((user) => user.id),
  });
  if (error) throw new Error(error.message);
  return (data as { id: string }).id;
}

const send = (user: TestUser, conversationId: string, body: string, extra: Record<string, unknown> = {}) =>
  call(user, 'send-message', { conversation_id: conversationId, client_id: randomUUID(), body, ...extra });

const messageCount = async (where: string, values: unknown[]) =>
  (await db.query(`select count(*)::int as n from public.messages where ${where}`, values)).rows[0]
    .n as number;

describe('send-message and mark-read', () => {
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;

  // Each test has a conversation of its own: none relies on what another sent or read.
  beforeEach(async () => {
    [alice, bob] = await Promise.all([newUser(), newUser()]);
    conversationId = await directConversation(alice, bob);
  });

  it('delivers a send to the other member: message.created with its seq, and inbox.updated with unread 1', async () => {
    const bobConversation = await listen(bob, await topicOf(bob, conversationId));
    const bobInbox = await listen(bob, `user:${bob.id}`);
    const { data, error, response } = await alice.client.functions.invoke('send-message', {
      body: { conversation_id: conversationId, client_id: randomUUID(), body: 'Hello Bob' },
    });
    expect(error).toBeNull();
    expect(response?.status).toBe(201);
    const sent = data as Message;
    expect(sent).toMatchObject({
      seq: 1,
      conversation_id: conversationId,
      sender_id: alice.id,
      body: 'Hello Bob',
    });

    const created = await bobConversation.find(ofEvent('message.created'), 'message.created for Bob');
    expect(payloadOf<{ record: Message; operation: string }>(created)).toMatchObject({
      operation: 'INSERT',
      record: { id: sent.id, seq: 1, body: 'Hello Bob' },
    });
    const inboxUpdate = await bobInbox.find(ofEvent('inbox.updated'), 'inbox.updated for Bob');
    expect(payloadOf(inboxUpdate)).toMatchObject({
      conversation_id: conversationId,
      last_seq: 1,
      unread_count: 1,
    });
  });

  it("mark-read sends Alice a receipt and tells Bob's other device the unread count is 0", async () => {
    expect((await send(alice, conversationId, 'Read me')).status).toBe(201);
    const aliceConversation = await listen(alice, await topicOf(alice, conversationId));
    const bobOtherDevice = createStackClient(stack);
    const signIn = await bobOtherDevice.auth.signInWithPassword({ email: bob.email, password: bob.password });
    expect(signIn.error).toBeNull();
    await bobOtherDevice.realtime.setAuth(signIn.data.session?.access_token as string);
    const secondDevice = { ...bob, client: bobOtherDevice };
    const bobInboxElsewhere = await listen(secondDevice, `user:${bob.id}`);

    const { status, body } = await call(bob, 'mark-read', { conversation_id: conversationId, seq: 1 });
    expect(status).toBe(200);
    expect(body).toEqual({
      conversation_id: conversationId,
      last_seq: 1,
      last_read_seq: 1,
      last_delivered_seq: 1,
      unread_count: 0,
    });

    const receipt = await aliceConversation.find(
      (m) => m.event === 'receipt' && payloadOf<{ user_id: string }>(m).user_id === bob.id,
      "Bob's receipt",
    );
    expect(payloadOf(receipt)).toMatchObject({ conversation_id: conversationId, last_read_seq: 1 });
    const inboxUpdate = await bobInboxElsewhere.find(
      ofEvent('inbox.updated'),
      "inbox.updated on Bob's other device",
    );
    expect(payloadOf(inboxUpdate)).toMatchObject({
      conversation_id: conversationId,
      unread_count: 0,
      last_read_seq: 1,
    });
  });

  it('mark-read never moves backwards, and refuses a seq past the last message with 400 invalid_seq', async () => {
    for (const body of ['one', 'two', 'three'])
      expect((await send(alice, conversationId, body)).status).toBe(201);
    expect((await call(bob, 'mark-read', { conversation_id: conversationId, seq: 3 })).body).toMatchObject({
      last_read_seq: 3,
      unread_count: 0,
    });
    const backwards = await call(bob, 'mark-read', { conversation_id: conversationId, seq: 1 });
    expect(backwards.status).toBe(200);
    expect(backwards.body).toMatchObject({ last_read_seq: 3, unread_count: 0 });

    const pastTheEnd = await call(bob, 'mark-read', { conversation_id: conversationId, seq: 4 });
    expect(pastTheEnd.status).toBe(400);
    expect(pastTheEnd.body.code).toBe('invalid_seq');
    expect(JSON.parse(pastTheEnd.body.details)).toEqual({ argument: 'seq', last_seq: 3 });
    const { rows } = await db.query(
      'select last_read_seq::int from public.conversation_members where conversation_id = $1 and user_id = $2',
      [conversationId, bob.id],
    );
    expect(rows[0].last_read_seq).toBe(3);
  });

  it('a retry with the same client_id answers 200 with the original, stores one message and announces it once', async () => {
    const bobConversation = await listen(bob, await topicOf(bob, conversationId));
    const clientId = randomUUID();
    const first = await call(alice, 'send-message', {
      conversation_id: conversationId,
      client_id: clientId,
      body: 'once',
    });
    const retry = await call(alice, 'send-message', {
      conversation_id: conversationId,
      client_id: clientId,
      body: 'once',
    });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await messageCount('sender_id = $1 and client_id = $2', [alice.id, clientId])).toBe(1);

    // A later message marks the end of what the retry could have caused.
    const after = await send(alice, conversationId, 'after the retry');
    await bobConversation.find(
      (m) => m.event === 'message.created' && payloadOf<{ record: Message }>(m).record.id === after.body.id,
      'the message after the retry',
    );
    const announcements = bobConversation.messages.filter(
      (m) => m.event === 'message.created' && payloadOf<{ record: Message }>(m).record.client_id === clientId,
    );
    expect(announcements).toHaveLength(1);
  });
});

describe('concurrent senders', () => {
  it('50 concurrent sends from 5 users into one group: seq 1..50, every subscriber receives each exactly once', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => newUser()));
    const [owner, ...others] = users as [TestUser, ...TestUser[]];
    const conversationId = await groupConversation(owner, others, 'Busy group');
    const boxes = await Promise.all(
      users.map(async (user) => listen(user, await topicOf(user, conversationId))),
    );

    const results = await Promise.all(
      users.flatMap((user, u) =>
        Array.from({ length: 10 }, (_, i) => send(user, conversationId, `user ${u} message ${i}`)),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const seqs = results.map((r) => (r.body as Message).seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    for (const box of boxes) {
      await waitFor(
        () => (box.messages.filter(ofEvent('message.created')).length >= 50 ? true : undefined),
        'all 50 message.created events',
      );
    }
    // One more message: once it has arrived everywhere, no duplicate of the 50 can still be on its way.
    const last = await send(owner, conversationId, 'the end');
    expect((last.body as Message).seq).toBe(51);
    for (const box of boxes) {
      await box.find(
        (m) => m.event === 'message.created' && payloadOf<{ record: Message }>(m).record.seq === 51,
        'seq 51',
      );
      const received = box.messages
        .filter(ofEvent('message.created'))
        .map((m) => payloadOf<{ record: Message }>(m).record.seq);
      expect(received).toHaveLength(51);
      expect([...received].sort((a, b) => a - b)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    }
  });
});

describe('who may send', () => {
  it('a non-member gets 403 not_a_member; nothing is written or broadcast', async () => {
    const [alice, bob, mallory] = await Promise.all([newUser(), newUser(), newUser()]);
    const conversationId = await directConversation(alice, bob);
    const bobConversation = await listen(bob, await topicOf(bob, conversationId));
    const clientId = randomUUID();

    const refused = await call(mallory, 'send-message', {
      conversation_id: conversationId,
      client_id: clientId,
      body: 'hi',
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      code: 'not_a_member',
      message: 'You are not a member of this conversation.',
      details: null,
      hint: null,
    });
    expect(await messageCount('conversation_id = $1', [conversationId])).toBe(0);

    const sentinel = await send(alice, conversationId, 'sentinel');
    await bobConversation.find(ofEvent('message.created'), 'the sentinel');
    expect(
      bobConversation.messages
        .filter(ofEvent('message.created'))
        .map((m) => payloadOf<{ record: Message }>(m).record.id),
    ).toEqual([sentinel.body.id]);
  });

  it('a blocked user gets 403 blocked', async () => {
    const [alice, bob] = await Promise.all([newUser(), newUser()]);
    const conversationId = await directConversation(alice, bob);
    await bob.client.rpc('block_user', { user_id: alice.id });
    const refused = await send(alice, conversationId, 'let me in');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('blocked');
  });
});

describe('send-message errors', () => {
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([newUser(), newUser()]);
    conversationId = await directConversation(alice, bob);
  });

  it("400 for an invalid body, with the SQL's codes (a missing field counts as null)", async () => {
    const missing = await call(alice, 'send-message', { conversation_id: conversationId, client_id: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('invalid_body');

    const badId = await call(alice, 'send-message', { conversation_id: 'nope', client_id: 'x', body: 'hi' });
    expect(badId.status).toBe(400);
    expect(badId.body).toMatchObject({
      code: '22P02',
      message: 'invalid input syntax for type uuid: "nope"',
    });

    const blank = await send(alice, conversationId, '   ');
    expect(blank.status).toBe(400);
    expect(blank.body.code).toBe('invalid_body');

    const notJson = await call(alice, 'send-message', '{"conversation_id":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('invalid_json');

    const unknownField = await call(alice, 'send-message', {
      conversation_id: conversationId,
      client_id: 'x',
      body: 'hi',
      sender_id: bob.id,
    });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.code).toBe('invalid_argument');
    expect(JSON.parse(unknownField.body.details)).toEqual({ argument: 'sender_id' });
    expect(await messageCount('conversation_id = $1', [conversationId])).toBe(0);
  });

  it('415 for a body that is not JSON', async () => {
    const response = await call(alice, 'send-message', 'body=hi', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(response.body.code).toBe('unsupported_media_type');
  });

  it('401 without a token, with a bad token, and with the anon key (no user)', async () => {
    const noToken = await call(undefined, 'send-message', {
      conversation_id: conversationId,
      client_id: 'x',
      body: 'hi',
    });
    expect(noToken.status).toBe(401);
    expect(noToken.body.code).toBe('UNAUTHORIZED_NO_AUTH_HEADER');
    const badToken = await call(
      undefined,
      'send-message',
      { conversation_id: conversationId, client_id: 'x', body: 'hi' },
      { authorization: 'Bearer not-a-token' },
    );
    expect(badToken.status).toBe(401);
    const anon = await call(
      undefined,
      'send-message',
      { conversation_id: conversationId, client_id: 'x', body: 'hi' },
      { authorization: `Bearer ${stack.anonKey}` },
    );
    expect(anon.status).toBe(401);
    expect(anon.body).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/sign in/i) });
  });

  it('404 for an unknown conversation and for a reply to no message of the conversation', async () => {
    const unknown = await send(alice, randomUUID(), 'hello?');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('conversation_not_found');
    const reply = await send(alice, conversationId, 're: nothing', { reply_to: randomUUID() });
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('reply_to_not_found');
    expect(await messageCount('conversation_id = $1', [conversationId])).toBe(0);
  });

  it('413 for a message over 4000 characters and for a request over 64 KiB', async () => {
    const long = await send(alice, conversationId, 'x'.repeat(4001));
    expect(long.status).toBe(413);
    expect(long.body.code).toBe('body_too_long');
    expect(JSON.parse(long.body.details)).toEqual({ length: 4001, max_length: 4000 });
    const huge = await send(alice, conversationId, 'hi', { metadata: { blob: 'x'.repeat(70 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');
    expect(await messageCount('conversation_id = $1', [conversationId])).toBe(0);
  });

  it("429 with Retry-After once the sender's bucket is empty; the refused send writes nothing", async () => {
    const sender = await newUser();
    const target = await directConversation(sender, bob);
    // A full bucket whose refill starts only in an hour: exactly the burst of 30 goes through,
    // however long the sends take.
    await db.query(
      `insert into private.rate_limit_buckets (user_id, action, tokens, refreshed_at)
       values ($1, 'send_message', 30, now() + interval '1 hour')`,
      [sender.id],
    );
    for (let i = 1; i <= 30; i++) expect((await send(sender, target, `burst ${i}`)).status).toBe(201);
    const limited = await send(sender, target, 'one too many');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(JSON.parse(limited.body.details)).toEqual({ action: 'send_message', retry_after_seconds: 1 });
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await messageCount('conversation_id = $1', [target])).toBe(30);
  });
});

describe('signal', () => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let conversationId: string;
  const inboxes = new Map<string, Awaited<ReturnType<typeof listen>>>();

  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all([newUser(), newUser(), newUser()]);
    conversationId = await groupConversation(alice, [bob, carol], 'Call');
    for (const user of [alice, bob, carol]) inboxes.set(user.id, await listen(user, `user:${user.id}`));
  });

  const signal = (from: TestUser, to: TestUser, type: string, payload?: unknown) =>
    call(from, 'signal', { conversation_id: conversationId, to: to.id, type, payload });
  const signalsTo = (user: TestUser) => (inboxes.get(user.id)?.messages ?? []).filter(ofEvent('signal'));

  it('offer, answer and ICE reach only their target, from whom they came', async () => {
    expect((await signal(alice, bob, 'offer', { sdp: 'v=0 offer' })).status).toBe(202);
    const offer = await inboxes.get(bob.id)?.find(ofEvent('signal'), 'the offer');
    expect(offer?.payload).toEqual({
      from: alice.id,
      conversation_id: conversationId,
      type: 'offer',
      payload: { sdp: 'v=0 offer' },
      id: expect.any(String), // realtime.send's message id
    });

    expect((await signal(bob, alice, 'answer', { sdp: 'v=0 answer' })).status).toBe(202);
    expect(
      (await signal(bob, alice, 'ice', { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' })).status,
    ).toBe(202);
    await waitFor(() => (signalsTo(alice).length === 2 ? true : undefined), 'the answer and the candidate');
    expect(signalsTo(alice).map((m) => payloadOf<{ type: string; from: string }>(m))).toEqual([
      expect.objectContaining({ type: 'answer', from: bob.id }),
      expect.objectContaining({ type: 'ice', from: bob.id }),
    ]);

    // Carol was never addressed: a signal to her now must be the first she gets.
    expect((await signal(alice, carol, 'bye')).status).toBe(202);
    await inboxes.get(carol.id)?.find(ofEvent('signal'), 'the bye');
    expect(signalsTo(carol).map((m) => payloadOf<{ type: string }>(m).type)).toEqual(['bye']);
    expect(signalsTo(bob).map((m) => payloadOf<{ type: string }>(m).type)).toEqual(['offer']);
  });

  it('refuses a non-member (403), a recipient outside the conversation (404), a bad type (400), a big payload (413)', async () => {
    const [mallory, dave] = await Promise.all([newUser(), newUser()]);
    const outsider = await call(mallory, 'signal', {
      conversation_id: conversationId,
      to: bob.id,
      type: 'offer',
    });
    expect(outsider.status).toBe(403);
    expect(outsider.body.code).toBe('not_a_member');
    const notThere = await signal(alice, dave, 'offer', {});
    expect(notThere.status).toBe(404);
    expect(notThere.body.code).toBe('member_not_found');
    const badType = await signal(alice, bob, 'hello', {});
    expect(badType.status).toBe(400);
    expect(badType.body.code).toBe('invalid_signal_type');
    const big = await signal(alice, bob, 'offer', { sdp: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('signal_too_large');
    const tooBig = await signal(alice, bob, 'offer', { sdp: 'x'.repeat(40_000) });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.code).toBe('payload_too_large');
  });
});

describe('twilio-webhook', { tags: ['twilio'] }, () => {
  const webhookUrl = `${stack.url}/functions/v1/twilio-webhook`;
  let agents: TestUser[] = [];

  beforeAll(async () => {
    agents = await Promise.all([newUser(), newUser()]);
    await db.query('insert into private.external_team_members (user_id) select unnest($1::uuid[])', [
      agents.map((agent) => agent.id),
    ]);
  });
  afterAll(async () => {
    await db.query('delete from private.external_team_members where user_id = any($1::uuid[])', [
      agents.map((agent) => agent.id),
    ]);
  });

  /** Twilio's signature: HMAC-SHA1 over the URL and the sorted parameters, computed here independently. */
  const sign = (params: URLSearchParams) => {
    let payload = webhookUrl;
    for (const name of [...new Set(params.keys())].sort()) payload += name + params.get(name);
    return createHmac('sha1', stack.twilioAuthToken as string)
      .update(payload)
      .digest('base64');
  };
  const inbound = (from: string, body: string) =>
    new URLSearchParams({
      MessageSid: `SM${randomUUID().replaceAll('-', '')}`,
      AccountSid: `AC${randomUUID().replaceAll('-', '')}`,
      From: from,
      To: '+15005550006',
      Body: body,
      NumMedia: '0',
    });
  const post = (
    params: URLSearchParams,
    signature: string | null,
    contentType = 'application/x-www-form-urlencoded',
  ) =>
    fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(signature ? { 'x-twilio-signature': signature } : {}) },
      body: params.toString(),
    });
  const randomNumber = () => `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;

  it('a validly signed SMS reaches every team member, once, however often Twilio delivers it', async () => {
    const channels = await Promise.all(agents.map((agent) => listen(agent, `user:${agent.id}`)));
    const from = randomNumber();
    const params = inbound(from, 'My order has not arrived');
    const response = await post(params, sign(params));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/xml');
    expect(await response.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');

    // The agents are in every external conversation: pick this sender's out of what arrives.
    const ofThisSender = (event: string, conversationId?: string) => (m: BroadcastMessage) =>
      m.event === event &&
      (conversationId
        ? payloadOf<{ conversation_id: string }>(m).conversation_id === conversationId
        : payloadOf<{ title: string }>(m).title === `SMS ${from}`);
    let conversationId = '';
    for (const channel of channels) {
      const added = await channel.find(ofThisSender('conversation.added'), 'conversation.added for an agent');
      expect(payloadOf(added)).toMatchObject({ kind: 'group', title: `SMS ${from}`, role: 'admin' });
      conversationId = payloadOf<{ conversation_id: string }>(added).conversation_id;
      const update = await channel.find(
        ofThisSender('inbox.updated', conversationId),
        'inbox.updated for an agent',
      );
      expect(payloadOf(update)).toMatchObject({
        unread_count: 1,
        last_message: { preview: 'My order has not arrived' },
      });
    }
    const { data } = await (agents[0] as TestUser).client.rpc('get_messages', {
      conversation_id: conversationId,
    });
    expect(data).toEqual([
      expect.objectContaining({
        seq: 1,
        kind: 'external',
        sender_id: null,
        body: 'My order has not arrived',
        client_id: params.get('MessageSid'),
        metadata: expect.objectContaining({
          external: expect.objectContaining({ channel: 'sms', address: from }),
        }),
      }),
    ]);

    const redelivery = await post(params, sign(params));
    expect(redelivery.status).toBe(200);
    expect(await messageCount('conversation_id = $1', [conversationId])).toBe(1);
  });

  it('a WhatsApp sender gets a conversation named after their profile', async () => {
    const from = randomNumber();
    const params = inbound(`whatsapp:${from}`, 'Hola');
    params.set('ProfileName', 'Maria');
    expect((await post(params, sign(params))).status).toBe(200);
    const { rows } = await db.query(
      `select c.title, x.channel from private.external_contacts x join public.conversations c on c.id = x.conversation_id
        where x.address = $1`,
      [from],
    );
    expect(rows).toEqual([{ title: 'WhatsApp Maria', channel: 'whatsapp' }]);
  });

  it('a bad or missing signature gets 403 and writes nothing', async () => {
    const from = randomNumber();
    const params = inbound(from, 'forged');
    const forged = await post(
      params,
      createHmac('sha1', 'not-the-token').update(webhookUrl).digest('base64'),
    );
    expect(forged.status).toBe(403);
    expect((await forged.json()).code).toBe('invalid_signature');
    const tampered = new URLSearchParams(params);
    const signature = sign(params);
    tampered.set('Body', 'tampered');
    expect((await post(tampered, signature)).status).toBe(403);
    expect((await post(params, null)).status).toBe(403);
    expect(await messageCount('client_id = $1', [params.get('MessageSid')])).toBe(0);
    const { rows } = await db.query(
      'select count(*)::int as n from private.external_contacts where address = $1',
      [from],
    );
    expect(rows[0].n).toBe(0);
  });

  it('a request that is not a Twilio form post is refused', async () => {
    const params = inbound(randomNumber(), 'json?');
    const asJson = await post(params, sign(params), 'application/json');
    expect(asJson.status).toBe(415);
    const notAMessage = new URLSearchParams({ From: randomNumber() });
    const response = await post(notAMessage, sign(notAMessage));
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe('invalid_webhook');
  });

  it('answers anything but POST with 405 and a body over 64 KiB with 413, writing nothing', async () => {
    const asGet = await fetch(webhookUrl);
    expect(asGet.status).toBe(405);
    expect((await asGet.json()).code).toBe('method_not_allowed');
    const params = inbound(randomNumber(), 'x'.repeat(70 * 1024));
    const tooBig = await post(params, sign(params));
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json()).code).toBe('payload_too_large');
    expect(await messageCount('client_id = $1', [params.get('MessageSid')])).toBe(0);
  });
});
