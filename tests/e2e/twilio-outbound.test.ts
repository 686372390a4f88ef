// External channels both ways, end to end with the real supabase-js: a customer
// writes in through the signed twilio-webhook, a team member answers with
// send-message, and the answer goes out through twilio-send to a loopback server that
// speaks Twilio's Messages API (tests/e2e/fake-twilio.ts), exactly once — through 500s,
// 429s, and a crash and restart of the whole stack between queueing and recording the
// send. Twilio's signed status callbacks come back through twilio-status to the team's
// clients, and operators manage the team and the numbers with the service role key.
//
// This file runs a stack of its own: its functions need the fake Twilio's URL as
// TWILIO_API_BASE_URL, and one test restarts it. Time is driven by configuration: no
// retry backoff (TWILIO_RETRY_BASE_SECONDS=0), a 15 s lease, the sweep every second, and
// a test that needs an hour to pass moves the outbox row's due time.

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Stack, startStack } from '../../emulator/stack.ts';
import { createStackClient, createUser, type TestUser } from '../../emulator/testing.ts';
import { type FakeTwilio, startFakeTwilio, twilioSignature } from './fake-twilio.ts';
import { type BroadcastMessage, disconnectAfterAll, inbox, subscribed, waitFor } from './realtime-support.ts';

const SMS_NUMBER = '+15005550006';
const WHATSAPP_NUMBER = '+14155238886';
const accountSid = `AC${randomBytes(16).toString('hex')}`;
const authToken = randomBytes(16).toString('hex');

interface Delivery {
  channel: string;
  status: string;
  sid: string | null;
  error: { code: string; message: string; status?: number } | null;
}
interface Message {
  id: string;
  seq: number;
  change_seq: number;
  body: string;
  external_delivery: Delivery | null;
}

let fake: FakeTwilio;
let stack: Stack;
let db: pg.Pool;
let operator: SupabaseClient;
let ann: TestUser;
let bo: TestUser;
const dataDir = mkdtempSync(path.join(tmpdir(), 'twilio-outbound-'));
const track = disconnectAfterAll();

async function start(port: number) {
  stack = await startStack({
    port,
    dbPort: 0,
    dataDir,
    quiet: true,
    functionSecrets: {
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: authToken,
      TWILIO_API_BASE_URL: fake.url,
      TWILIO_RETRY_BASE_SECONDS: '0',
      TWILIO_REQUEST_TIMEOUT_SECONDS: '5',
      TWILIO_SEND_LEASE_SECONDS: '15',
    },
  });
  db = new pg.Pool({ connectionString: stack.dbUrl, max: 2 });
}

async function stop() {
  await db?.end();
  await stack?.stop();
}

const rpc = async <T>(
  client: SupabaseClient,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> => {
  const { data, error } = await client.rpc(name, args);
  if (error) throw new Error(`${name}: ${error.message}`);
  return data as T;
};

describe('external channels both ways (Twilio)', { tags: ['emulator-only'] }, () => {
  beforeAll(async () => {
    fake = await startFakeTwilio({ accountSid, authToken });
    await start(await freePort());
    operator = createStackClient(stack, stack.serviceRoleKey);
    await rpc(operator, 'set_external_sender_url', { url: `${stack.url}/functions/v1/twilio-send` });
    await rpc(operator, 'set_external_channel', { channel: 'sms', sending_number: SMS_NUMBER });
    await rpc(operator, 'set_external_channel', { channel: 'whatsapp', sending_number: WHATSAPP_NUMBER });
    [ann, bo] = await Promise.all([createUser(stack), createUser(stack)]);
    for (const agent of [ann, bo]) await rpc(operator, 'add_team_member', { user_id: agent.id });
    // The retry and recovery sweep, every second instead of every 10 s.
    await db.query(
      `select cron.schedule('wake-external-sender', '1 seconds', 'select private.wake_external_sender()')`,
    );
  });
  afterAll(async () => {
    await stop();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const randomNumber = () => `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;

  /** A customer's message through the signed inbound webhook; returns their conversation's id. */
  async function customerWrites(address: string, body: string, channel: 'sms' | 'whatsapp' = 'sms') {
    const url = `${stack.url}/functions/v1/twilio-webhook`;
    const params = new URLSearchParams({
      MessageSid: `SM${randomUUID().replaceAll('-', '')}`,
      AccountSid: accountSid,
      From: channel === 'whatsapp' ? `whatsapp:${address}` : address,
      To: channel === 'whatsapp' ? `whatsapp:${WHATSAPP_NUMBER}` : SMS_NUMBER,
      Body: body,
      NumMedia: '0',
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(authToken, url, params),
      },
      body: params.toString(),
    });
    expect(response.status).toBe(200);
    await response.body?.cancel();
    const { rows } = await db.query(
      'select conversation_id from private.external_contacts where address = $1 and channel = $2',
      [address, channel],
    );
    return rows[0].conversation_id as string;
  }

  async function reply(agent: TestUser, conversationId: string, body: string): Promise<Message> {
    const { data, error } = await agent.client.functions.invoke('send-message', {
      body: { conversation_id: conversationId, client_id: randomUUID(), body },
    });
    if (error) throw new Error(`send-message: ${error.message}`);
    return data as Message;
  }

  /** The message as `agent` reads it through the API. */
  async function read(agent: TestUser, conversationId: string, seq: number): Promise<Message> {
    const [message] = await rpc<Message[]>(agent.client, 'get_messages', {
      conversation_id: conversationId,
      after_seq: seq - 1,
      max_rows: 1,
    });
    return message as Message;
  }

  const deliveredAs = (
    agent: TestUser,
    conversationId: string,
    message: Message,
    status: string,
    timeoutMs?: number,
  ) =>
    waitFor(
      async () => {
        const delivery = (await read(agent, conversationId, message.seq)).external_delivery;
        return delivery?.status === status ? delivery : undefined;
      },
      `"${message.body}" to be ${status}`,
      timeoutMs,
    );

  const createsOf = (body: string) => fake.creates().filter((request) => request.params.get('Body') === body);
  const messagesOf = (body: string) => fake.messages.filter((message) => message.body === body);

  async function listen(user: TestUser, topic: string) {
    const channel = track(user.client).channel(topic, { config: { private: true } });
    const box = inbox(channel, 'delivery.changed');
    await subscribed(channel);
    return box;
  }

  it('a team member’s reply reaches Twilio once, with the right To, From and Body', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Is my order on its way?');
    const sent = await reply(ann, conversationId, 'Yes, it ships today');
    expect(sent.external_delivery).toMatchObject({ channel: 'sms', status: 'pending', sid: null });

    const delivery = await deliveredAs(ann, conversationId, sent, 'queued');
    const [created] = messagesOf('Yes, it ships today');
    expect(messagesOf('Yes, it ships today')).toHaveLength(1);
    expect(created).toMatchObject({ to: customer, from: SMS_NUMBER });
    expect(created?.statusCallback).toBe(`${stack.url}/functions/v1/twilio-status?message_id=${sent.id}`);
    expect(createsOf('Yes, it ships today')).toHaveLength(1);
    expect(createsOf('Yes, it ships today')[0]?.authorized).toBe(true);
    expect(delivery.sid).toBe(created?.sid);
  });

  it('a WhatsApp reply goes from the WhatsApp number to whatsapp:<customer>', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Hola', 'whatsapp');
    const sent = await reply(bo, conversationId, 'Hola, ¿en qué te ayudo?');
    await deliveredAs(bo, conversationId, sent, 'queued');
    expect(messagesOf('Hola, ¿en qué te ayudo?')).toEqual([
      expect.objectContaining({ to: `whatsapp:${customer}`, from: `whatsapp:${WHATSAPP_NUMBER}` }),
    ]);
  });

  it('a 500 is retried, after looking the message up, and still yields one message', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Hello?');
    fake.failNext({ status: 500 });
    const sent = await reply(ann, conversationId, 'Sorry for the wait');
    const delivery = await deliveredAs(ann, conversationId, sent, 'queued');
    expect(createsOf('Sorry for the wait')).toHaveLength(2);
    expect(messagesOf('Sorry for the wait')).toHaveLength(1);
    expect(delivery.sid).toBe(messagesOf('Sorry for the wait')[0]?.sid);
    const order = fake.requests
      .filter((r) => r.params.get('Body') === 'Sorry for the wait' || r.params.get('To') === customer)
      .map((r) => r.method);
    expect(order).toEqual(['POST', 'GET', 'POST']);
  });

  it('a 500 after Twilio accepted the message is not sent again: the lookup finds it', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Anyone?');
    fake.failNext({ status: 500, accepted: true });
    const sent = await reply(ann, conversationId, 'Here, one moment');
    const delivery = await deliveredAs(ann, conversationId, sent, 'queued');
    expect(createsOf('Here, one moment')).toHaveLength(1);
    expect(messagesOf('Here, one moment')).toHaveLength(1);
    expect(delivery.sid).toBe(messagesOf('Here, one moment')[0]?.sid);
  });

  it('a 429 waits at least its Retry-After, without a lookup, then sends once', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Ping');
    fake.failNext({ status: 429, retryAfter: 3600 });
    const sent = await reply(ann, conversationId, 'Pong');
    const retry = await waitFor(async () => {
      const { rows } = await db.query(
        `select extract(epoch from next_attempt_at - updated_at)::int as wait, in_doubt_since, last_error ->> 'code' as code
           from private.external_outbox where message_id = $1`,
        [sent.id],
      );
      return rows[0]?.code === '20429' ? rows[0] : undefined;
    }, 'the throttled attempt to be recorded');
    expect(retry).toEqual({ wait: 3600, in_doubt_since: null, code: '20429' });
    expect((await read(ann, conversationId, sent.seq)).external_delivery?.status).toBe('pending');

    await db.query('update private.external_outbox set next_attempt_at = now() where message_id = $1', [
      sent.id,
    ]);
    await deliveredAs(ann, conversationId, sent, 'queued');
    expect(createsOf('Pong')).toHaveLength(2);
    expect(messagesOf('Pong')).toHaveLength(1);
    expect(fake.lookups().filter((r) => r.params.get('To') === customer)).toHaveLength(0);
  });

  it('a 400 marks the message failed, keeps the error and tells the sender', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Call me');
    const own = await listen(ann, `user:${ann.id}`);
    fake.failNext({ status: 400, code: 21211, message: "The 'To' number is not a valid phone number." });
    const sent = await reply(ann, conversationId, 'Calling you now');

    const told = await own.find(
      (event) => (event.payload as { message_id: string }).message_id === sent.id,
      'delivery.changed on the sender’s own topic',
    );
    const error = { code: '21211', message: "The 'To' number is not a valid phone number.", status: 400 };
    expect(told.payload).toMatchObject({
      conversation_id: conversationId,
      message_id: sent.id,
      sender_id: ann.id,
      external_delivery: { status: 'failed', error },
    });
    expect((await read(bo, conversationId, sent.seq)).external_delivery).toMatchObject({
      status: 'failed',
      error,
    });
    const { rows } = await db.query(
      'select state, attempts from private.external_outbox where message_id = $1',
      [sent.id],
    );
    expect(rows).toEqual([{ state: 'failed', attempts: 1 }]);
    expect(createsOf('Calling you now')).toHaveLength(1);
  });

  it('delivered and read callbacks reach the team’s clients, in order, never backwards', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Thanks!');
    const { topic } = await rpc<{ topic: string }>(bo.client, 'get_conversation', {
      conversation_id: conversationId,
    });
    const events = await listen(bo, topic);
    const sent = await reply(ann, conversationId, 'You are welcome');
    const { sid } = await deliveredAs(bo, conversationId, sent, 'queued');

    expect(await fake.sendStatus(sid as string, 'delivered')).toBe(200);
    expect(await fake.sendStatus(sid as string, 'sent')).toBe(200); // late, out of order
    expect(await fake.sendStatus(sid as string, 'read')).toBe(200);
    expect(await fake.sendStatus(sid as string, 'failed', { authToken: 'not-the-token' })).toBe(403);

    const mine = (event: BroadcastMessage) =>
      (event.payload as { message_id: string }).message_id === sent.id;
    await events.find(
      (event) => mine(event) && (event.payload as Message).external_delivery?.status === 'read',
      'read',
    );
    const seen = events.messages.filter(mine).map((event) => event.payload as Message);
    expect(seen.map((event) => event.external_delivery?.status)).toEqual(['queued', 'delivered', 'read']);
    expect(seen.map((event) => event.change_seq)).toEqual([
      sent.change_seq + 1,
      sent.change_seq + 2,
      sent.change_seq + 3,
    ]);

    const caughtUp = await rpc<{ messages: Message[] }>(bo.client, 'sync_conversation', {
      conversation_id: conversationId,
      since_change: sent.change_seq,
    });
    expect(caughtUp.messages.map((message) => [message.id, message.external_delivery?.status])).toEqual([
      [sent.id, 'read'],
    ]);
  });

  it('operators manage the team with the service role key; members cannot', async () => {
    const customer = randomNumber();
    await customerWrites(customer, 'Hi team');
    const cy = await createUser(stack);
    const joined = await rpc<{ conversations_joined: number }>(operator, 'add_team_member', {
      user_id: cy.id,
    });
    const { count } = (await db.query('select count(*)::int as count from private.external_contacts'))
      .rows[0] as { count: number };
    expect(joined.conversations_joined).toBe(count);
    const inboxOfCy = await rpc<{ title: string }[]>(cy.client, 'list_inbox', { max_rows: 200 });
    expect(inboxOfCy.map((entry) => entry.title)).toContain(`SMS ${customer}`);

    const refused = await ann.client.rpc('add_team_member', { user_id: ann.id });
    expect(refused.error).toMatchObject({ code: 'not_allowed' });
    const removed = await rpc<{ conversations_left: number }>(operator, 'remove_team_member', {
      user_id: cy.id,
    });
    expect(removed.conversations_left).toBe(count);
    expect(await rpc<unknown[]>(cy.client, 'list_inbox')).toEqual([]);
  });

  it('a crash and restart of the stack between queueing and recording the send still sends once', async () => {
    const customer = randomNumber();
    const conversationId = await customerWrites(customer, 'Still there?');
    fake.failNext({ hang: true }); // Twilio takes the message, and its answer never arrives
    const sent = await reply(ann, conversationId, 'Sent across a crash');
    await waitFor(
      () => (createsOf('Sent across a crash').length > 0 ? true : undefined),
      'the create request',
    );

    // The functions die mid-request, as a crashed worker would; then everything restarts.
    process.kill(stack.processIds().at(-1) as number, 'SIGKILL');
    const port = new URL(stack.url).port;
    await stop();
    fake.releaseHangs();
    await start(Number(port));

    const delivery = await deliveredAs(ann, conversationId, sent, 'queued', 60_000);
    expect(createsOf('Sent across a crash')).toHaveLength(1);
    expect(messagesOf('Sent across a crash')).toHaveLength(1);
    expect(delivery.sid).toBe(messagesOf('Sent across a crash')[0]?.sid);
    expect(fake.lookups().filter((r) => r.params.get('To') === customer).length).toBeGreaterThan(0);
  });
});
