-- Blocking: a blocked pair can neither open a direct conversation nor write to the one they share.
begin;
select plan(40);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');
select tests.create_user('mallory');

select tests.authenticate_as('alice');
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.remember('old', (public.send_message(tests.id('dm'), 'c1', 'Hi Bob') -> 'message' ->> 'id')::uuid);
select tests.remember('older', (public.send_message(tests.id('dm'), 'c2', 'Still there?') -> 'message' ->> 'id')::uuid);

-- as bob (the blocker)
select tests.authenticate_as('bob');
select lives_ok($$ select public.block_user(tests.get_user_id('alice')) $$, 'Bob blocks Alice.');
select lives_ok($$ select public.block_user(tests.get_user_id('alice')) $$, 'Blocking again is harmless.');
select tests.throws_api_error($$ select public.send_message(tests.id('dm'), 'b1', 'go away') $$, 403, 'blocked',
                              'You cannot write to this conversation.', 'Bob cannot write to Alice either while he blocks her.');
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(tests.get_user_id('alice')) $$, 403,
                              'blocked', 'You cannot message this user.', 'Bob cannot open the conversation with Alice.');
select throws_ok($$ select count(*) from private.blocked_users $$, '42501', 'permission denied for table blocked_users',
                 'Bob cannot read the block list directly.');

-- as alice (blocked)
select tests.authenticate_as('alice');
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(tests.get_user_id('bob')) $$, 403,
                              'blocked', 'You cannot message this user.', 'Alice cannot open the conversation with Bob.');
select tests.throws_api_error($$ select public.send_message(tests.id('dm'), 'c3', 'Why?') $$, 403, 'blocked',
                              'You cannot write to this conversation.', 'Alice cannot send to Bob.');
select throws_ok($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('dm'), 'c3', 'Why?') $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Alice''s direct insert is refused by the policy.');
select tests.throws_api_error($$ select public.edit_message(tests.id('old'), 'Hi Bob, please') $$, 403, 'blocked',
                              'You cannot write to this conversation.', 'Alice cannot edit her messages to Bob.');
select tests.throws_api_error($$ select public.add_reaction(tests.id('old'), '🙏') $$, 403, 'blocked',
                              'You cannot write to this conversation.', 'Alice cannot react in the conversation.');
select tests.throws_api_error($$ insert into public.message_reactions (message_id, emoji) values (tests.id('old'), '🙏') $$,
                              403, 'blocked', 'You cannot write to this conversation.',
                              'Alice''s direct reaction insert is refused too.');
select is((select count(*)::int from public.messages where conversation_id = tests.id('dm')), 2,
          'Alice still reads the history of the conversation.');
select is((select deleted_at is not null from public.delete_message(tests.id('older'))), true,
          'Alice may still delete her own messages.');
select is((public.send_message(tests.id('team'), 'g1', 'Hello group') -> 'created')::boolean, true,
          'Blocking concerns the direct conversation: Alice still writes in a group with Bob.');
select throws_ok($$ select count(*) from private.blocked_users $$, '42501', 'permission denied for table blocked_users',
                 'Alice cannot see who blocked her.');

-- a new pair that is blocked never gets a conversation
select tests.authenticate_as('carol');
select lives_ok($$ select public.block_user(tests.get_user_id('mallory')) $$, 'Carol blocks Mallory.');

-- as mallory (blocked by carol)
select tests.authenticate_as('mallory');
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(tests.get_user_id('carol')) $$, 403,
                              'blocked', 'You cannot message this user.', 'Mallory cannot open a conversation with Carol.');
select tests.authenticate_as('carol');
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(tests.get_user_id('mallory')) $$, 403,
                              'blocked', 'You cannot message this user.', 'Nor can Carol with Mallory while she blocks her.');

-- bad input
select tests.throws_api_error($$ select public.block_user(null) $$, 400, 'invalid_argument', 'user_id is required.',
                              'block_user needs a user.');
select tests.throws_api_error($$ select public.block_user(tests.get_user_id('carol')) $$, 400, 'invalid_argument',
                              'You cannot block yourself.', 'Nobody blocks themself.');
select tests.throws_api_error($$ select public.block_user(gen_random_uuid()) $$, 404, 'user_not_found',
                              'There is no user with this id.', 'Blocking an unknown user is a 404.');
select tests.throws_api_error($$ select public.unblock_user(null) $$, 400, 'invalid_argument', 'user_id is required.',
                              'unblock_user needs a user.');
select tests.throws_api_error($$ select public.unblock_user(gen_random_uuid()) $$, 404, 'user_not_found',
                              'There is no user with this id.', 'Unblocking an unknown user is a 404.');

-- unblocking
select tests.authenticate_as('bob');
select lives_ok($$ select public.unblock_user(tests.get_user_id('alice')) $$, 'Bob unblocks Alice.');
select lives_ok($$ select public.unblock_user(tests.get_user_id('alice')) $$, 'Unblocking again is harmless.');
select tests.authenticate_as('alice');
select is((select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))), tests.id('dm'),
          'Alice opens the conversation with Bob again.');
select is((public.send_message(tests.id('dm'), 'c4', 'Thanks') -> 'created')::boolean, true, 'Alice writes to Bob again.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select public.block_user(tests.get_user_id('alice')) $$, '42501', 'permission denied for function block_user',
                 'Anon cannot block.');
select throws_ok($$ select public.unblock_user(tests.get_user_id('alice')) $$, '42501',
                 'permission denied for function unblock_user', 'Anon cannot unblock.');

-- groups: nobody puts into a group someone they blocked or who blocked them (either way)
select tests.authenticate_as('carol');
select tests.throws_api_error($$ select public.create_group_conversation('Pals', array[tests.get_user_id('mallory')]) $$,
                              403, 'blocked', 'You cannot add this user.',
                              'Carol cannot create a group with Mallory, whom she blocked.');
select is((tests.error_of($$ select public.create_group_conversation('Pals',
             array[tests.get_user_id('alice'), tests.get_user_id('mallory')]) $$) -> 'details' -> 'user_ids'),
          jsonb_build_array(tests.get_user_id('mallory')), 'The error names the blocked users, and only them.');
select tests.authenticate_as('mallory');
select tests.throws_api_error($$ select public.create_group_conversation('Hi', array[tests.get_user_id('carol')]) $$,
                              403, 'blocked', 'You cannot add this user.',
                              'Mallory cannot create a group with Carol, who blocked her.');
select tests.remember('mallorys', (select id from public.create_group_conversation('Mine', array[tests.get_user_id('alice')])));
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('mallorys'), array[tests.get_user_id('carol')]) $$,
                              403, 'blocked', 'You cannot add this user.',
                              'Mallory cannot add Carol, who blocked her, to her group.');
select tests.authenticate_as('carol');
select tests.remember('carols', (select id from public.create_group_conversation('Ours', array[tests.get_user_id('alice')])));
select tests.throws_api_error(
  $$ select public.add_conversation_members(tests.id('carols'), array[tests.get_user_id('bob'), tests.get_user_id('mallory')]) $$,
  403, 'blocked', 'You cannot add this user.', 'Carol cannot add Mallory, whom she blocked, to her group.');
select tests.clear_authentication();
select is((select count(*)::int from public.conversation_members m
            where m.conversation_id in (tests.id('mallorys'), tests.id('carols'))), 4,
          'The refused additions wrote nothing: each group has its two first members only.');
select is((select count(*)::int from public.conversations where title = 'Pals' or title = 'Hi'), 0,
          'The refused groups were not created.');
select tests.authenticate_as('alice');
select is((select count(*)::int from public.add_conversation_members(tests.id('team'), array[tests.get_user_id('mallory')])), 1,
          'Blocks between other people do not concern Alice: she adds Mallory to her group with Bob.');

-- seen from the database
select tests.clear_authentication();
select results_eq($$ select blocker_id, blocked_id from private.blocked_users $$,
                  $$ values (tests.get_user_id('carol'), tests.get_user_id('mallory')) $$,
                  'One block remains: Carol blocks Mallory.');
select is((select count(*)::int from public.conversations where kind = 'direct'), 1,
          'No direct conversation was created for the blocked pair.');
select results_eq($$ select client_id from public.messages where conversation_id = tests.id('dm') order by seq $$,
                  $$ values ('c1'::text), ('c2'::text), ('c4'::text) $$,
                  'Nothing was written to the direct conversation while it was blocked.');

select * from finish();
rollback;
