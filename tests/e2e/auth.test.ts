// Auth (/auth/v1) driven by the real supabase-js: the flows an app uses, and
// the errors it must see, with GoTrue's codes and statuses.

import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { anonClient, api, newUser, serviceClient, sqlPool, stack } from './support.ts';

const db = sqlPool();
const freshEmail = () => `auth-${randomUUID().slice(0, 8)}@example.test`;

describe('sign-up and sign-in', () => {
  it('signs up with email and password and returns a session with Supabase claims', async () => {
    const client = anonClient();
    const email = freshEmail();
    const { data, error } = await client.auth.signUp({
      email,
      password: 'correct-horse',
      options: { data: { display_name: 'Ann' } },
    });
    expect(error).toBeNull();
    expect(data.user?.email).toBe(email);
    expect(data.user?.user_metadata.display_name).toBe('Ann');
    const token = data.session?.access_token as string;
    const { payload } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(`${stack.url}/auth/v1/.well-known/jwks.json`)),
    );
    expect(payload).toMatchObject({
      sub: data.user?.id,
      role: 'authenticated',
      aud: 'authenticated',
      email,
      is_anonymous: false,
    });
    expect(typeof payload.session_id).toBe('string');
    expect(payload.exp).toBeGreaterThan(payload.iat as number);
  });

  it('stores the user in auth.users with a bcrypt hash, never the password', async () => {
    const user = await newUser({ password: 'stored-secret-1' });
    const { rows } = await db.query(
      'select email, encrypted_password, is_anonymous from auth.users where id = $1',
      [user.id],
    );
    expect(rows[0].email).toBe(user.email);
    expect(rows[0].encrypted_password).toMatch(/^\$2[aby]\$10\$/);
    expect(rows[0].encrypted_password).not.toContain('stored-secret-1');
    expect(rows[0].is_anonymous).toBe(false);
  });

  it('signs in with the right password', async () => {
    const user = await newUser();
    const { data, error } = await anonClient().auth.signInWithPassword({
      email: user.email,
      password: user.password,
    });
    expect(error).toBeNull();
    expect(data.user?.id).toBe(user.id);
  });

  it('rejects a wrong password with 400 invalid_credentials', async () => {
    const user = await newUser();
    const { data, error } = await anonClient().auth.signInWithPassword({
      email: user.email,
      password: 'wrong-password',
    });
    expect(data.session).toBeNull();
    expect(error?.status).toBe(400);
    expect(error?.code).toBe('invalid_credentials');
    expect(error?.message).toBe('Invalid login credentials');
  });

  it('signs in users whose stored hash is $2a$ bcrypt (as pgcrypto and older Auth versions write)', async () => {
    const user = await newUser({ password: 'before-the-pool' });
    await db.query(
      `update auth.users set encrypted_password = extensions.crypt('older-hash-1', extensions.gen_salt('bf', 10))
        where id = $1 returning encrypted_password`,
      [user.id],
    );
    const { rows } = await db.query('select encrypted_password from auth.users where id = $1', [user.id]);
    expect(rows[0].encrypted_password).toMatch(/^\$2a\$10\$/);
    const signedIn = await anonClient().auth.signInWithPassword({
      email: user.email,
      password: 'older-hash-1',
    });
    expect(signedIn.error).toBeNull();
    expect(signedIn.data.user?.id).toBe(user.id);
    const wrong = await anonClient().auth.signInWithPassword({
      email: user.email,
      password: 'before-the-pool',
    });
    expect(wrong.error?.code).toBe('invalid_credentials');
  });

  it('rejects an unknown email exactly like a wrong password', async () => {
    const { error } = await anonClient().auth.signInWithPassword({
      email: freshEmail(),
      password: 'whatever-1',
    });
    expect(error?.status).toBe(400);
    expect(error?.code).toBe('invalid_credentials');
  });

  it('refuses a second account for the same email, a weak password and a malformed email', async () => {
    const user = await newUser();
    const duplicate = await anonClient().auth.signUp({
      email: user.email.toUpperCase(),
      password: 'another-pass',
    });
    expect(duplicate.error?.status).toBe(422);
    expect(duplicate.error?.code).toBe('user_already_exists');

    const weak = await anonClient().auth.signUp({ email: freshEmail(), password: '123' });
    expect(weak.error?.status).toBe(422);
    expect(weak.error?.code).toBe('weak_password');

    const malformed = await anonClient().auth.signUp({ email: 'not-an-email', password: 'long-enough' });
    expect(malformed.error?.status).toBe(400);
    expect(malformed.error?.code).toBe('validation_failed');

    const { rows } = await db.query('select count(*)::int as n from auth.users where email = $1', [
      user.email,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('signs in anonymously as an authenticated, anonymous user', async () => {
    const client = anonClient();
    const { data, error } = await client.auth.signInAnonymously();
    expect(error).toBeNull();
    expect(data.user?.is_anonymous).toBe(true);
    const { rows } = await db.query('select is_anonymous, email from auth.users where id = $1', [
      data.user?.id,
    ]);
    expect(rows[0]).toEqual({ is_anonymous: true, email: null });
    const payload = (data.session?.access_token ?? '').split('.')[1] ?? '';
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims).toMatchObject({ role: 'authenticated', is_anonymous: true, sub: data.user?.id });
  });
});

describe('the session', () => {
  it('getUser returns the signed-in user', async () => {
    const user = await newUser();
    const { data, error } = await user.client.auth.getUser();
    expect(error).toBeNull();
    expect(data.user?.id).toBe(user.id);
    expect(data.user?.email).toBe(user.email);
  });

  it('refreshSession rotates the refresh token and issues a new access token', async () => {
    const user = await newUser();
    const { data, error } = await user.client.auth.refreshSession();
    expect(error).toBeNull();
    expect(data.session?.refresh_token).not.toBe(user.session.refresh_token);
    expect(data.session?.user.id).toBe(user.id);
    const { rows } = await db.query('select revoked from auth.refresh_tokens where token = $1', [
      user.session.refresh_token,
    ]);
    expect(rows[0].revoked).toBe(true);
  });

  const refresh = (refreshToken: string) =>
    api('/auth/v1/token?grant_type=refresh_token', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-supabase-api-version': '2024-01-01' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });

  it('accepts a rotated refresh token again within the reuse interval (a retry that lost its answer)', async () => {
    const user = await newUser();
    expect((await user.client.auth.refreshSession()).error).toBeNull();
    const retry = await refresh(user.session.refresh_token);
    expect(retry.status).toBe(200);
    const session = await retry.json();
    expect(session.user.id).toBe(user.id);
    expect(session.refresh_token).not.toBe(user.session.refresh_token);
  });

  it('refuses a rotated refresh token after the reuse interval (10 s) with refresh_token_already_used', {
    tags: ['emulator-only'],
  }, async () => {
    const user = await newUser();
    expect((await user.client.auth.refreshSession()).error).toBeNull();
    // Time passes: the revoked token was rotated a minute ago.
    await db.query(
      `update auth.refresh_tokens set updated_at = now() - interval '1 minute' where token = $1`,
      [user.session.refresh_token],
    );
    const reuse = await refresh(user.session.refresh_token);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({
      code: 'refresh_token_already_used',
      message: 'Invalid Refresh Token: Already Used',
    });
  });

  it('rejects an unknown refresh token', async () => {
    const response = await api('/auth/v1/token?grant_type=refresh_token', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-supabase-api-version': '2024-01-01' },
      body: JSON.stringify({ refresh_token: 'no-such-token' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: 'refresh_token_not_found',
      message: 'Invalid Refresh Token: Refresh Token Not Found',
    });
  });

  it('signOut ends the session: its token no longer gets the user', async () => {
    const user = await newUser();
    const token = user.session.access_token;
    const { error } = await user.client.auth.signOut();
    expect(error).toBeNull();
    const response = await api('/auth/v1/user', { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(403);
    expect((await response.json()).error_code).toBe('session_not_found');
    const { rows } = await db.query('select count(*)::int as n from auth.sessions where user_id = $1', [
      user.id,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('shapes errors by the API version the client names, as GoTrue does', async () => {
    const signIn = (headers: Record<string, string>) =>
      api('/auth/v1/token?grant_type=password', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ email: freshEmail(), password: 'not-this-one' }),
      });
    const versioned = await signIn({ 'x-supabase-api-version': '2024-01-01' });
    expect(versioned.status).toBe(400);
    expect(versioned.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    expect(versioned.headers.get('x-sb-error-code')).toBe('invalid_credentials');
    expect(await versioned.json()).toEqual({
      code: 'invalid_credentials',
      message: 'Invalid login credentials',
    });
    const unversioned = await signIn({});
    expect(unversioned.headers.get('x-supabase-api-version')).toBeNull();
    expect(unversioned.headers.get('x-sb-error-code')).toBe('invalid_credentials');
    expect(await unversioned.json()).toEqual({
      code: 400,
      error_code: 'invalid_credentials',
      msg: 'Invalid login credentials',
    });
  });

  it('GET /user without a token is 401 and with a garbage token is 401 bad_jwt', async () => {
    const missing = await api('/auth/v1/user');
    expect(missing.status).toBe(401);
    expect((await missing.json()).error_code).toBe('no_authorization');
    const garbage = await api('/auth/v1/user', { headers: { authorization: 'Bearer not.a.jwt' } });
    expect(garbage.status).toBe(401);
    expect((await garbage.json()).error_code).toBe('bad_jwt');
  });

  it('updateUser changes the metadata', async () => {
    const user = await newUser();
    const { data, error } = await user.client.auth.updateUser({ data: { display_name: 'Renamed' } });
    expect(error).toBeNull();
    expect(data.user?.user_metadata.display_name).toBe('Renamed');
  });

  it('updateUser changes the password: the new one signs in, the old one no longer does', async () => {
    const user = await newUser();
    expect((await user.client.auth.updateUser({ password: 'a-new-password' })).error).toBeNull();
    const withNew = await anonClient().auth.signInWithPassword({
      email: user.email,
      password: 'a-new-password',
    });
    expect(withNew.data.user?.id).toBe(user.id);
    const withOld = await anonClient().auth.signInWithPassword({
      email: user.email,
      password: user.password,
    });
    expect(withOld.error?.code).toBe('invalid_credentials');
  });

  it("updateUser changes the email, but not to another user's", async () => {
    const [user, other] = await Promise.all([newUser(), newUser()]);
    const email = freshEmail();
    const { data, error } = await user.client.auth.updateUser({ email });
    expect(error).toBeNull();
    expect(data.user?.email).toBe(email);
    const signIn = await anonClient().auth.signInWithPassword({ email, password: user.password });
    expect(signIn.data.user?.id).toBe(user.id);

    const taken = await user.client.auth.updateUser({ email: other.email });
    expect(taken.error?.status).toBe(422);
    expect(taken.error?.code).toBe('email_exists');
    const { rows } = await db.query('select email from auth.users where id = $1', [user.id]);
    expect(rows[0].email).toBe(email);
  });
});

describe('signing out', () => {
  /** The user signed in on three devices: three sessions of one user. */
  async function threeDevices() {
    const user = await newUser();
    const devices = [user.client];
    for (let i = 0; i < 2; i++) {
      const client = anonClient();
      expect(
        (await client.auth.signInWithPassword({ email: user.email, password: user.password })).error,
      ).toBeNull();
      devices.push(client);
    }
    return devices;
  }
  /** Which devices' sessions still get the user (by their access tokens, taken before signing out). */
  async function stillSignedIn(tokens: string[]) {
    return Promise.all(
      tokens.map(
        async (token) =>
          (await api('/auth/v1/user', { headers: { authorization: `Bearer ${token}` } })).status === 200,
      ),
    );
  }
  const accessTokens = async (devices: ReturnType<typeof anonClient>[]) =>
    Promise.all(
      devices.map(async (device) => (await device.auth.getSession()).data.session?.access_token as string),
    );

  for (const { scope, ends, expected } of [
    { scope: 'local', ends: 'only this session', expected: [false, true, true] },
    { scope: 'others', ends: 'every other session', expected: [true, false, false] },
    { scope: 'global', ends: 'every session of the user', expected: [false, false, false] },
  ] as const) {
    it(`signOut({ scope: '${scope}' }) ends ${ends}`, async () => {
      const devices = await threeDevices();
      const tokens = await accessTokens(devices);
      expect(await stillSignedIn(tokens)).toEqual([true, true, true]);
      expect((await devices[0]?.auth.signOut({ scope }))?.error).toBeNull();
      expect(await stillSignedIn(tokens)).toEqual(expected);
    });
  }
});

describe('admin API', () => {
  it('creates and deletes users with the service_role key', async () => {
    const admin = serviceClient();
    const email = freshEmail();
    const created = await admin.auth.admin.createUser({
      email,
      password: 'admin-made-1',
      email_confirm: true,
    });
    expect(created.error).toBeNull();
    const id = created.data.user?.id as string;
    const signIn = await anonClient().auth.signInWithPassword({ email, password: 'admin-made-1' });
    expect(signIn.data.user?.id).toBe(id);
    const deleted = await admin.auth.admin.deleteUser(id);
    expect(deleted.error).toBeNull();
    const { rows } = await db.query('select count(*)::int as n from auth.users where id = $1', [id]);
    expect(rows[0].n).toBe(0);
  });

  it('gets a user by id with the service_role key; an unknown id is 404 user_not_found', async () => {
    const user = await newUser();
    const admin = serviceClient();
    const found = await admin.auth.admin.getUserById(user.id);
    expect(found.error).toBeNull();
    expect(found.data.user).toMatchObject({ id: user.id, email: user.email, role: 'authenticated' });
    const missing = await admin.auth.admin.getUserById(randomUUID());
    expect(missing.error?.status).toBe(404);
    expect(missing.error?.code).toBe('user_not_found');
  });

  it('refuses admin calls made with a user token', async () => {
    const user = await newUser();
    const response = await api('/auth/v1/admin/users', {
      method: 'POST',
      headers: { authorization: `Bearer ${user.session.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: freshEmail(), password: 'x-password' }),
    });
    expect(response.status).toBe(403);
    expect((await response.json()).error_code).toBe('not_admin');
    const lookup = await api(`/auth/v1/admin/users/${user.id}`, {
      headers: { authorization: `Bearer ${user.session.access_token}` },
    });
    expect(lookup.status).toBe(403);
    expect((await lookup.json()).error_code).toBe('not_admin');
  });
});
