-- Rate limits: a token bucket per user and action, on every write path, answering 429
-- with the seconds to wait. Time is simulated by moving a bucket's refreshed_at back.
begin;
select plan(26);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.clear_authentication();

-- the default rules
select results_eq(
  $$ select action, capacity, refill_per_second from private.rate_limit_rules
      where action in ('block', 'create_conversation', 'edit_message', 'manage_members', 'profile', 'reaction',
                       'receipt', 'search', 'send_message')
      order by action $$,
  $$ values ('block'::text, 20, 0.2), ('create_conversation', 10, 0.2), ('edit_message', 20, 1), ('manage_members', 30, 0.5),
            ('profile', 10, 0.1), ('reaction', 30, 2), ('receipt', 120, 10), ('search', 30, 1), ('send_message', 30, 2) $$,
  'Every chat action has its burst capacity and refill rate.');

-- a small bucket for sending: 3 tokens, one every 2 seconds
update private.rate_limit_rules set capacity = 3, refill_per_second = 0.5 where action = 'send_message';

-- as alice
select tests.authenticate_as('alice');
select lives_ok($$ select public.send_message(tests.id('team'), 'c' || i, 'message ' || i) from generate_series(1, 3) i $$,
                'Alice sends three messages: the bucket''s burst.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'c4', 'one more') $$, 429, 'rate_limited',
                              'Too many send_message requests; try again in 2 s.', 'The fourth send is refused with 429.');
select is(tests.error_of($$ select public.send_message(tests.id('team'), 'c4', 'one more') $$) -> 'details',
          '{"action": "send_message", "retry_after_seconds": 2}'::jsonb, 'The 429 says which action and how long to wait.');
select is(tests.error_of($$ select public.send_message(tests.id('team'), 'c4', 'one more') $$) -> 'headers',
          '{"Retry-After": "2"}'::jsonb, 'The 429 carries a Retry-After header.');
select tests.throws_api_error($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('team'), 'd1', 'direct') $$,
                              429, 'rate_limited', 'Too many send_message requests; try again in 2 s.',
                              'A direct insert takes from the same bucket.');
select is((public.send_message(tests.id('team'), 'c1', 'message 1') -> 'created')::boolean, false,
          'A retry of a message already sent is answered even while limited (it costs nothing).');
select is((select count(*)::int from public.messages where conversation_id = tests.id('team')), 3,
          'The refused sends wrote nothing.');
select is((select count(*)::int from public.add_reaction(
             (select id from public.messages where conversation_id = tests.id('team') and seq = 1), '👍')), 1,
          'Other actions have buckets of their own: Alice can still react.');

-- as bob: his own bucket
select tests.authenticate_as('bob');
select is((public.send_message(tests.id('team'), 'b1', 'hi') -> 'created')::boolean, true,
          'Bob is not limited by Alice''s bucket.');
select throws_ok($$ select count(*) from private.rate_limit_buckets $$, '42501',
                 'permission denied for table rate_limit_buckets', 'Bob cannot read or reset the buckets.');

-- time passes
select tests.clear_authentication();
update private.rate_limit_buckets set refreshed_at = refreshed_at - interval '4 seconds'
 where user_id = tests.get_user_id('alice') and action = 'send_message';
select tests.authenticate_as('alice');
select lives_ok($$ select public.send_message(tests.id('team'), 'c' || i, 'message ' || i) from generate_series(4, 5) i $$,
                'Four seconds later Alice has two tokens again and sends two messages.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'c6', 'again') $$, 429, 'rate_limited',
                              'Too many send_message requests; try again in 2 s.', 'The next one is refused again.');
select tests.clear_authentication();
update private.rate_limit_buckets set refreshed_at = refreshed_at - interval '1 hour'
 where user_id = tests.get_user_id('alice') and action = 'send_message';
select tests.authenticate_as('alice');
select lives_ok($$ select public.send_message(tests.id('team'), 'c' || i, 'message ' || i) from generate_series(6, 8) i $$,
                'An hour later the bucket is full again: three more messages.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'c9', 'again') $$, 429, 'rate_limited',
                              'Too many send_message requests; try again in 2 s.',
                              'The bucket never holds more than its capacity.');

-- edits, receipts and conversations have buckets too
select tests.clear_authentication();
update private.rate_limit_rules set capacity = 1 where action = 'edit_message';
update private.rate_limit_rules set capacity = 2 where action = 'receipt';
select tests.authenticate_as('alice');
select tests.remember('first', (select id from public.messages where conversation_id = tests.id('team') and seq = 1));
select lives_ok($$ select public.edit_message(tests.id('first'), 'edited once') $$, 'Alice edits a message.');
select tests.throws_api_error($$ select public.edit_message(tests.id('first'), 'edited twice') $$, 429, 'rate_limited',
                              'Too many edit_message requests; try again in 1 s.', 'A second edit is over the edit budget.');
select tests.throws_api_error($$ select public.delete_message(tests.id('first')) $$, 429, 'rate_limited',
                              'Too many edit_message requests; try again in 1 s.', 'Deletes share the edit budget.');
select tests.authenticate_as('bob');
select lives_ok($$ select public.mark_read(tests.id('team'), 5); select public.mark_read(tests.id('team'), 6) $$,
                'Bob (who read up to his own message 4) moves his read state twice.');
select tests.throws_api_error($$ select public.mark_read(tests.id('team'), 7) $$, 429, 'rate_limited',
                              'Too many receipt requests; try again in 1 s.', 'A third move is over the receipt budget.');
select is((select last_read_seq from public.mark_read(tests.id('team'), 1)), 6::bigint,
          'A mark that moves nothing costs nothing and still answers.');
select lives_ok($$ select public.create_group_conversation('Group ' || i, '{}') from generate_series(1, 10) i $$,
                'Bob creates ten groups: the default burst.');
select tests.throws_api_error($$ select public.create_group_conversation('Group 11', '{}') $$, 429, 'rate_limited',
                              'Too many create_conversation requests; try again in 5 s.',
                              'The eleventh is refused: one more every five seconds.');
select is((select count(*)::int from public.conversations where title like 'Group %'), 10, 'Only ten groups exist.');

-- the server itself is not limited
select tests.clear_authentication();
insert into public.messages (conversation_id, client_id, body, kind, sender_id)
values (tests.id('team'), 'system-1', 'Alice renamed the group', 'system', null);
select is((select seq from public.messages where client_id = 'system-1'), 10::bigint,
          'A system message inserted without a user is not limited and is numbered in turn.');
select results_eq($$ select action from private.rate_limit_buckets where user_id = tests.get_user_id('alice') order by action $$,
                  $$ values ('create_conversation'::text), ('edit_message'), ('reaction'), ('send_message') $$,
                  'Alice has one bucket per action she used.');

select * from finish();
rollback;
