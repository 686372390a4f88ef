-- Group commit (20261201000100): private.send_messages stores the sends of several callers in
-- one call, each as its own caller with its own answer; a refused send is undone alone.
begin;
select plan(25);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');
select tests.authenticate_as('alice');
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select tests.clear_authentication();

create function pg_temp.send(sender text, args jsonb)
returns jsonb
language sql
as $$
  select jsonb_build_object('claims', jsonb_build_object('sub', tests.get_user_id(sender), 'role', 'authenticated',
                                                         'aud', 'authenticated'),
                            'args', args)
$$;

create function pg_temp.args(client_id text, body text)
returns jsonb
language sql
as $$
  select jsonb_build_object('conversation_id', tests.id('dm'), 'client_id', client_id, 'body', body)
$$;

-- who may call it
select is((select p.prosecdef from pg_catalog.pg_proc p where p.oid = 'private.send_messages(jsonb)'::regprocedure),
          true, 'private.send_messages is security definer.');
select is((select p.proconfig from pg_catalog.pg_proc p where p.oid = 'private.send_messages(jsonb)'::regprocedure),
          array['search_path=""'], 'private.send_messages runs with an empty search_path.');
select ok(not has_function_privilege('authenticated', 'private.send_messages(jsonb)', 'execute'),
          'Signed-in users cannot send as others through it.');
select ok(not has_function_privilege('anon', 'private.send_messages(jsonb)', 'execute'), 'Nor can anon.');
select ok(has_function_privilege('service_role', 'private.send_messages(jsonb)', 'execute'),
          'service_role (the Edge Functions) can.');

-- one batch: three callers, six sends (built first: service_role does not see the tests schema)
create temp table batch (sends jsonb, answers jsonb);
grant all on batch to service_role;
insert into batch (sends) values (jsonb_build_array(
  pg_temp.send('alice', pg_temp.args('a1', 'hello bob')),
  pg_temp.send('mallory', pg_temp.args('m1', 'let me in')),
  pg_temp.send('bob', pg_temp.args('b1', 'hi alice')),
  pg_temp.send('alice', pg_temp.args('a1', 'hello again')),
  pg_temp.send('bob', jsonb_build_object('conversation_id', 'not a uuid', 'client_id', 'b2', 'body', 'x')),
  pg_temp.send('bob', pg_temp.args('b3', ' '))
));
set local role service_role;
update batch set answers = private.send_messages(sends);
reset role;

select is(jsonb_array_length((select answers from batch)), 6, 'One answer per send.');
select is((select answers from batch) -> 0 -> 'result' -> 'message' ->> 'body', 'hello bob', 'Alice''s send is stored.');
select is(((select answers from batch) -> 0 -> 'result' ->> 'created')::boolean, true, '… as new.');
select is((select answers from batch) -> 0 -> 'result' -> 'message' ->> 'sender_id', tests.get_user_id('alice')::text,
          '… as sent by alice.');
select is((select answers from batch) -> 1 -> 'error' ->> 'code', 'PGRST', 'Mallory, no member, is refused …');
select is(((select answers from batch) -> 1 -> 'error' ->> 'message')::jsonb ->> 'code', 'not_a_member', '… as not_a_member …');
select is(((select answers from batch) -> 1 -> 'error' ->> 'detail')::jsonb ->> 'status', '403', '… with 403.');
select is((select answers from batch) -> 2 -> 'result' -> 'message' ->> 'sender_id', tests.get_user_id('bob')::text,
          'Bob''s send is stored as his.');
select is((select answers from batch) -> 3 -> 'result' -> 'message' ->> 'id', (select answers from batch) -> 0 -> 'result' -> 'message' ->> 'id',
          'Alice''s retry of a1 in the same batch is answered with the original …');
select is(((select answers from batch) -> 3 -> 'result' ->> 'created')::boolean, false, '… as not new.');
select is((select answers from batch) -> 4 -> 'error' ->> 'code', '22P02', 'An argument that does not convert fails alone (22P02).');
select is(((select answers from batch) -> 5 -> 'error' ->> 'message')::jsonb ->> 'code', 'invalid_body',
          'A blank body fails alone (invalid_body, from the trigger).');

select results_eq($$ select seq, body from public.messages where conversation_id = tests.id('dm') order by seq $$,
                  $$ values (1::bigint, 'hello bob'), (2, 'hi alice') $$,
                  'Two messages stored, numbered without a gap.');
select is(tests.event_count(tests.topic('dm'), 'message.created'), 2, 'One message.created per stored message, none for a refused send.');
select is(current_setting('request.jwt.claim.sub', true), '', 'The senders'' identities do not outlive the call.');

-- refused as a whole
create temp table refused (name text primary key, sends jsonb);
grant all on refused to service_role;
insert into refused values
  ('too many', (select jsonb_agg(pg_temp.send('alice', pg_temp.args('k' || i, 'x'))) from generate_series(1, 65) i)),
  ('anon', jsonb_build_array(jsonb_build_object('claims', '{"role": "anon"}'::jsonb, 'args', pg_temp.args('x1', 'x'))));
set local role service_role;
select throws_ok($$ select private.send_messages('{"claims": {}}') $$, '22023',
                 'send_messages takes an array of 1 to 64 sends', 'Not an array: refused.');
select throws_ok($$ select private.send_messages('[]') $$, '22023',
                 'send_messages takes an array of 1 to 64 sends', 'An empty batch: refused.');
select throws_ok($$ select private.send_messages((select sends from refused where name = 'too many')) $$,
                 '22023', 'send_messages takes an array of 1 to 64 sends', 'More than 64 sends: refused.');
select throws_ok($$ select private.send_messages((select sends from refused where name = 'anon')) $$,
                 '22023', 'send_messages sends only as signed-in users (send 1)', 'A send without a signed-in user: refused.');
reset role;
select is((select count(*)::int from public.messages where conversation_id = tests.id('dm')), 2,
          'Refused batches stored nothing.');

select * from finish();
rollback;
