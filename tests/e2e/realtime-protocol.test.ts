// The wire protocol, frame by frame, with a bare WebSocket: what the platform
// sends for heartbeats, joins, errors, binary broadcasts, leaves; the limits
// (channels per socket, payload size, messages per second); and what happens
// to frames that are malformed or too big — an error reply or a close of that
// socket only, never a crash, while other clients carry on.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isFrame, RawSocket, userBroadcastPush, waitFor } from './realtime-support.ts';
import { stack } from './support.ts';

const open = (vsn: '1.0.0' | '2.0.0' = '2.0.0') => RawSocket.open(stack.url, stack.anonKey, vsn);
const topic = (label: string) => `realtime:rt-raw-${label}-${randomUUID().slice(0, 8)}`;
const JOIN = {
  config: {
    broadcast: { self: false, ack: false },
    presence: { key: '', enabled: false },
    postgres_changes: [],
    private: false,
  },
};

/** Proves a socket still works: a heartbeat round trip. */
async function heartbeat(socket: RawSocket, ref: string) {
  socket.send([null, ref, 'phoenix', 'heartbeat', {}]);
  return socket.text(isFrame('phoenix', 'phx_reply', ref), `heartbeat ${ref}`);
}

describe('frames of the 2.0.0 serializer', () => {
  it('answers a heartbeat on the phoenix topic', async () => {
    const socket = await open();
    expect(await heartbeat(socket, '10')).toEqual([
      null,
      '10',
      'phoenix',
      'phx_reply',
      { status: 'ok', response: {} },
    ]);
    socket.close();
  });

  it('takes the API key from the apikey or x-api-key header as well as from the query', async () => {
    for (const keyIn of ['apikey', 'x-api-key'] as const) {
      const socket = await RawSocket.open(stack.url, stack.anonKey, '2.0.0', keyIn);
      const name = topic(keyIn);
      expect((await socket.join(name, JOIN, '1'))[4]).toEqual({
        status: 'ok',
        response: { postgres_changes: [] },
      });
      socket.close();
    }
  });

  it('replies to a join, then pushes presence_state when presence is enabled', async () => {
    const socket = await open();
    const name = topic('join');
    const reply = await socket.join(
      name,
      { config: { ...JOIN.config, presence: { key: 'me', enabled: true } } },
      '1',
    );
    expect(reply).toEqual([
      '1',
      '1',
      name,
      'phx_reply',
      { status: 'ok', response: { postgres_changes: [] } },
    ]);
    expect(await socket.text(isFrame(name, 'presence_state'))).toEqual([
      '1',
      null,
      name,
      'presence_state',
      {},
    ]);
    socket.close();
  });

  it('names the error of a join without a topic name, and of topics that are not realtime channels', async () => {
    const socket = await open();
    expect(await socket.join('realtime:', JOIN, '1')).toEqual([
      '1',
      '1',
      'realtime:',
      'phx_reply',
      { status: 'error', response: { reason: 'TopicNameRequired: You must provide a topic name' } },
    ]);
    const reply = await socket.join('room:1', JOIN, '2');
    expect(reply[4]).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
    socket.send([
      null,
      '3',
      'realtime:never-joined',
      'broadcast',
      { type: 'broadcast', event: 'x', payload: {} },
    ]);
    const unjoined = await socket.text(isFrame('realtime:never-joined', 'phx_reply', '3'));
    expect((unjoined as unknown[])[4]).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
    socket.close();
  });

  it('refuses a join payload that is not an object, and joins despite ill-typed fields (as the platform does)', async () => {
    const socket = await open();
    const reply = await socket.join(topic('bad-payload'), 'not an object', '1');
    expect(reply[4]).toEqual({
      status: 'error',
      response: { reason: 'InvalidJoinPayload: unable to parse, expected a map' },
    });
    const lenient = await socket.join(
      topic('ill-typed'),
      { config: { broadcast: { self: 42 }, private: 'no' } },
      '2',
    );
    expect(lenient[4]).toEqual({ status: 'ok', response: { postgres_changes: [] } });
    socket.close();
  });

  it('turns a binary user broadcast (kind 3) into kind 4 frames for 2.0.0 and JSON for 1.0.0, and acks it', async () => {
    const name = topic('binary');
    const sender = await open();
    const modern = await open();
    const legacy = await open('1.0.0');
    await sender.join(name, { config: { ...JOIN.config, broadcast: { self: false, ack: true } } }, '1');
    await modern.join(name, JOIN, '1');
    legacy.send({ topic: name, event: 'phx_join', payload: JOIN, ref: '1', join_ref: '1' });
    await legacy.text((f) => (f as { event?: string }).event === 'phx_reply');

    sender.sendRaw(userBroadcastPush('1', '2', name, 'msg', Buffer.from('{"text":"hi"}')));
    expect(await sender.text(isFrame(name, 'phx_reply', '2'))).toEqual([
      '1',
      '2',
      name,
      'phx_reply',
      { status: 'ok', response: {} },
    ]);
    const frame = await modern.binary();
    const expected = Buffer.concat([
      Buffer.from([4, Buffer.byteLength(name), 3, 0, 1]),
      Buffer.from(name),
      Buffer.from('msg'),
      Buffer.from('{"text":"hi"}'),
    ]);
    expect(frame.equals(expected)).toBe(true);
    expect(await legacy.text((f) => (f as { event?: string }).event === 'broadcast')).toEqual({
      topic: name,
      event: 'broadcast',
      payload: { type: 'broadcast', event: 'msg', payload: { text: 'hi' } },
      ref: null,
    });
    for (const s of [sender, modern, legacy]) s.close();
  });

  it('answers phx_leave and then closes the channel with phx_close carrying the join ref', async () => {
    const socket = await open();
    const name = topic('leave');
    await socket.join(name, JOIN, '5');
    socket.send(['5', '6', name, 'phx_leave', {}]);
    expect(await socket.text(isFrame(name, 'phx_reply', '6'))).toEqual([
      '5',
      '6',
      name,
      'phx_reply',
      { status: 'ok', response: {} },
    ]);
    expect(await socket.text(isFrame(name, 'phx_close'))).toEqual(['5', '5', name, 'phx_close', {}]);
    socket.close();
  });

  it('closes the earlier channel when a topic is joined again', async () => {
    const socket = await open();
    const name = topic('rejoin');
    await socket.join(name, JOIN, '1');
    await socket.join(name, JOIN, '2');
    expect(await socket.text(isFrame(name, 'phx_close'))).toEqual(['1', '1', name, 'phx_close', {}]);
    socket.close();
  });

  it('confirms the replication connection when asked with replication_ready', async () => {
    const socket = await open();
    const name = topic('ready');
    await socket.join(name, { config: { ...JOIN.config, broadcast: { replication_ready: true } } }, '1');
    expect(await socket.text(isFrame(name, 'system'))).toEqual([
      '1',
      null,
      name,
      'system',
      {
        extension: 'system',
        status: 'ok',
        message: 'Replication connection established',
        channel: name.slice(9),
      },
    ]);
    socket.close();
  });

  it('refuses replay on a public channel', async () => {
    const socket = await open();
    const reply = await socket.join(
      topic('replay'),
      { config: { ...JOIN.config, broadcast: { replay: { since: 0, limit: 5 } } } },
      '1',
    );
    expect(reply[4]).toEqual({
      status: 'error',
      response: { reason: 'UnableToReplayMessages: Replay is not allowed for public channels' },
    });
    socket.close();
  });
});

describe('frames of the 1.0.0 serializer', () => {
  it('uses JSON objects without join_ref', async () => {
    const socket = await open('1.0.0');
    socket.send({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '7' });
    expect(await socket.text((f) => (f as { ref?: string }).ref === '7')).toEqual({
      topic: 'phoenix',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
      ref: '7',
    });
    socket.close();
  });
});

describe('limits', { tags: ['emulator-only'] }, () => {
  it('allows 100 channels per socket and refuses the 101st with ChannelRateLimitReached', async () => {
    const socket = await open();
    const base = topic('many');
    for (let n = 1; n <= 100; n++) socket.send([`${n}`, `${n}`, `${base}-${n}`, 'phx_join', JOIN]);
    await waitFor(
      () =>
        socket.frames.filter((f) => 'text' in f && isFrame(`${base}-100`, 'phx_reply')(f.text)).length
          ? true
          : undefined,
      'the 100th join',
    );
    const replies = await waitFor(() => {
      const ok = socket.frames.filter(
        (f) =>
          'text' in f &&
          Array.isArray(f.text) &&
          f.text[3] === 'phx_reply' &&
          (f.text[4] as { status: string }).status === 'ok',
      );
      return ok.length === 100 ? ok : undefined;
    }, '100 successful joins');
    expect(replies).toHaveLength(100);
    const refused = await socket.join(`${base}-101`, JOIN, '101');
    expect(refused[4]).toEqual({
      status: 'error',
      response: { reason: 'ChannelRateLimitReached: Too many channels' },
    });
    socket.close();
  });

  it('answers an oversized broadcast with payload_size_exceeded and keeps the socket', async () => {
    const socket = await open();
    const name = topic('big');
    await socket.join(name, { config: { ...JOIN.config, broadcast: { self: false, ack: true } } }, '1');
    socket.send([
      '1',
      '2',
      name,
      'broadcast',
      { type: 'broadcast', event: 'big', payload: { blob: 'x'.repeat(300_000) } },
    ]);
    expect(await socket.text(isFrame(name, 'phx_reply', '2'))).toEqual([
      '1',
      '2',
      name,
      'phx_reply',
      { status: 'error', response: 'payload_size_exceeded' },
    ]);
    await heartbeat(socket, '3');
    socket.close();
  });

  it('ends a channel that sends more than 100 messages per second with a system error', async () => {
    const socket = await open();
    const name = topic('chatty');
    await socket.join(name, JOIN, '1');
    for (let n = 0; n < 300; n++)
      socket.send(['1', null, name, 'broadcast', { type: 'broadcast', event: 'spam', payload: { n } }]);
    expect(await socket.text(isFrame(name, 'system'))).toEqual([
      '1',
      null,
      name,
      'system',
      {
        extension: 'system',
        status: 'error',
        message: 'Too many messages per second',
        channel: name.slice(9),
      },
    ]);
    expect(await socket.text(isFrame(name, 'phx_close'))).toEqual(['1', '1', name, 'phx_close', {}]);
    await heartbeat(socket, '2');
    socket.close();
  });

  it('refuses Postgres Changes, which the emulator does not provide', async () => {
    const socket = await open();
    const reply = await socket.join(
      topic('pg-changes'),
      { config: { ...JOIN.config, postgres_changes: [{ event: '*', schema: 'public', table: 't' }] } },
      '1',
    );
    expect((reply[4] as { response: { reason: string } }).response.reason).toMatch(
      /^PostgresChangesNotSupported: /,
    );
    socket.close();
  });
});

describe('misbehaving clients', { tags: ['emulator-only'] }, () => {
  const bystander = async () => {
    const name = topic('bystander');
    const socket = await open();
    await socket.join(name, { config: { ...JOIN.config, broadcast: { self: true, ack: true } } }, '1');
    let ref = 1;
    return {
      /** A full round trip through a channel: the bystander still gets service. */
      check: async () => {
        ref += 1;
        socket.send([
          '1',
          `${ref}`,
          name,
          'broadcast',
          { type: 'broadcast', event: 'alive', payload: { ref } },
        ]);
        await socket.text(isFrame(name, 'phx_reply', `${ref}`), 'the bystander’s ack');
      },
      close: () => socket.close(),
    };
  };

  it('closes a socket that sends malformed frames (1007), and only that one', async () => {
    const other = await bystander();
    const malformed: (string | Buffer)[] = [
      '{not json',
      JSON.stringify({ not: 'an array' }),
      JSON.stringify([null, null, 42, 'phx_join', {}]),
      Buffer.from([9, 1, 2, 3]),
      Buffer.from([3, 5, 5, 200, 3, 0, 1, 0x31]),
      userBroadcastPush('1', '2', 'realtime:x', 'e', Buffer.from('{broken')),
    ];
    for (const frame of malformed) {
      const socket = await open();
      socket.sendRaw(frame);
      expect((await socket.closed).code).toBe(1007);
      await other.check();
    }
    const legacy = await open('1.0.0');
    legacy.sendRaw(Buffer.from([3, 0, 0, 0, 0, 0, 1]));
    expect((await legacy.closed).code).toBe(1007);
    await other.check();
    other.close();
  });

  it('closes a socket whose frame is larger than 5 MB (1009)', async () => {
    const other = await bystander();
    const socket = await open();
    socket.sendRaw(Buffer.alloc(5_000_001, 0x20));
    expect((await socket.closed).code).toBe(1009);
    await other.check();
    other.close();
  });

  it('closes a socket that floods the server (1008)', async () => {
    const other = await bystander();
    const socket = await open();
    for (let n = 0; n < 5000; n++) socket.send([null, `${n}`, 'phoenix', 'heartbeat', {}]);
    expect((await socket.closed).code).toBe(1008);
    await other.check();
    other.close();
  });

  it('refuses a socket without a valid API key or with an unknown serializer', async () => {
    const attempt = (query: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}/realtime/v1/websocket?${query}`, {
          headers,
        });
        ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        ws.once('open', () => reject(new Error('the upgrade was accepted')));
        ws.once('error', () => undefined);
      });
    expect(await attempt('vsn=2.0.0')).toBe(401);
    expect(await attempt('apikey=wrong&vsn=2.0.0')).toBe(401);
    expect(await attempt('vsn=2.0.0', { apikey: 'wrong' })).toBe(401);
    expect(await attempt('vsn=2.0.0', { 'x-api-key': 'wrong' })).toBe(401);
    expect(await attempt(`apikey=${stack.anonKey}&vsn=3.0.0`)).toBe(403);
  });
});
