-- Helpers for pgTAP tests, loaded by the test runner (never by migrations).
-- Tests call them to create users and to act as a user, anon or service_role
-- inside their transaction, the way PostgREST and Realtime set up a request.

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

create table if not exists tests.users (
  identifier text primary key,
  id uuid not null unique
);
grant select on tests.users to anon, authenticated, service_role;

-- Creates a confirmed user in auth.users (firing any sign-up triggers) and
-- remembers it under `identifier`; returns its id.
create or replace function tests.create_user(identifier text, email text default null)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  user_id uuid := gen_random_uuid();
begin
  insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                          raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  values ('00000000-0000-0000-0000-000000000000', user_id, 'authenticated', 'authenticated',
          coalesce(email, identifier || '@example.test'), 'not-a-hash', now(),
          '{"provider": "email", "providers": ["email"]}', jsonb_build_object('display_name', identifier),
          now(), now());
  insert into tests.users (identifier, id) values (identifier, user_id);
  return user_id;
end
$$;

create or replace function tests.get_user_id(identifier text)
returns uuid
language sql stable
set search_path = ''
as $$
  select u.id from tests.users u where u.identifier = get_user_id.identifier
$$;

-- Acts as the user until the end of the transaction (or clear_authentication).
create or replace function tests.authenticate_as(identifier text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  user_id uuid := tests.get_user_id(identifier);
begin
  if user_id is null then
    raise exception 'tests.authenticate_as: no test user %', identifier;
  end if;
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', jsonb_build_object(
    'sub', user_id, 'role', 'authenticated', 'aud', 'authenticated',
    'email', identifier || '@example.test', 'is_anonymous', false)::text, true);
end
$$;

create or replace function tests.authenticate_as_anon()
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end
$$;

create or replace function tests.authenticate_as_service_role()
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
end
$$;

create or replace function tests.clear_authentication()
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', 'postgres', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

-- The tables of `schema_name` that do not have row level security enabled.
create or replace function tests.tables_without_rls(schema_name text)
returns setof text
language sql stable
set search_path = ''
as $$
  select c.relname::text
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname = schema_name
     and c.relkind in ('r', 'p')
     and not c.relrowsecurity
   order by 1
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
