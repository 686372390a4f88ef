// The gateway never crashes or hangs on bad input: every error is JSON with a
// code and a message, and a failed request writes nothing.

import { describe, expect, it } from 'vitest';
import { api, sqlPool, stack } from './support.ts';

const db = sqlPool();
const usersWithEmail = async (email: string) =>
  (await db.query('select count(*)::int as n from auth.users where email = $1', [email])).rows[0].n as number;

/** A JSON error: {code, message}, or GoTrue's {code: <status>, error_code, msg} for clients naming no API version. */
async function expectJsonError(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = await response.json();
  expect(typeof (body.error_code ?? body.code)).toBe('string');
  expect(typeof (body.message ?? body.msg)).toBe('string');
  return body;
}

describe('API keys', { tags: ['emulator-only'] }, () => {
  it('refuses auth and rest requests without an API key', async () => {
    for (const path of ['/auth/v1/settings', '/rest/v1/rpc/anything']) {
      const body = await expectJsonError(await fetch(`${stack.url}${path}`), 401);
      expect(body.message).toBe('No API key found in request');
    }
  });

  it('refuses a key that is not one of the project keys, even a valid user JWT', async () => {
    await expectJsonError(await api('/auth/v1/settings', { headers: { apikey: 'garbage' } }), 401);
    const signUp = await api('/auth/v1/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `key-${crypto.randomUUID().slice(0, 8)}@example.test`,
        password: 'long-enough',
      }),
    });
    expect(signUp.status).toBe(200);
    const { access_token } = await signUp.json();
    // A working user token: the gateway takes it as a bearer, just not as an API key.
    const asBearer = await api('/auth/v1/user', { headers: { authorization: `Bearer ${access_token}` } });
    expect(asBearer.status).toBe(200);
    const body = await expectJsonError(
      await api('/rest/v1/rpc/x', { headers: { apikey: access_token } }),
      401,
    );
    expect(body.message).toBe('Invalid API key');
  });

  it('serves the JWKS without a key', async () => {
    const response = await fetch(`${stack.url}/auth/v1/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const { keys } = await response.json();
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(keys[0].d).toBeUndefined();
  });
});

describe('malformed requests', { tags: ['emulator-only'] }, () => {
  it('bad JSON, wrong types and garbage tokens get JSON errors and create no user', async () => {
    const email = `malformed-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const json = { 'content-type': 'application/json' };
    const cases: [RequestInit & { headers?: Record<string, string> }, number][] = [
      [{ method: 'POST', headers: json, body: `{"email": "${email}", "password": "long-enough"` }, 400],
      [{ method: 'POST', headers: json, body: '"just a string"' }, 400],
      [{ method: 'POST', headers: json, body: JSON.stringify({ email, password: ['long-enough'] }) }, 400],
      [
        {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ email, password: 'long-enough', data: 'x' }),
        },
        400,
      ],
      [{ method: 'POST', headers: { 'content-type': 'text/plain' }, body: `email=${email}` }, 400],
      [{ method: 'GET' }, 405],
    ];
    for (const [init, status] of cases) await expectJsonError(await api('/auth/v1/signup', init), status);
    await expectJsonError(await api('/auth/v1/user', { headers: { authorization: 'Bearer ' } }), 401);
    await expectJsonError(await api('/auth/v1/user', { headers: { authorization: 'Basic abc' } }), 401);
    await expectJsonError(await api('/auth/v1/token?grant_type=magic', { method: 'POST', body: '{}' }), 400);
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('a body over the cap is 413 and nothing is written', async () => {
    const email = `big-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const huge = JSON.stringify({ email, password: 'x'.repeat(2 * 1024 * 1024) });
    const body = await expectJsonError(
      await api('/auth/v1/signup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: huge,
      }),
      413,
    );
    expect(body.code).toBe('payload_too_large');
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('unknown routes are 404 JSON', async () => {
    await expectJsonError(await api('/nope/v1/thing'), 404);
    await expectJsonError(await api('/auth/v1/nope'), 404);
  });

  it('answers CORS preflight for the APIs', async () => {
    const response = await fetch(`${stack.url}/rest/v1/rpc/anything`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('keeps serving after a client sends a broken HTTP request', async () => {
    const net = await import('node:net');
    const { port } = new URL(stack.url);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.resume();
    });
    const response = await api('/auth/v1/settings');
    expect(response.status).toBe(200);
  });
});
