-- Read state: last_read_seq and last_delivered_seq only move forward, never past the last message.
begin;
select plan(30);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');

select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select public.send_message(tests.id('team'), 'c' || i, 'message ' || i) from generate_series(1, 5) i;

-- as alice (the sender)
select results_eq($$ select last_read_seq, unread_count from public.list_inbox() $$, $$ values (5::bigint, 0::bigint) $$,
                  'Alice has read what she sent: unread count 0.');

-- as bob (member)
select tests.authenticate_as('bob');
select results_eq($$ select last_read_seq, unread_count from public.list_inbox() $$, $$ values (0::bigint, 5::bigint) $$,
                  'Bob has five unread messages: last_seq 5 - last_read_seq 0.');
select results_eq($$ select * from public.mark_read(tests.id('team'), 3) $$,
                  $$ values (tests.id('team'), 5::bigint, 3::bigint, 3::bigint, 2::bigint) $$,
                  'Bob reads up to 3: read and delivered 3, two unread.');
select results_eq($$ select * from public.mark_read(tests.id('team'), 2) $$,
                  $$ values (tests.id('team'), 5::bigint, 3::bigint, 3::bigint, 2::bigint) $$,
                  'Marking read a lower seq changes nothing and returns the current state.');
select results_eq($$ select * from public.mark_delivered(tests.id('team'), 5) $$,
                  $$ values (tests.id('team'), 5::bigint, 3::bigint, 5::bigint, 2::bigint) $$,
                  'Bob''s device received up to 5: delivered 5, still two unread.');
select results_eq($$ select * from public.mark_delivered(tests.id('team'), 4) $$,
                  $$ values (tests.id('team'), 5::bigint, 3::bigint, 5::bigint, 2::bigint) $$,
                  'Marking delivered a lower seq changes nothing.');
select results_eq($$ select * from public.mark_read(tests.id('team'), 5) $$,
                  $$ values (tests.id('team'), 5::bigint, 5::bigint, 5::bigint, 0::bigint) $$,
                  'Bob reads everything: nothing unread.');
select results_eq($$ select * from public.mark_read(tests.id('team'), 0) $$,
                  $$ values (tests.id('team'), 5::bigint, 5::bigint, 5::bigint, 0::bigint) $$,
                  'Marking read seq 0 is allowed and changes nothing.');

-- direct updates obey the same rules
update public.conversation_members set last_read_seq = 1, last_delivered_seq = 1
 where conversation_id = tests.id('team') and user_id = tests.get_user_id('bob');
select results_eq($$ select last_read_seq, last_delivered_seq from public.conversation_members
                      where conversation_id = tests.id('team') and user_id = tests.get_user_id('bob') $$,
                  $$ values (5::bigint, 5::bigint) $$, 'A direct update cannot move the read state backwards.');
select tests.throws_api_error($$ update public.conversation_members set last_read_seq = 99
                                 where conversation_id = tests.id('team') and user_id = tests.get_user_id('bob') $$,
                              400, 'invalid_seq', 'seq 99 is beyond the last message of the conversation (5).',
                              'A direct update cannot move the read state past the last message.');

-- bad input
select tests.throws_api_error($$ select public.mark_read(null, 1) $$, 400, 'invalid_argument',
                              'conversation_id is required.', 'mark_read needs a conversation.');
select tests.throws_api_error($$ select public.mark_read(tests.id('team'), null) $$, 400, 'invalid_argument',
                              'seq is required.', 'mark_read needs a seq.');
select tests.throws_api_error($$ select public.mark_read(tests.id('team'), -1) $$, 400, 'invalid_seq',
                              'seq must be 0 or more.', 'A negative seq is refused.');
select tests.throws_api_error($$ select public.mark_read(tests.id('team'), 6) $$, 400, 'invalid_seq',
                              'seq 6 is beyond the last message of the conversation (5).', 'A seq beyond the last is refused.');
select is(tests.error_of($$ select public.mark_read(tests.id('team'), 6) $$) -> 'details',
          '{"argument": "seq", "last_seq": 5}'::jsonb, 'The refusal tells the last seq.');
select tests.throws_api_error($$ select public.mark_delivered(tests.id('team'), 6) $$, 400, 'invalid_seq',
                              'seq 6 is beyond the last message of the conversation (5).',
                              'mark_delivered refuses a seq beyond the last.');
select tests.throws_api_error($$ select public.mark_delivered(null, 1) $$, 400, 'invalid_argument',
                              'conversation_id is required.', 'mark_delivered needs a conversation.');
select tests.throws_api_error($$ select public.mark_delivered(tests.id('team'), null) $$, 400, 'invalid_argument',
                              'seq is required.', 'mark_delivered needs a seq.');
select tests.throws_api_error($$ select public.mark_read(gen_random_uuid(), 1) $$, 404, 'conversation_not_found',
                              'There is no conversation with this id.', 'Marking an unknown conversation is a 404.');

-- a new message makes one unread again
select tests.authenticate_as('alice');
select public.send_message(tests.id('team'), 'c6', 'one more');
select tests.authenticate_as('bob');
select results_eq($$ select last_seq, last_read_seq, unread_count from public.list_inbox() $$,
                  $$ values (6::bigint, 5::bigint, 1::bigint) $$, 'A new message from Alice is one unread for Bob.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select tests.throws_api_error($$ select public.mark_read(tests.id('team'), 1) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot mark the group read.');
select tests.throws_api_error($$ select public.mark_delivered(tests.id('team'), 1) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot mark the group delivered.');
select is(tests.affected_rows($$ update public.conversation_members set last_read_seq = 6 where conversation_id = tests.id('team') $$),
          0, 'Mallory''s direct update of the group''s read state touches no row.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select public.mark_read(tests.id('team'), 1) $$, '42501', 'permission denied for function mark_read',
                 'Anon cannot mark read.');
select throws_ok($$ select public.mark_delivered(tests.id('team'), 1) $$, '42501',
                 'permission denied for function mark_delivered', 'Anon cannot mark delivered.');
select throws_ok($$ update public.conversation_members set last_read_seq = 6 $$, '42501',
                 'permission denied for table conversation_members', 'Anon cannot update read state.');

-- seen from the database
select tests.clear_authentication();
select results_eq(
  $$ select u.identifier, m.last_read_seq, m.last_delivered_seq from public.conversation_members m
       join tests.users u on u.id = m.user_id where m.conversation_id = tests.id('team') order by u.identifier $$,
  $$ values ('alice'::text, 6::bigint, 6::bigint), ('bob'::text, 5::bigint, 5::bigint) $$,
  'Alice read all six (she sent them); Bob read five.');
select tests.throws_api_error($$ update public.conversation_members set last_read_seq = 7
                                  where conversation_id = tests.id('team') and user_id = tests.get_user_id('bob') $$,
                              400, 'invalid_seq', 'seq 7 is beyond the last message of the conversation (6).',
                              'Past the last seq the read state is refused, even for the database owner.');
select results_eq(
  $$ select last_read_seq, last_delivered_seq from public.conversation_members
      where conversation_id = tests.id('team') and user_id = tests.get_user_id('bob') $$,
  $$ values (5::bigint, 5::bigint) $$, 'Bob''s read state is unchanged by the refused update.');
update public.conversation_members set last_read_seq = 6, last_delivered_seq = 1
 where conversation_id = tests.id('team') and user_id = tests.get_user_id('bob');
select results_eq(
  $$ select last_read_seq, last_delivered_seq from public.conversation_members
      where conversation_id = tests.id('team') and user_id = tests.get_user_id('bob') $$,
  $$ values (6::bigint, 6::bigint) $$, 'Delivered never lags behind read: it is pulled up with it.');

select * from finish();
rollback;
