// REST RPC (/rest/v1/rpc) driven by the real supabase-js: PostgREST's argument
// passing, result shapes, roles and error mapping. The functions under test are
// fixtures created here, in a schema of their own exposed through public wrappers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonClient, api, mintToken, newUser, serviceClient, sqlPool } from './support.ts';

const db = sqlPool();

beforeAll(async () => {
  await db.query(`
    create table public.rest_fixture_notes (id serial primary key, owner uuid, body text not null);
    alter table public.rest_fixture_notes enable row level security;
    create policy rest_fixture_notes_insert_own on public.rest_fixture_notes for insert to authenticated
      with check (owner = (select auth.uid()));
    create policy rest_fixture_notes_select_own on public.rest_fixture_notes for select to authenticated
      using (owner = (select auth.uid()));
    create unique index rest_fixture_notes_body on public.rest_fixture_notes (body);

    create function public.rest_fixture_add(a int, b int default 10) returns int
      language sql immutable set search_path = '' as $$ select a + b $$;
    create function public.rest_fixture_whoami() returns json
      language sql stable set search_path = '' as $$
        select json_build_object('uid', auth.uid(), 'role', auth.role(), 'current_user', current_user,
                                 'timeout', current_setting('statement_timeout')) $$;
    create function public.rest_fixture_note(body text) returns public.rest_fixture_notes
      language sql set search_path = '' as $$
        insert into public.rest_fixture_notes (owner, body) values (auth.uid(), body) returning * $$;
    create function public.rest_fixture_my_notes() returns setof public.rest_fixture_notes
      language sql stable set search_path = '' as $$ select * from public.rest_fixture_notes order by id $$;
    create function public.rest_fixture_numbers(n int) returns setof int
      language sql immutable set search_path = '' as $$ select generate_series(1, n) $$;
    create function public.rest_fixture_noop() returns void language plpgsql set search_path = '' as $$ begin end $$;
    create function public.rest_fixture_ids(ids uuid[], meta jsonb) returns json
      language sql immutable set search_path = '' as $$ select json_build_object('count', cardinality(ids), 'meta', meta) $$;
    create function public.rest_fixture_fail(kind text) returns void language plpgsql set search_path = '' as $$
    begin
      if kind = 'raise' then raise exception 'custom failure' using hint = 'try again';
      elsif kind = 'custom' then
        raise sqlstate 'PGRST' using
          message = json_build_object('code', 'too_many', 'message', 'Slow down')::text,
          detail = json_build_object('status', 429, 'headers', json_build_object('Retry-After', '7'))::text;
      elsif kind = 'pt' then raise sqlstate 'PT402' using message = 'payment required';
      elsif kind = 'object details' then
        raise sqlstate 'PGRST' using
          message = json_build_object('code', 'odd', 'message', 'Odd', 'details', json_build_object('n', 1))::text,
          detail = json_build_object('status', 400, 'headers', json_build_object())::text;
      end if;
    end $$;
    create function public.rest_fixture_twin(a int) returns text
      language sql immutable set search_path = '' as $$ select 'int' $$;
    create function public.rest_fixture_twin(a text) returns text
      language sql immutable set search_path = '' as $$ select 'text' $$;
    revoke execute on function public.rest_fixture_note(text) from public, anon;
  `);
});

afterAll(async () => {
  await db.query(`
    drop function public.rest_fixture_add, public.rest_fixture_whoami, public.rest_fixture_note,
      public.rest_fixture_my_notes, public.rest_fixture_numbers, public.rest_fixture_noop,
      public.rest_fixture_ids, public.rest_fixture_fail, public.rest_fixture_twin(int), public.rest_fixture_twin(text);
    drop table public.rest_fixture_notes;
  `);
});

describe('arguments and results', () => {
  it('passes named arguments and applies defaults; a scalar comes back as a value', async () => {
    const client = anonClient();
    expect((await client.rpc('rest_fixture_add', { a: 1, b: 2 })).data).toBe(3);
    expect((await client.rpc('rest_fixture_add', { a: 1 })).data).toBe(11);
  });

  it('calls stable functions with GET and query-string arguments', async () => {
    const { data, error, status } = await anonClient().rpc('rest_fixture_add', { a: 4, b: 5 }, { get: true });
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(data).toBe(9);
  });

  it('converts JSON arrays and objects to the declared argument types', async () => {
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    const { data } = await anonClient().rpc('rest_fixture_ids', { ids, meta: { tag: 'x' } });
    expect(data).toEqual({ count: 2, meta: { tag: 'x' } });
  });

  it('returns a row as an object and a set as an array', async () => {
    const user = await newUser();
    const body = `note ${crypto.randomUUID()}`;
    const created = await user.client.rpc('rest_fixture_note', { body });
    expect(created.error).toBeNull();
    expect(created.data).toMatchObject({ owner: user.id, body });
    const list = await user.client.rpc('rest_fixture_my_notes');
    expect(list.data).toEqual([created.data]);
    expect((await anonClient().rpc('rest_fixture_numbers', { n: 3 })).data).toEqual([1, 2, 3]);
  });

  it('answers a void function with 204 and no body', async () => {
    const { data, error, status } = await anonClient().rpc('rest_fixture_noop');
    expect(error).toBeNull();
    expect(status).toBe(204);
    expect(data).toBeNull();
  });

  it('.single() unwraps a one-row set and rejects several rows with 406', async () => {
    const one = await anonClient().rpc('rest_fixture_numbers', { n: 1 }).single();
    expect(one.data).toBe(1);
    const many = await anonClient().rpc('rest_fixture_numbers', { n: 2 }).single();
    expect(many.status).toBe(406);
    expect(many.error?.code).toBe('PGRST116');
  });
});

describe('roles and claims', () => {
  it('runs as anon with only the API key', async () => {
    const { data } = await anonClient().rpc('rest_fixture_whoami');
    expect(data).toMatchObject({ uid: null, role: 'anon', current_user: 'anon', timeout: '3s' });
  });

  it('runs as the signed-in user with request.jwt.claims set', async () => {
    const user = await newUser();
    const { data } = await user.client.rpc('rest_fixture_whoami');
    expect(data).toMatchObject({
      uid: user.id,
      role: 'authenticated',
      current_user: 'authenticated',
      timeout: '8s',
    });
  });

  it('runs as service_role with the service key', async () => {
    const { data } = await serviceClient().rpc('rest_fixture_whoami');
    expect(data).toMatchObject({ role: 'service_role', current_user: 'service_role' });
  });

  it('RLS applies: a user sees only their own rows', async () => {
    const alice = await newUser();
    const bob = await newUser();
    const body = `alice ${crypto.randomUUID()}`;
    const created = await alice.client.rpc('rest_fixture_note', { body });
    expect(created.error).toBeNull();
    expect((await alice.client.rpc('rest_fixture_my_notes')).data).toEqual([created.data]);
    const bobs = await bob.client.rpc('rest_fixture_my_notes');
    expect(bobs.error).toBeNull();
    expect(bobs.data).toEqual([]);
  });
});

describe('errors', () => {
  it('an unknown function is 404 PGRST202 and a wrong argument name too', async () => {
    const unknown = await anonClient().rpc('rest_fixture_missing');
    expect(unknown.status).toBe(404);
    expect(unknown.error?.code).toBe('PGRST202');
    const wrongArg = await anonClient().rpc('rest_fixture_add', { x: 1 });
    expect(wrongArg.status).toBe(404);
    expect(wrongArg.error?.code).toBe('PGRST202');
  });

  it('a bad argument value is 400 with the Postgres code', async () => {
    const { status, error } = await anonClient().rpc('rest_fixture_add', { a: 'not a number' });
    expect(status).toBe(400);
    expect(error?.code).toBe('22P02');
  });

  it('raise exception is 400 P0001 with message and hint', async () => {
    const { status, error } = await anonClient().rpc('rest_fixture_fail', { kind: 'raise' });
    expect(status).toBe(400);
    expect(error).toMatchObject({ code: 'P0001', message: 'custom failure', hint: 'try again' });
  });

  it('raise sqlstate PGRST sets status, code and headers; PTxxx sets the status', async () => {
    const custom = await api('/rest/v1/rpc/rest_fixture_fail', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'custom' }),
    });
    expect(custom.status).toBe(429);
    expect(custom.headers.get('retry-after')).toBe('7');
    expect(await custom.json()).toMatchObject({ code: 'too_many', message: 'Slow down' });
    const pt = await anonClient().rpc('rest_fixture_fail', { kind: 'pt' });
    expect(pt.status).toBe(402);
    expect(pt.error?.code).toBe('PT402');
  });

  it("a PGRST error whose details is not text is PostgREST's 500 PGRST121, as on the platform", async () => {
    const { status, error } = await anonClient().rpc('rest_fixture_fail', { kind: 'object details' });
    expect(status).toBe(500);
    expect(error).toMatchObject({
      code: 'PGRST121',
      message: 'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error',
    });
    expect(error?.details).toContain('Invalid JSON value for MESSAGE');
  });

  it('a unique violation is 409 and leaves nothing behind', async () => {
    const user = await newUser();
    const body = `dup ${crypto.randomUUID()}`;
    await user.client.rpc('rest_fixture_note', { body });
    const again = await user.client.rpc('rest_fixture_note', { body });
    expect(again.status).toBe(409);
    expect(again.error?.code).toBe('23505');
    const { rows } = await db.query(
      'select count(*)::int as n from public.rest_fixture_notes where body = $1',
      [body],
    );
    expect(rows[0].n).toBe(1);
  });

  it('permission denied is 401 for anon and 403 for a signed-in user', async () => {
    const asAnon = await anonClient().rpc('rest_fixture_note', { body: 'x' });
    expect(asAnon.status).toBe(401);
    expect(asAnon.error?.code).toBe('42501');
    const user = await newUser();
    await db.query('revoke execute on function public.rest_fixture_note(text) from authenticated');
    try {
      const asUser = await user.client.rpc('rest_fixture_note', { body: `denied ${crypto.randomUUID()}` });
      expect(asUser.status).toBe(403);
      expect(asUser.error?.code).toBe('42501');
    } finally {
      await db.query('grant execute on function public.rest_fixture_note(text) to authenticated');
    }
  });

  it('a write through GET is refused with 405 (read-only transaction)', async () => {
    const user = await newUser();
    const response = await api(`/rest/v1/rpc/rest_fixture_note?body=${encodeURIComponent('via get')}`, {
      headers: { authorization: `Bearer ${user.session.access_token}` },
    });
    expect(response.status).toBe(405);
    expect((await response.json()).code).toBe('25006');
  });

  /** Calls rest_fixture_note (an insert) with `token`, expecting 401 `code` and no row written. */
  const refusedWithoutRunning = async (token: string, code: string) => {
    const body = `refused ${crypto.randomUUID()}`;
    const response = await api('/rest/v1/rpc/rest_fixture_note', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ body }),
    });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe(code);
    const { rows } = await db.query(
      'select count(*)::int as n from public.rest_fixture_notes where body = $1',
      [body],
    );
    expect(rows[0].n).toBe(0);
  };

  it('a JWT signed by another key is 401 PGRST301 and runs nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refusedWithoutRunning(
      await mintToken({ role: 'service_role', exp: now + 600, iat: now }, 'forged'),
      'PGRST301',
    );
  });

  it('an expired JWT is 401 PGRST303 and runs nothing', { tags: ['emulator-only'] }, async () => {
    const user = await newUser();
    const now = Math.floor(Date.now() / 1000);
    await refusedWithoutRunning(
      await mintToken({ role: 'authenticated', sub: user.id, exp: now - 60, iat: now - 120 }),
      'PGRST303',
    );
  });

  it('a verb other than GET or POST is 405 PGRST101', async () => {
    const response = await api('/rest/v1/rpc/rest_fixture_add', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(response.status).toBe(405);
    expect((await response.json()).code).toBe('PGRST101');
  });

  it('a schema the API does not expose is 406 PGRST106', async () => {
    const { status, error } = await anonClient().schema('private').rpc('take_token', { action: 'search' });
    expect(status).toBe(406);
    expect(error?.code).toBe('PGRST106');
  });

  it('overloads the arguments cannot tell apart are 300 PGRST203', async () => {
    const { status, error } = await anonClient().rpc('rest_fixture_twin', { a: 1 });
    expect(status).toBe(300);
    expect(error?.code).toBe('PGRST203');
  });

  it('malformed JSON is 400 PGRST102 and a wrong content type 415', async () => {
    const bad = await api('/rest/v1/rpc/rest_fixture_add', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a": 1,',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'PGRST102', message: 'Empty or invalid json' });
    const xml = await api('/rest/v1/rpc/rest_fixture_add', {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<a>1</a>',
    });
    expect(xml.status).toBe(415);
    expect((await xml.json()).code).toBe('PGRST107');
  });

  it('table routes answer 501 with a clear message', { tags: ['emulator-only'] }, async () => {
    const { status, error } = await anonClient().from('rest_fixture_notes').select('*');
    expect(status).toBe(501);
    expect(error?.message).toMatch(/not served by the local emulator/);
  });
});
