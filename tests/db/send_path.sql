-- The send path of 20260801000100: send_message checks membership and blocking itself
-- (security definer), the content once (in the trigger), and serializes a sender's
-- client_id with a transaction lock instead of catching a unique violation; direct
-- inserts still meet the policies of messages.
begin;
select plan(17);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');
select tests.authenticate_as('alice');
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select tests.clear_authentication();

-- The client_id lock of (sender, client_id), as pg_locks shows an advisory lock on a bigint key.
create function pg_temp.holds_client_id_lock(sender text, client_id text)
returns boolean
language sql
as $$
  select exists (
    select 1 from pg_catalog.pg_locks l
     where l.locktype = 'advisory' and l.pid = pg_catalog.pg_backend_pid() and l.objsubid = 1 and l.granted
       and ((l.classid::bigint << 32) | l.objid::bigint)
           = pg_catalog.hashtextextended('message:' || tests.get_user_id(sender)::text || ':' || client_id, 0))
$$;

-- the functions
select is((select p.prosecdef from pg_catalog.pg_proc p where p.oid = 'private.send_message(uuid, text, text, uuid, jsonb)'::regprocedure),
          true, 'private.send_message is security definer.');
select is((select p.proconfig from pg_catalog.pg_proc p where p.oid = 'private.send_message(uuid, text, text, uuid, jsonb)'::regprocedure),
          array['search_path=""'], 'private.send_message runs with an empty search_path.');
select is((select p.prosecdef from pg_catalog.pg_proc p where p.oid = 'public.send_message(uuid, text, text, uuid, jsonb)'::regprocedure),
          false, 'public.send_message runs as the caller.');
select ok(not has_function_privilege('authenticated', 'private.lock_client_id(uuid, text)', 'execute'),
          'Signed-in users cannot take or test client_id locks themselves.');

-- a send as alice
select tests.authenticate_as('alice');
select ok(not pg_temp.holds_client_id_lock('alice', 'k1'), 'Before sending, no client_id lock is held.');
select is((public.send_message(tests.id('dm'), 'k1', 'first') -> 'created')::boolean, true, 'Alice sends k1.');
select ok(pg_temp.holds_client_id_lock('alice', 'k1'), 'The send holds the lock of (alice, k1) until commit.');
select is(public.send_message(tests.id('dm'), 'k1', 'first again') -> 'message' ->> 'body', 'first',
          'A retry in the same transaction answers with the original.');
select is(public.send_message(tests.id('dm'), 'k1', ' ') -> 'message' ->> 'body', 'first',
          'A retry is answered with the original before its content is looked at.');
select tests.throws_api_error($$ select public.send_message(tests.id('dm'), 'k2', ' ') $$, 400, 'invalid_body',
                              'The message body must contain some text.', 'A new message''s content is still checked (by the trigger).');
select lives_ok($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('dm'), 'k3', 'direct') $$,
                'Alice inserts a message directly.');
select ok(pg_temp.holds_client_id_lock('alice', 'k3'), 'A direct insert takes the same lock (its trigger).');
select results_eq($$ select seq from public.messages where conversation_id = tests.id('dm') order by seq $$,
                  $$ values (1::bigint), (2) $$, 'The refused send left no gap: seq 1, 2.');

-- mallory, not a member
select tests.authenticate_as('mallory');
select tests.throws_api_error($$ select public.send_message(tests.id('dm'), 'm1', 'hi') $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'send_message refuses a non-member.');
select throws_ok($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('dm'), 'm2', 'hi') $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'A direct insert by a non-member still meets the insert policy.');

-- bob blocks alice
select tests.authenticate_as('bob');
select public.block_user(tests.get_user_id('alice'));
select tests.authenticate_as('alice');
select tests.throws_api_error($$ select public.send_message(tests.id('dm'), 'k4', 'hello?') $$, 403, 'blocked',
                              'You cannot write to this conversation.', 'send_message refuses a blocked direct conversation.');
select throws_ok($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('dm'), 'k5', 'hello?') $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'A direct insert into a blocked direct conversation still meets the insert policy.');

select * from finish();
rollback;
