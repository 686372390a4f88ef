// Client broadcasts through the real supabase-js: JSON frames (serializer
// 1.0.0) and binary frames (2.0.0, also with raw bytes), `self` and `ack`,
// private topics, and the HTTP broadcast API behind httpSend() and the REST
// fallback of send().

import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  disconnectAfterAll,
  inbox,
  installFixtures,
  subscribed,
  topicName,
  v1Client,
} from './realtime-support.ts';
import { anonClient, api, newUser, sqlPool, stack } from './support.ts';

const db = sqlPool();
const keep = disconnectAfterAll();
beforeAll(() => installFixtures(db));

describe('broadcast over the socket', () => {
  it('delivers binary-framed (2.0.0) broadcasts, with self and ack', async () => {
    const topic = topicName('binary-frames');
    const sender = keep(anonClient()).channel(topic, { config: { broadcast: { self: true, ack: true } } });
    const receiver = keep(anonClient()).channel(topic);
    const seenBySender = inbox(sender);
    const seenByReceiver = inbox(receiver);
    await subscribed(sender);
    await subscribed(receiver);

    expect(await sender.send({ type: 'broadcast', event: 'greet', payload: { text: 'hi' } })).toBe('ok');
    const arrived = await seenByReceiver.find((m) => m.event === 'greet');
    expect(arrived).toEqual({ type: 'broadcast', event: 'greet', payload: { text: 'hi' } });
    expect(await seenBySender.find((m) => m.event === 'greet')).toEqual(arrived);
  });

  it('does not echo to the sender without self', async () => {
    const topic = topicName('no-self');
    const quiet = keep(anonClient()).channel(topic);
    const other = keep(anonClient()).channel(topic);
    const seenByQuiet = inbox(quiet);
    const seenByOther = inbox(other);
    await subscribed(quiet);
    await subscribed(other);

    await quiet.send({ type: 'broadcast', event: 'mine', payload: {} });
    await seenByOther.find((m) => m.event === 'mine');
    // The echo, if any, was sent before the other client could answer.
    await other.send({ type: 'broadcast', event: 'reply', payload: {} });
    await seenByQuiet.find((m) => m.event === 'reply');
    expect(seenByQuiet.messages.map((m) => m.event)).toEqual(['reply']);
  });

  it('carries raw bytes to 2.0.0 clients and leaves them out for 1.0.0 clients', async () => {
    const topic = topicName('bytes');
    const sender = keep(anonClient()).channel(topic, { config: { broadcast: { ack: true } } });
    const modern = keep(anonClient()).channel(topic);
    const legacy = keep(await v1Client(stack)).channel(topic);
    const seenByModern = inbox(modern);
    const seenByLegacy = inbox(legacy);
    await subscribed(sender);
    await subscribed(modern);
    await subscribed(legacy);

    const bytes = new Uint8Array([1, 2, 3, 250]).buffer;
    expect(await sender.send({ type: 'broadcast', event: 'blob', payload: bytes })).toBe('ok');
    const blob = await seenByModern.find((m) => m.event === 'blob');
    expect([...new Uint8Array(blob.payload as ArrayBuffer)]).toEqual([1, 2, 3, 250]);

    expect(await sender.send({ type: 'broadcast', event: 'json', payload: { after: true } })).toBe('ok');
    await seenByLegacy.find((m) => m.event === 'json');
    expect(seenByLegacy.messages).toEqual([{ type: 'broadcast', event: 'json', payload: { after: true } }]);
  });

  it('interoperates between the 1.0.0 (JSON) and 2.0.0 serializers, with self and ack', async () => {
    const topic = topicName('serializers');
    const legacy = keep(await v1Client(stack)).channel(topic, {
      config: { broadcast: { self: true, ack: true } },
    });
    const modern = keep(anonClient()).channel(topic, { config: { broadcast: { ack: true } } });
    const seenByLegacy = inbox(legacy);
    const seenByModern = inbox(modern);
    await subscribed(legacy);
    await subscribed(modern);

    expect(await legacy.send({ type: 'broadcast', event: 'from-v1', payload: { n: 1 } })).toBe('ok');
    expect((await seenByModern.find((m) => m.event === 'from-v1')).payload).toEqual({ n: 1 });
    expect((await seenByLegacy.find((m) => m.event === 'from-v1')).payload).toEqual({ n: 1 });
    expect(await modern.send({ type: 'broadcast', event: 'from-v2', payload: { n: 2 } })).toBe('ok');
    expect((await seenByLegacy.find((m) => m.event === 'from-v2')).payload).toEqual({ n: 2 });
  });

  it('lets members broadcast on a private topic and keeps the public twin out of it', async () => {
    const topic = topicName('private-broadcast');
    const alice = await newUser();
    const bob = await newUser();
    keep(alice.client);
    keep(bob.client);
    await addMember(db, topic, alice.id);
    await addMember(db, topic, bob.id);
    const aliceChannel = alice.client.channel(topic, { config: { private: true, broadcast: { ack: true } } });
    const bobChannel = bob.client.channel(topic, { config: { private: true } });
    const publicTwin = keep(anonClient()).channel(topic, { config: { broadcast: { ack: true } } });
    const seenByBob = inbox(bobChannel);
    const seenPublicly = inbox(publicTwin);
    await subscribed(aliceChannel);
    await subscribed(bobChannel);
    await subscribed(publicTwin);

    expect(await aliceChannel.send({ type: 'broadcast', event: 'secret', payload: { s: 1 } })).toBe('ok');
    expect((await seenByBob.find((m) => m.event === 'secret')).payload).toEqual({ s: 1 });
    const other = keep(anonClient()).channel(topic);
    await subscribed(other);
    await other.send({ type: 'broadcast', event: 'sentinel', payload: {} });
    await seenPublicly.find((m) => m.event === 'sentinel');
    expect(seenPublicly.messages.map((m) => m.event)).toEqual(['sentinel']);
  });
});

describe('the HTTP broadcast API', () => {
  it('delivers httpSend() JSON and bytes (POST /api/broadcast/<topic>/events/<event>)', async () => {
    const topic = topicName('http-single');
    const receiver = keep(anonClient()).channel(topic);
    const received = inbox(receiver);
    await subscribed(receiver);
    const sender = keep(anonClient()).channel(topic);

    expect(await sender.httpSend('note', { via: 'http' })).toEqual({ success: true });
    expect(await received.find((m) => m.event === 'note')).toEqual({
      type: 'broadcast',
      event: 'note',
      payload: { via: 'http' },
    });
    expect(await sender.httpSend('bytes', new Uint8Array([9, 8, 7]))).toEqual({ success: true });
    const bytes = await received.find((m) => m.event === 'bytes');
    expect([...new Uint8Array(bytes.payload as ArrayBuffer)]).toEqual([9, 8, 7]);
  });

  it('delivers the REST fallback of send() before joining (POST /api/broadcast)', async () => {
    const topic = topicName('http-batch');
    const receiver = keep(anonClient()).channel(topic);
    const received = inbox(receiver);
    await subscribed(receiver);
    const notJoined = keep(anonClient()).channel(topic);
    expect(await notJoined.send({ type: 'broadcast', event: 'fallback', payload: { ok: 1 } })).toBe('ok');
    expect((await received.find((m) => m.event === 'fallback')).payload).toEqual({ ok: 1 });
  });

  it('authorizes private messages: 202 for a member, 403 (single) or a silent skip (batch) otherwise', async () => {
    const topic = topicName('http-private');
    const alice = await newUser();
    const mallory = await newUser();
    keep(alice.client);
    keep(mallory.client);
    await addMember(db, topic, alice.id);
    const listener = alice.client.channel(topic, { config: { private: true } });
    const received = inbox(listener);
    await subscribed(listener);

    const fromMallory = mallory.client.channel(topic, { config: { private: true } });
    await expect(fromMallory.httpSend('intrusion', { n: 1 })).rejects.toThrow('Unauthorized');
    // The REST fallback of send() uses the batch route, which skips what it may not send (202).
    expect(await fromMallory.send({ type: 'broadcast', event: 'intrusion', payload: { n: 2 } })).toBe('ok');

    // Alice's own message, sent once Mallory's requests were answered: it arrives, hers did not.
    expect(await listener.httpSend('allowed', { n: 3 })).toEqual({ success: true });
    await received.find((m) => m.event === 'allowed');
    expect(received.messages.map((m) => m.event)).toEqual(['allowed']);
  });

  it('answers 401 without a valid token, 422 for a bad body and 415 for other content types', async () => {
    const bad = await api('/realtime/v1/api/broadcast', {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic: 't', event: 'e', payload: {} }] }),
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ code: 'unauthorized', message: 'Unauthorized' });

    const invalid = await api('/realtime/v1/api/broadcast', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic: 't', event: 'e' }] }),
    });
    expect(invalid.status).toBe(422);

    const text = await api('/realtime/v1/api/broadcast/t/events/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);
  });
});
