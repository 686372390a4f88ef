-- list_inbox: the caller's conversations, newest message first, keyset-paginated.
begin;
select plan(29);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');
select tests.create_user('mallory');

select tests.authenticate_as('alice');
select tests.remember('dm_bob', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select tests.remember('dm_carol', (select id from public.get_or_create_direct_conversation(tests.get_user_id('carol'))));
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.remember('quiet', (select id from public.create_group_conversation('Quiet', '{}')));
select public.send_message(tests.id('team'), 'c1', 'first');
select public.send_message(tests.id('dm_bob'), 'c2', 'hey Bob');
select public.send_message(tests.id('dm_carol'), 'c3', 'yo Carol');
select tests.remember('latest', (public.send_message(tests.id('team'), 'c4', 'latest news') -> 'message' ->> 'id')::uuid);

-- as alice (member of four conversations)
select results_eq(
  $$ select conversation_id from public.list_inbox() $$,
  $$ values (tests.id('team')), (tests.id('dm_carol')), (tests.id('dm_bob')), (tests.id('quiet')) $$,
  'Alice''s inbox lists her conversations, the most recent message first, a silent group last.');
select results_eq(
  $$ select kind, title, peer, role, member_count, last_seq, last_read_seq, unread_count, last_message - 'created_at'
       from public.list_inbox() where conversation_id = tests.id('team') $$,
  $$ values ('group'::text, 'Team'::text, null::jsonb, 'owner'::text, 2, 2::bigint, 2::bigint, 0::bigint,
             jsonb_build_object('id', tests.id('latest'), 'seq', 2, 'sender_id', tests.get_user_id('alice'),
                                'preview', 'latest news', 'deleted', false)) $$,
  'A group entry: title, role, member count, read state, unread count and the last message.');
select results_eq(
  $$ select kind, title, peer, role from public.list_inbox() where conversation_id = tests.id('dm_bob') $$,
  $$ values ('direct'::text, null::text,
             jsonb_build_object('id', tests.get_user_id('bob'), 'display_name', 'bob', 'avatar_url', null), 'member'::text) $$,
  'A direct entry names the other person in peer.');
select is((select last_message from public.list_inbox() where conversation_id = tests.id('quiet')), null,
          'A conversation without messages has no last message.');
select ok((select bool_and(cursor ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z,[0-9a-f-]{36}$') from public.list_inbox()),
          'Every entry carries a cursor: its last_message_at and id.');

-- keyset pagination
select results_eq($$ select conversation_id from public.list_inbox(max_rows => 2) $$,
                  $$ values (tests.id('team')), (tests.id('dm_carol')) $$, 'The first page of two.');
select results_eq(
  $$ select conversation_id from public.list_inbox((select cursor from public.list_inbox(max_rows => 2) offset 1), 2) $$,
  $$ values (tests.id('dm_bob')), (tests.id('quiet')) $$, 'The second page starts right after the first page''s cursor.');
select is_empty($$ select * from public.list_inbox((select cursor from public.list_inbox() offset 3), 2) $$,
                'After the last entry there is nothing.');
select public.send_message(tests.id('dm_bob'), 'c5', 'news for Bob');
select results_eq($$ select conversation_id from public.list_inbox(max_rows => 1) $$, $$ values (tests.id('dm_bob')) $$,
                  'A new message moves its conversation to the top.');

-- bad input
select tests.throws_api_error($$ select * from public.list_inbox(max_rows => 0) $$, 400, 'invalid_argument',
                              'max_rows must be between 1 and 200.', 'max_rows 0 is refused.');
select tests.throws_api_error($$ select * from public.list_inbox(max_rows => 201) $$, 400, 'invalid_argument',
                              'max_rows must be between 1 and 200.', 'max_rows over 200 is refused.');
select tests.throws_api_error($$ select * from public.list_inbox(max_rows => null) $$, 400, 'invalid_argument',
                              'max_rows must be between 1 and 200.', 'A null max_rows is refused.');
select tests.throws_api_error($$ select * from public.list_inbox('yesterday') $$, 400, 'invalid_cursor',
                              'before must be a cursor returned by list_inbox.', 'A cursor that is not one is refused.');
select tests.throws_api_error($$ select * from public.list_inbox('2026-01-01T00:00:00.000000Z,not-a-uuid') $$, 400,
                              'invalid_cursor', 'before must be a cursor returned by list_inbox.',
                              'A cursor with a broken id is refused.');

-- as bob (member of two of them)
select tests.authenticate_as('bob');
select results_eq(
  $$ select conversation_id, unread_count from public.list_inbox() $$,
  $$ values (tests.id('dm_bob'), 2::bigint), (tests.id('team'), 2::bigint) $$,
  'Bob sees only his two conversations, each with two unread messages.');
select results_eq(
  $$ select peer ->> 'display_name' from public.list_inbox() where conversation_id = tests.id('dm_bob') $$,
  $$ values ('alice'::text) $$, 'For Bob the direct conversation''s peer is Alice.');
select public.mark_read(tests.id('team'), 2);
select is((select unread_count from public.list_inbox() where conversation_id = tests.id('team')), 0::bigint,
          'Once Bob reads the group, its unread count is 0.');

-- the current topics, and one conversation or its members by id
select results_eq(
  $$ select topic, live_topic from public.list_inbox() where conversation_id = tests.id('team') $$,
  $$ values ('conversation:' || tests.id('team') || ':1', 'live:' || tests.id('team') || ':1') $$,
  'Each inbox entry names the conversation''s current topics.');
select is((select to_jsonb(e) from public.get_conversation(tests.id('team')) e),
          (select to_jsonb(e) from public.list_inbox() e where conversation_id = tests.id('team')),
          'get_conversation gives the same entry as list_inbox.');
select results_eq(
  $$ select user_id, role, display_name, last_read_seq from public.list_members(tests.id('team')) $$,
  $$ select u.id, case when u.identifier = 'alice' then 'owner' else 'member' end, u.identifier::text,
            case when u.identifier = 'bob' then 2::bigint else (select last_read_seq from public.conversation_members
                                                               where conversation_id = tests.id('team') and user_id = u.id) end
       from tests.users u join public.conversation_members m on m.user_id = u.id and m.conversation_id = tests.id('team')
      order by m.joined_at, m.user_id $$,
  'list_members gives each member''s role, name and read state.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select is_empty($$ select * from public.list_inbox() $$, 'Mallory''s inbox is empty.');
select is((select count(*)::int from public.list_inbox('2999-01-01T00:00:00.000000Z,ffffffff-ffff-ffff-ffff-ffffffffffff')), 0,
          'Any cursor gives Mallory nothing either.');

-- as anon
select tests.throws_api_error($$ select public.get_conversation(tests.id('team')) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot get the group.');
select tests.throws_api_error($$ select * from public.list_members(tests.id('team')) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot list its members.');
select tests.throws_api_error($$ select public.get_conversation(gen_random_uuid()) $$, 404, 'conversation_not_found',
                              'There is no conversation with this id.', 'An unknown conversation is 404.');
select tests.throws_api_error($$ select public.get_conversation(null) $$, 400, 'invalid_argument',
                              'conversation_id is required.', 'A null id is 400.');

select tests.authenticate_as_anon();
select throws_ok($$ select * from public.list_inbox() $$, '42501', 'permission denied for function list_inbox',
                 'Anon has no inbox.');

-- as a signed-in role without a user
select set_config('role', 'authenticated', true);
select set_config('request.jwt.claims', '{"role": "authenticated"}', true);
select tests.throws_api_error($$ select * from public.list_inbox() $$, 401, 'not_authenticated',
                              'Sign in to use the chat API.', 'A token without a user gets 401.');

select tests.clear_authentication();
select is((select count(*)::int from public.conversation_members where user_id = tests.get_user_id('alice')), 4,
          'Listing changed nothing: Alice is still in four conversations.');

select * from finish();
rollback;
