-- API errors in the shape PostgREST can read: a `raise sqlstate 'PGRST'` whose message
-- is {code, message, details, hint} with text (or null) details and hint, and whose
-- detail is {status, headers} with text header values. (An object in details would
-- make hosted PostgREST answer 500 PGRST121 instead of our error.) And client JSON
-- nests at most 32 levels, on every route.
begin;
select plan(10);

select tests.create_user('alice');
select tests.create_user('bob');
update private.rate_limit_rules set capacity = 1, refill_per_second = 0.001 where action = 'search';
select tests.authenticate_as('alice');
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select count(*) from public.search_profiles('bob'); -- the one search token

-- `value` nested `depth` levels deep: {"a": {"a": ... {} ...}}.
create function pg_temp.nested(depth integer)
returns jsonb
language sql
as $$
  select (repeat('{"a": ', depth - 1) || '{}' || repeat('}', depth - 1))::jsonb
$$;

create temporary table raised as
  select tests.raw_error_of(q) as raw from (values
    ($$ select public.mark_read(tests.id('dm'), 9) $$),
    ($$ select public.create_group_conversation('Team', array[gen_random_uuid()]) $$),
    ($$ select public.send_message(tests.id('dm'), 'x', repeat('x', 4001)) $$),
    ($$ select public.search_profiles('bob') $$),
    ($$ select public.get_messages(tests.id('dm'), max_rows => 0) $$),
    ($$ select public.send_message(tests.id('dm'), '', 'hi') $$)
  ) as queries (q);

select is((select count(*)::int from raised where raw is not null), 6, 'Each of the six calls raised an error.');
select is_empty(
  $$ select raw from raised
      where jsonb_typeof((raw ->> 'message')::jsonb -> 'code') <> 'string'
         or jsonb_typeof((raw ->> 'message')::jsonb -> 'message') <> 'string' $$,
  'Every message has a text code and a text message.');
select is_empty(
  $$ select raw from raised
      where jsonb_typeof((raw ->> 'message')::jsonb -> 'details') not in ('string', 'null')
         or jsonb_typeof((raw ->> 'message')::jsonb -> 'hint') not in ('string', 'null') $$,
  'details and hint are text or null, never objects.');
select is_empty(
  $$ select raw from raised
      where jsonb_typeof((raw ->> 'detail')::jsonb -> 'status') <> 'number'
         or jsonb_typeof((raw ->> 'detail')::jsonb -> 'headers') <> 'object'
         or exists (select 1 from jsonb_each((raw ->> 'detail')::jsonb -> 'headers') h where jsonb_typeof(h.value) <> 'string') $$,
  'The detail carries a numeric status and headers whose values are text.');
select is((select (raw ->> 'message')::jsonb ->> 'details' from raised
            where (raw ->> 'message')::jsonb ->> 'code' = 'invalid_seq'),
          '{"argument": "seq", "last_seq": 0}', 'details is the JSON text of the details object.');
select is((select (raw ->> 'detail')::jsonb -> 'headers' from raised
            where (raw ->> 'message')::jsonb ->> 'code' = 'rate_limited'),
          '{"Retry-After": "1000"}'::jsonb, 'A 429 sets Retry-After as text.');

-- nesting
select is((public.send_message(tests.id('dm'), 'd32', 'deep', metadata => pg_temp.nested(32)) -> 'created')::boolean, true,
          'metadata nested 32 levels is accepted.');
select tests.throws_api_error($$ select public.send_message(tests.id('dm'), 'd33', 'deeper', metadata => pg_temp.nested(33)) $$,
                              400, 'invalid_metadata', 'metadata may nest at most 32 levels.',
                              'metadata nested 33 levels is refused.');
select lives_ok($$ select public.send_signal(tests.id('dm'), tests.get_user_id('bob'), 'ice', pg_temp.nested(32)) $$,
                'A signal payload nested 32 levels goes through.');
select tests.throws_api_error(
  $$ select public.send_signal(tests.id('dm'), tests.get_user_id('bob'), 'ice', pg_temp.nested(33)) $$,
  400, 'invalid_argument', 'payload may nest at most 32 levels.', 'A signal payload nested 33 levels is refused.');

select * from finish();
rollback;
