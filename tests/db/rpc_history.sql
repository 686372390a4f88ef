-- get_messages (pages by seq) and sync_conversation (catch-up since a change cursor).
begin;
select plan(34);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');

select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select public.send_message(tests.id('team'), 'c' || i, 'message ' || i) from generate_series(1, 10) i;

-- as bob (member): get_messages
select tests.authenticate_as('bob');
select results_eq($$ select seq from public.get_messages(tests.id('team')) $$, $$ select generate_series(1, 10)::bigint $$,
                  'Without a cursor Bob gets the newest messages, in ascending seq.');
select results_eq($$ select seq from public.get_messages(tests.id('team'), max_rows => 3) $$,
                  $$ values (8::bigint), (9::bigint), (10::bigint) $$, 'max_rows 3 gives the newest three.');
select results_eq($$ select seq from public.get_messages(tests.id('team'), before_seq => 8, max_rows => 3) $$,
                  $$ values (5::bigint), (6::bigint), (7::bigint) $$, 'before_seq 8 gives the three before it.');
select results_eq($$ select seq from public.get_messages(tests.id('team'), after_seq => 7) $$,
                  $$ values (8::bigint), (9::bigint), (10::bigint) $$, 'after_seq 7 gives everything after it.');
select results_eq($$ select seq from public.get_messages(tests.id('team'), after_seq => 2, max_rows => 3) $$,
                  $$ values (3::bigint), (4::bigint), (5::bigint) $$, 'after_seq 2 with max_rows 3 gives 3, 4, 5.');
select results_eq($$ select seq from public.get_messages(tests.id('team'), before_seq => 6, after_seq => 2) $$,
                  $$ values (3::bigint), (4::bigint), (5::bigint) $$, 'Both bounds give the messages between them.');
select is_empty($$ select * from public.get_messages(tests.id('team'), after_seq => 10) $$, 'Nothing comes after the last.');
select is_empty($$ select * from public.get_messages(tests.id('team'), before_seq => 1) $$, 'Nothing comes before the first.');
select results_eq($$ select body, sender_id from public.get_messages(tests.id('team'), after_seq => 0, max_rows => 1) $$,
                  $$ values ('message 1'::text, tests.get_user_id('alice')) $$, 'Rows are whole messages.');

-- bad input
select tests.throws_api_error($$ select * from public.get_messages(null) $$, 400, 'invalid_argument',
                              'conversation_id is required.', 'get_messages needs a conversation.');
select tests.throws_api_error($$ select * from public.get_messages(gen_random_uuid()) $$, 404, 'conversation_not_found',
                              'There is no conversation with this id.', 'An unknown conversation is a 404.');
select tests.throws_api_error($$ select * from public.get_messages(tests.id('team'), max_rows => 0) $$, 400,
                              'invalid_argument', 'max_rows must be between 1 and 200.', 'max_rows 0 is refused.');
select tests.throws_api_error($$ select * from public.get_messages(tests.id('team'), max_rows => 201) $$, 400,
                              'invalid_argument', 'max_rows must be between 1 and 200.', 'max_rows over 200 is refused.');
select tests.throws_api_error($$ select * from public.get_messages(tests.id('team'), before_seq => 0) $$, 400,
                              'invalid_seq', 'before_seq must be 1 or more and after_seq 0 or more.',
                              'before_seq 0 is refused.');
select tests.throws_api_error($$ select * from public.get_messages(tests.id('team'), after_seq => -1) $$, 400,
                              'invalid_seq', 'before_seq must be 1 or more and after_seq 0 or more.',
                              'A negative after_seq is refused.');

-- sync_conversation
select results_eq(
  $$ select jsonb_array_length(r -> 'messages'), r -> 'cursor', r -> 'has_more', r -> 'last_seq'
       from public.sync_conversation(tests.id('team'), 0) r $$,
  $$ values (10, '10'::jsonb, 'false'::jsonb, '10'::jsonb) $$,
  'Syncing from 0 returns all ten messages and cursor 10.');
select tests.authenticate_as('alice');
select public.edit_message((select id from public.messages where conversation_id = tests.id('team') and seq = 3), 'edited');
select public.add_reaction((select id from public.messages where conversation_id = tests.id('team') and seq = 5), '👍');
select public.delete_message((select id from public.messages where conversation_id = tests.id('team') and seq = 7));
select public.send_message(tests.id('team'), 'c11', 'message 11');
select tests.authenticate_as('bob');
select results_eq(
  $$ select (m ->> 'seq')::bigint, (m ->> 'change_seq')::bigint, m ->> 'body'
       from public.sync_conversation(tests.id('team'), 10) r, jsonb_array_elements(r -> 'messages') m $$,
  $$ values (3::bigint, 11::bigint, 'edited'::text), (5, 12, 'message 5'), (7, 13, ''), (11, 14, 'message 11') $$,
  'Syncing from 10 returns exactly the edited, re-reacted, deleted and new messages, in change order.');
select results_eq(
  $$ select r -> 'cursor', r -> 'has_more', r -> 'last_seq' from public.sync_conversation(tests.id('team'), 10) r $$,
  $$ values ('14'::jsonb, 'false'::jsonb, '11'::jsonb) $$, 'The new cursor is 14; there is no more.');
select is((select (m -> 'reactions') from public.sync_conversation(tests.id('team'), 10) r,
                  jsonb_array_elements(r -> 'messages') m where m ->> 'seq' = '5'),
          jsonb_build_object('👍', jsonb_build_array(tests.get_user_id('alice'))),
          'A re-reacted message comes with its reaction summary.');
select results_eq(
  $$ select jsonb_array_length(r -> 'messages'), r -> 'cursor', r -> 'has_more' from public.sync_conversation(tests.id('team'), 14) r $$,
  $$ values (0, '14'::jsonb, 'false'::jsonb) $$, 'Syncing from the current cursor returns nothing new.');

-- paging through a sync
select results_eq(
  $$ select r -> 'cursor', r -> 'has_more', jsonb_path_query_array(r -> 'messages', '$[*].change_seq')
       from public.sync_conversation(tests.id('team'), 0, 4) r $$,
  $$ values ('6'::jsonb, 'true'::jsonb, '[1, 2, 4, 6]'::jsonb) $$,
  'A page of four from 0: changes 1, 2, 4, 6 (3, 5 and 7 changed later), cursor 6, more to come.');
select results_eq(
  $$ select r -> 'cursor', r -> 'has_more', jsonb_path_query_array(r -> 'messages', '$[*].change_seq')
       from public.sync_conversation(tests.id('team'), 6, 4) r $$,
  $$ values ('11'::jsonb, 'true'::jsonb, '[8, 9, 10, 11]'::jsonb) $$, 'The second page: changes 8 to 11, cursor 11.');
select results_eq(
  $$ select r -> 'cursor', r -> 'has_more', jsonb_path_query_array(r -> 'messages', '$[*].change_seq')
       from public.sync_conversation(tests.id('team'), 11, 4) r $$,
  $$ values ('14'::jsonb, 'false'::jsonb, '[12, 13, 14]'::jsonb) $$, 'The last page: changes 12 to 14, cursor 14, done.');
select is(
  (select count(distinct m ->> 'id')::int
     from (values (0), (6), (11)) pages (since), public.sync_conversation(tests.id('team'), pages.since, 4) r,
          jsonb_array_elements(r -> 'messages') m),
  (select count(*)::int from public.messages where conversation_id = tests.id('team')),
  'The three pages together hold every message exactly once.');

-- bad input
select tests.throws_api_error($$ select public.sync_conversation(tests.id('team'), null) $$, 400, 'invalid_argument',
                              'since_change is required.', 'sync_conversation needs a cursor.');
select tests.throws_api_error($$ select public.sync_conversation(null, 0) $$, 400, 'invalid_argument',
                              'conversation_id is required.', 'sync_conversation needs a conversation.');
select tests.throws_api_error($$ select public.sync_conversation(tests.id('team'), -1) $$, 400, 'invalid_cursor',
                              'since_change must be between 0 and the conversation''s last change (14).',
                              'A negative cursor is refused.');
select tests.throws_api_error($$ select public.sync_conversation(tests.id('team'), 15) $$, 400, 'invalid_cursor',
                              'since_change must be between 0 and the conversation''s last change (14).',
                              'A cursor beyond the last change is refused.');
select tests.throws_api_error($$ select public.sync_conversation(tests.id('team'), 0, 0) $$, 400, 'invalid_argument',
                              'max_rows must be between 1 and 1000.', 'max_rows 0 is refused.');
select tests.throws_api_error($$ select public.sync_conversation(gen_random_uuid(), 0) $$, 404, 'conversation_not_found',
                              'There is no conversation with this id.', 'Syncing an unknown conversation is a 404.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select tests.throws_api_error($$ select * from public.get_messages(tests.id('team')) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot page the group''s messages.');
select tests.throws_api_error($$ select public.sync_conversation(tests.id('team'), 0) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot sync the group.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select * from public.get_messages(tests.id('team')) $$, '42501',
                 'permission denied for function get_messages', 'Anon cannot page messages.');
select throws_ok($$ select public.sync_conversation(tests.id('team'), 0) $$, '42501',
                 'permission denied for function sync_conversation', 'Anon cannot sync.');

select * from finish();
rollback;
