// Edge Functions (/functions/v1) driven by supabase.functions.invoke: the whoami
// diagnostic proves gateway → JWT check → Deno → Postgres as the caller.

import { describe, expect, it } from 'vitest';
import { anonClient, api, mintToken, newUser, serviceClient, stack } from './support.ts';

describe('whoami', () => {
  it('sees the signed-in user inside the database', async () => {
    const user = await newUser();
    const { data, error } = await user.client.functions.invoke('whoami');
    expect(error).toBeNull();
    expect(data).toEqual({ user_id: user.id, role: 'authenticated', database_role: 'authenticated' });
  });

  it('runs as anon with the anon key and as service_role with the service key', async () => {
    const anon = await anonClient().functions.invoke('whoami');
    expect(anon.data).toEqual({ user_id: null, role: 'anon', database_role: 'anon' });
    const service = await serviceClient().functions.invoke('whoami');
    expect(service.data).toEqual({ user_id: null, role: 'service_role', database_role: 'service_role' });
  });

  it('answers CORS preflight without a token', async () => {
    const response = await fetch(`${stack.url}/functions/v1/whoami`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
  });
});

describe('verify_jwt', () => {
  const call = (authorization?: string) =>
    fetch(`${stack.url}/functions/v1/whoami`, {
      method: 'POST',
      headers: authorization ? { authorization } : {},
    });

  it('refuses a request without a token with 401', async () => {
    const response = await call();
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      code: 'UNAUTHORIZED_NO_AUTH_HEADER',
      message: 'Missing authorization header',
    });
  });

  const expectUnauthorized = async (token: string) => {
    const response = await call(`Bearer ${token}`);
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body.code).toMatch(/^UNAUTHORIZED_/);
    expect(typeof body.message).toBe('string');
  };

  it('refuses garbage and tokens signed by another key with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await mintToken(
      { role: 'authenticated', sub: crypto.randomUUID(), exp: now + 600 },
      'forged',
    );
    for (const token of ['garbage', forged]) await expectUnauthorized(token);
  });

  it('refuses an expired token with 401', { tags: ['emulator-only'] }, async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectUnauthorized(
      await mintToken({ role: 'authenticated', sub: crypto.randomUUID(), exp: now - 5, iat: now - 60 }),
    );
  });

  it('supabase-js reports the 401 as a FunctionsHttpError', async () => {
    const client = anonClient();
    const { error } = await client.functions.invoke('whoami', { headers: { Authorization: 'Bearer nope' } });
    expect(error?.name).toBe('FunctionsHttpError');
    expect((error as { context: Response }).context.status).toBe(401);
  });

  it('an unknown function is 404', async () => {
    const response = await api('/functions/v1/no-such-function', { method: 'POST' });
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe('NOT_FOUND');
  });
});
