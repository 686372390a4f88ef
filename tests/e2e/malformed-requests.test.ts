// Every malformed request gets a clean 4xx with a JSON envelope — never a 500,
// an empty body or a word about the emulator's internals — and writes nothing:
// broken URLs, JSON nested absurdly deep, values PostgreSQL cannot store,
// requests that are not HTTP, upgrades to nowhere, and the Realtime HTTP API.

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../../emulator/testing.ts';
import { api, newUser, sqlPool, stack } from './support.ts';

const db = sqlPool();
const usersWithEmailLike = async (pattern: string) =>
  (await db.query('select count(*)::int as n from auth.users where email like $1', [pattern])).rows[0]
    .n as number;

/** Words that would betray the implementation behind an error. */
const INTERNALS =
  /node_modules|\.ts:\d|RangeError|URIError|TypeError|stack size|varchar|character varying|0x00/;

/** The JSON error: a string code (GoTrue without an API version: a numeric code and error_code) and a message. */
async function expectEnvelope(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const text = await response.text();
  expect(text).not.toMatch(INTERNALS);
  const body = JSON.parse(text);
  expect(typeof (body.error_code ?? body.code)).toBe('string');
  expect(typeof (body.message ?? body.msg)).toBe('string');
  return body;
}

const json = { 'content-type': 'application/json', 'x-supabase-api-version': '2024-01-01' };
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('REST', () => {
  it('a function name with broken percent-encoding is 404 PGRST202', async () => {
    const body = await expectEnvelope(
      await api('/rest/v1/rpc/%E0%A4%A', { method: 'POST', headers: json, body: '{}' }),
      404,
    );
    expect(body.code).toBe('PGRST202');
  });

  it('JSON nested 150,000 deep is 400 PGRST102', async () => {
    const body = await expectEnvelope(
      await api('/rest/v1/rpc/search_profiles', {
        method: 'POST',
        headers: json,
        body: `{"query":${deepArray(150_000)}}`,
      }),
      400,
    );
    expect(body).toMatchObject({
      code: 'PGRST102',
      details: 'The request body nests deeper than 1000 levels',
    });
  });
});

describe('a 5,000-deep signal payload', () => {
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([newUser(), newUser()]);
    const { data, error } = await alice.client.rpc('get_or_create_direct_conversation', {
      other_user_id: bob.id,
    });
    if (error) throw new Error(error.message);
    conversationId = (data as { id: string }).id;
  });

  const signals = async () =>
    (
      await db.query(
        `select count(*)::int as n from realtime.messages where topic = $1 and event = 'signal'`,
        [`user:${bob.id}`],
      )
    ).rows[0].n as number;

  it('is refused with 400 through the function and through the RPC, and nothing is sent', async () => {
    const before = await signals();
    const payload = deepArray(5000);
    const headers = { ...json, authorization: `Bearer ${alice.session.access_token}` };
    const viaFunction = await expectEnvelope(
      await fetch(`${stack.url}/functions/v1/signal`, {
        method: 'POST',
        headers,
        body: `{"conversation_id":"${conversationId}","to":"${bob.id}","type":"offer","payload":${payload}}`,
      }),
      400,
    );
    expect(viaFunction.code).toBe('invalid_json');
    const viaRpc = await expectEnvelope(
      await api('/rest/v1/rpc/send_signal', {
        method: 'POST',
        headers,
        body: `{"conversation_id":"${conversationId}","to_user":"${bob.id}","signal_type":"offer","payload":${payload}}`,
      }),
      400,
    );
    expect(viaRpc.code).toBe('PGRST102');
    expect(await signals()).toBe(before);
  });
});

describe('Auth', () => {
  const tag = () => `bad-${randomUUID().slice(0, 8)}`;

  it('a sign-up with a NUL byte in the email, a 300-character email or NUL in its metadata is 400', async () => {
    const name = tag();
    const signUp = (body: unknown) =>
      api('/auth/v1/signup', { method: 'POST', headers: json, body: JSON.stringify(body) });
    const nul = await expectEnvelope(
      await signUp({ email: `${name}\u0000@example.test`, password: 'long-enough' }),
      400,
    );
    expect(nul).toEqual({
      code: 'validation_failed',
      message: 'Unable to validate email address: invalid format',
    });
    const long = await expectEnvelope(
      await signUp({ email: `${name}${'a'.repeat(280)}@example.test`, password: 'long-enough' }),
      400,
    );
    expect(long).toEqual({ code: 'validation_failed', message: 'An email address is too long' });
    const metadata = await expectEnvelope(
      await signUp({ email: `${name}@example.test`, password: 'long-enough', data: { bio: 'a\u0000b' } }),
      400,
    );
    expect(metadata.code).toBe('validation_failed');
    expect(await usersWithEmailLike(`${name}%`)).toBe(0);
  });

  it('PUT /user with a NUL byte or a 300-character email is 400 and changes nothing', async () => {
    const user = await newUser();
    const update = (body: unknown) =>
      api('/auth/v1/user', {
        method: 'PUT',
        headers: { ...json, authorization: `Bearer ${user.session.access_token}` },
        body: JSON.stringify(body),
      });
    expect((await expectEnvelope(await update({ email: 'a\u0000b@example.test' }), 400)).code).toBe(
      'validation_failed',
    );
    expect((await expectEnvelope(await update({ email: `${'a'.repeat(290)}@example.test` }), 400)).code).toBe(
      'validation_failed',
    );
    expect((await expectEnvelope(await update({ data: { 'k\u0000': 1 } }), 400)).code).toBe(
      'validation_failed',
    );
    const { rows } = await db.query('select email, raw_user_meta_data from auth.users where id = $1', [
      user.id,
    ]);
    expect(rows[0].email).toBe(user.email);
    expect(rows[0].raw_user_meta_data).toEqual({});
  });

  it('a password longer than bcrypt reads (72 bytes) is 400, as in GoTrue', async () => {
    const name = tag();
    const body = await expectEnvelope(
      await api('/auth/v1/signup', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email: `${name}@example.test`, password: 'p'.repeat(73) }),
      }),
      400,
    );
    expect(body).toEqual({
      code: 'validation_failed',
      message: 'Password cannot be longer than 72 characters',
    });
    expect(await usersWithEmailLike(`${name}%`)).toBe(0);
  });

  it('JSON nested 150,000 deep is 400 bad_json', async () => {
    const body = await expectEnvelope(
      await api('/auth/v1/signup', { method: 'POST', headers: json, body: `{"data":${deepArray(150_000)}}` }),
      400,
    );
    expect(body.code).toBe('bad_json');
  });
});

/** Writes `request` on a fresh connection to the gateway and returns what comes back before it closes. */
function rawExchange(request: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body });
    });
  });
}

function expectRawEnvelope(answer: { status: number; headers: string; body: string }, status: number) {
  expect(answer.status).toBe(status);
  expect(answer.headers).toMatch(/content-type: application\/json/i);
  const body = JSON.parse(answer.body);
  expect(typeof body.code).toBe('string');
  expect(typeof body.message).toBe('string');
  return body;
}

describe('requests that are not HTTP', { tags: ['emulator-only'] }, () => {
  const host = `Host: 127.0.0.1\r\napikey: ${stack.anonKey}`;

  it('headers over 16 KB are 431', async () => {
    const answer = await rawExchange(
      `GET /auth/v1/settings HTTP/1.1\r\n${host}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(expectRawEnvelope(answer, 431).code).toBe('headers_too_large');
  });

  it('a garbage request line, a bad Content-Length and a bad chunk size are 400', async () => {
    expect(expectRawEnvelope(await rawExchange('GARBAGE\r\n\r\n'), 400).code).toBe('bad_request');
    expect(
      expectRawEnvelope(
        await rawExchange(`POST /rest/v1/rpc/x HTTP/1.1\r\n${host}\r\nContent-Length: abc\r\n\r\n`),
        400,
      ).code,
    ).toBe('bad_request');
    expect(
      expectRawEnvelope(
        await rawExchange(
          `POST /rest/v1/rpc/search_profiles HTTP/1.1\r\n${host}\r\ncontent-type: application/json\r\n` +
            'Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n',
        ),
        400,
      ).code,
    ).toBe('bad_request');
  });

  it('a WebSocket upgrade to an unknown path is 404', async () => {
    const answer = await rawExchange(
      `GET /nowhere HTTP/1.1\r\n${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(expectRawEnvelope(answer, 404).code).toBe('not_found');
  });

  it.each(['/realtime/v1/websocketx', '/realtime/v1/websocket/websocket'])(
    'a WebSocket upgrade to %s, which only starts like the endpoint, is 404',
    async (pathname) => {
      const answer = await rawExchange(
        `GET ${pathname}?apikey=${stack.anonKey}&vsn=2.0.0 HTTP/1.1\r\n${host}\r\nConnection: Upgrade\r\n` +
          'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      expect(expectRawEnvelope(answer, 404).code).toBe('not_found');
    },
  );

  it('a Realtime upgrade with an unknown serializer version is 403', async () => {
    const answer = await rawExchange(
      `GET /realtime/v1/websocket?apikey=${stack.anonKey}&vsn=9.0.0 HTTP/1.1\r\n${host}\r\n` +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(expectRawEnvelope(answer, 403).code).toBe('unsupported_serializer');
  });

  it('keeps serving afterwards', async () => {
    expect((await api('/auth/v1/settings')).status).toBe(200);
  });
});

describe('the Realtime HTTP API', { tags: ['emulator-only'] }, () => {
  const broadcast = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    api(`/realtime/v1/api/broadcast${path}`, { method: 'POST', ...init });

  it('answers every error with a code and a message, keeping the per-field errors of a 422', async () => {
    expect((await expectEnvelope(await api('/realtime/v1/api/nothing'), 404)).code).toBe('not_found');
    expect((await expectEnvelope(await api('/realtime/v1/api/broadcast'), 405)).code).toBe(
      'method_not_allowed',
    );
    expect(
      (await expectEnvelope(await broadcast('', { headers: { authorization: 'Bearer nope' } }), 401)).code,
    ).toBe('unauthorized');
    expect(
      (
        await expectEnvelope(
          await broadcast('', { headers: { 'content-type': 'application/json' }, body: '{' }),
          400,
        )
      ).code,
    ).toBe('invalid_json');
    expect(
      (
        await expectEnvelope(
          await broadcast('', { headers: { 'content-type': 'application/json' }, body: deepArray(150_000) }),
          400,
        )
      ).code,
    ).toBe('invalid_json');
    const invalid = await expectEnvelope(
      await broadcast('', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ topic: 't' }] }),
      }),
      422,
    );
    expect(invalid).toMatchObject({
      code: 'invalid_request',
      errors: { messages: [{ event: ["can't be blank"] }] },
    });
    expect(
      (
        await expectEnvelope(
          await broadcast('/t/events/e', { headers: { 'content-type': 'text/plain' }, body: 'x' }),
          415,
        )
      ).code,
    ).toBe('unsupported_media_type');
    expect((await expectEnvelope(await broadcast('/%E0%A4%A/events/e'), 400)).code).toBe('invalid_path');
  });
});
