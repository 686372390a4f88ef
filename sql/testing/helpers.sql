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

-- Acts as the user until the end of the transaction (or clear_authentication). Each of these
-- sets request.jwt.claim.sub/.role too, which auth.uid() and auth.role() read before the claims
-- JSON: a value left there by an earlier call (send_messages sets them per send) must not win.
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
  perform set_config('request.jwt.claim.sub', user_id::text, true);
  perform set_config('request.jwt.claim.role', 'authenticated', true);
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
  perform set_config('request.jwt.claim.sub', '', true);
  perform set_config('request.jwt.claim.role', 'anon', true);
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
  perform set_config('request.jwt.claim.sub', '', true);
  perform set_config('request.jwt.claim.role', 'service_role', true);
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
  perform set_config('request.jwt.claim.sub', '', true);
  perform set_config('request.jwt.claim.role', '', true);
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


-- Named ids a test remembers (conversations, messages) so that later statements,
-- whoever runs them, can refer to them: tests.remember('team', id), tests.id('team').
create table if not exists tests.ids (
  name text primary key,
  id uuid not null
);
grant select, insert, update on tests.ids to anon, authenticated, service_role;

create or replace function tests.remember(name text, id uuid)
returns uuid
language sql
set search_path = ''
as $$
  insert into tests.ids (name, id) values (remember.name, remember.id)
  on conflict on constraint ids_pkey do update set id = excluded.id
  returning ids.id
$$;

create or replace function tests.id(name text)
returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  found_id uuid;
begin
  select i.id into found_id from tests.ids i where i.name = id.name;
  if found_id is null then
    raise exception 'tests.id: nothing remembered as %', name;
  end if;
  return found_id;
end
$$;

-- The current Realtime topics of a remembered conversation (conversation:<id>:<epoch>
-- and live:<id>:<epoch>), whoever asks.
create or replace function tests.topic(name text)
returns text
language sql stable
security definer
set search_path = ''
as $$
  select c.topic from public.conversations c where c.id = tests.id(topic.name)
$$;

create or replace function tests.live_topic(name text)
returns text
language sql stable
security definer
set search_path = ''
as $$
  select c.live_topic from public.conversations c where c.id = tests.id(live_topic.name)
$$;

-- The error `query` raises: for an API error (SQLSTATE PGRST, see private.raise_error)
-- {status, code, message, details, hint, headers}, with details decoded from the JSON
-- text the SQL sends (PostgREST allows only text there; tests.raw_error_of shows it as
-- sent); for any other error {sqlstate, message}; null when it succeeds. Whatever the
-- query wrote before failing is rolled back.
create or replace function tests.error_of(query text)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  state text;
  message text;
  detail text;
begin
  execute query;
  return null;
exception when others then
  get stacked diagnostics state = returned_sqlstate, message = message_text, detail = pg_exception_detail;
  if state = 'PGRST' then
    return (message::jsonb) || jsonb_build_object(
      'details', ((message::jsonb) ->> 'details')::jsonb,
      'status', (detail::jsonb) -> 'status',
      'headers', coalesce((detail::jsonb) -> 'headers', '{}'::jsonb));
  end if;
  return jsonb_build_object('sqlstate', state, 'message', message);
end
$$;

-- The message and detail of the error `query` raises, as PostgreSQL hands them to
-- PostgREST ({message, detail}, both text); null when it succeeds.
create or replace function tests.raw_error_of(query text)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  message text;
  detail text;
begin
  execute query;
  return null;
exception when others then
  get stacked diagnostics message = message_text, detail = pg_exception_detail;
  return jsonb_build_object('message', message, 'detail', detail);
end
$$;

-- pgTAP: `query` fails with the API error (HTTP status, code, message).
-- (pgTAP finds its own functions through the search path, hence `extensions`.)
create or replace function tests.throws_api_error(query text, status integer, code text, message text, description text)
returns text
language sql
set search_path = extensions
as $$
  select extensions.is(
    (select jsonb_build_object('status', e -> 'status', 'code', e -> 'code', 'message', e -> 'message')
       from (select tests.error_of(throws_api_error.query) as e) raised
      where e is not null),
    jsonb_build_object('status', throws_api_error.status, 'code', throws_api_error.code,
                       'message', throws_api_error.message),
    description)
$$;

-- How many realtime.messages rows carry `event` on `topic` (read as postgres, who bypasses RLS).
create or replace function tests.event_count(topic text, event text)
returns integer
language sql stable
set search_path = ''
as $$
  select count(*)::integer from realtime.messages m
   where m.topic = event_count.topic and m.event = event_count.event
$$;

-- How many rows `statement` (an insert, update or delete) touched.
create or replace function tests.affected_rows(statement text)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  touched integer;
begin
  execute statement;
  get diagnostics touched = row_count;
  return touched;
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;

-- The order in which rows reach realtime.messages (the order Realtime streams them):
-- after tests.track_event_order(), each inserted row is listed in tests.event_order
-- by arrival, with its payload. A row's place on disk (ctid) is not that order: a statement's rows may
-- fill a page and go on in free space of an earlier one.
create table if not exists tests.event_order (
  position bigserial primary key,
  topic text,
  event text
);
alter table tests.event_order add column if not exists payload jsonb;

create or replace function tests.log_event_order()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into tests.event_order (topic, event, payload) values (new.topic, new.event, new.payload);
  return null;
end
$$;

-- Starts recording, until the end of the transaction (the trigger is rolled back with it).
create or replace function tests.track_event_order()
returns void
language plpgsql
set search_path = ''
as $$
begin
  delete from tests.event_order;
  create trigger tests_event_order after insert on realtime.messages
    for each row execute function tests.log_event_order();
end
$$;
