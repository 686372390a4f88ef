-- Rate limits: a token bucket per user and action, on every write path, answering 429
-- with the seconds to wait. Time is simulated by moving a bucket's refreshed_at back.
begin;
select plan(74);

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

-- every write path of every other action: a bucket of as many tokens as the action has paths
-- is emptied by using each path once, and then every path is refused (a path that took
-- nothing would leave a token for the first refusal)
select tests.create_user('carol');
select tests.create_user('dave');
select tests.create_user('erin');
select tests.create_user('frank');
select tests.create_user('gina');
select tests.create_user('mallory');
update private.rate_limit_rules set capacity = 10 where action = 'send_message';
select tests.authenticate_as('carol');
select tests.remember('crew', (select id from public.create_group_conversation('Crew',
  array[tests.get_user_id('dave'), tests.get_user_id('erin'), tests.get_user_id('frank')])));
select tests.remember('carol_' || i, (public.send_message(tests.id('crew'), 'carol-' || i, 'from Carol ' || i) -> 'message' ->> 'id')::uuid)
  from generate_series(1, 4) i;
select tests.authenticate_as('dave');
select tests.remember('daves', (select id from public.create_group_conversation('Dave''s', array[tests.get_user_id('carol')])));
select tests.remember('dave_1', (public.send_message(tests.id('crew'), 'dave-1', 'from Dave') -> 'message' ->> 'id')::uuid);
select public.send_message(tests.id('crew'), 'dave-' || i, 'more from Dave') from generate_series(2, 3) i;
select tests.clear_authentication();
insert into public.message_reactions (message_id, user_id, emoji) values (tests.id('dave_1'), tests.get_user_id('carol'), '❤️');
delete from private.rate_limit_buckets where user_id = tests.get_user_id('carol');
update private.rate_limit_rules set capacity = 2 where action in ('profile', 'receipt', 'create_conversation', 'block', 'search');
update private.rate_limit_rules set capacity = 4 where action in ('reaction', 'edit_message', 'manage_members');
select tests.authenticate_as('carol');

-- profile: update_profile and a direct update
select lives_ok($$ select public.update_profile(display_name => 'Carol One') $$, 'Carol renames herself.');
select lives_ok($$ update public.profiles set avatar_url = 'https://example.test/carol.png' where id = tests.get_user_id('carol') $$,
                'Carol sets her avatar in the table.');
select tests.throws_api_error($$ select public.update_profile(display_name => 'Carol Two') $$, 429, 'rate_limited',
                              'Too many profile requests; try again in 10 s.', 'A third profile change by RPC is refused.');
select tests.throws_api_error($$ update public.profiles set display_name = 'Carol Two' where id = tests.get_user_id('carol') $$,
                              429, 'rate_limited', 'Too many profile requests; try again in 10 s.',
                              'So is one in the table.');
select is((select display_name from public.profiles where id = tests.get_user_id('carol')), 'Carol One',
          'The refused changes wrote nothing.');

-- reaction: add_reaction, remove_reaction, a direct insert and a direct delete
select lives_ok($$ select public.add_reaction(tests.id('dave_1'), '👍') $$, 'Carol reacts.');
select lives_ok($$ insert into public.message_reactions (message_id, emoji) values (tests.id('dave_1'), '🎉') $$,
                'Carol reacts in the table.');
select lives_ok($$ select public.remove_reaction(tests.id('dave_1'), '👍') $$, 'Carol takes a reaction back.');
select lives_ok($$ delete from public.message_reactions where message_id = tests.id('dave_1') and emoji = '🎉' $$,
                'Carol takes one back in the table.');
select tests.throws_api_error($$ select public.add_reaction(tests.id('dave_1'), '😀') $$, 429, 'rate_limited',
                              'Too many reaction requests; try again in 1 s.', 'Adding by RPC is refused now.');
select tests.throws_api_error($$ insert into public.message_reactions (message_id, emoji) values (tests.id('dave_1'), '😮') $$,
                              429, 'rate_limited', 'Too many reaction requests; try again in 1 s.',
                              'Adding in the table is refused.');
select tests.throws_api_error($$ select public.remove_reaction(tests.id('dave_1'), '❤️') $$, 429, 'rate_limited',
                              'Too many reaction requests; try again in 1 s.', 'Removing by RPC is refused.');
select tests.throws_api_error($$ delete from public.message_reactions where message_id = tests.id('dave_1') and emoji = '❤️' $$,
                              429, 'rate_limited', 'Too many reaction requests; try again in 1 s.',
                              'Removing in the table is refused.');

-- receipt: mark_delivered and a direct update of the read state (mark_read is refused above)
select lives_ok($$ select public.mark_delivered(tests.id('crew'), 5) $$, 'Carol marks Dave''s first message delivered.');
select lives_ok($$ update public.conversation_members set last_read_seq = 5
                    where conversation_id = tests.id('crew') and user_id = tests.get_user_id('carol') $$,
                'Carol reads it, in the table.');
select tests.throws_api_error($$ select public.mark_delivered(tests.id('crew'), 6) $$, 429, 'rate_limited',
                              'Too many receipt requests; try again in 1 s.', 'mark_delivered is refused now.');
select tests.throws_api_error($$ select public.mark_read(tests.id('crew'), 6) $$, 429, 'rate_limited',
                              'Too many receipt requests; try again in 1 s.', 'So is mark_read.');
select tests.throws_api_error($$ update public.conversation_members set last_read_seq = 6
                                  where conversation_id = tests.id('crew') and user_id = tests.get_user_id('carol') $$,
                              429, 'rate_limited', 'Too many receipt requests; try again in 1 s.',
                              'So is moving the read state in the table.');

-- edit_message: edit_message, delete_message, and direct updates of the body and of deleted_at
select lives_ok($$ select public.edit_message(tests.id('carol_1'), 'edited') $$, 'Carol edits a message.');
select lives_ok($$ select public.delete_message(tests.id('carol_1')) $$, 'Carol deletes it.');
select lives_ok($$ update public.messages set body = 'edited in the table' where id = tests.id('carol_2') $$,
                'Carol edits another in the table.');
select lives_ok($$ update public.messages set deleted_at = now() where id = tests.id('carol_2') $$,
                'Carol deletes it in the table.');
select tests.throws_api_error($$ select public.edit_message(tests.id('carol_3'), 'edited') $$, 429, 'rate_limited',
                              'Too many edit_message requests; try again in 1 s.', 'Editing by RPC is refused now.');
select tests.throws_api_error($$ select public.delete_message(tests.id('carol_3')) $$, 429, 'rate_limited',
                              'Too many edit_message requests; try again in 1 s.', 'Deleting by RPC is refused.');
select tests.throws_api_error($$ update public.messages set body = 'edited' where id = tests.id('carol_4') $$,
                              429, 'rate_limited', 'Too many edit_message requests; try again in 1 s.',
                              'Editing in the table is refused.');
select tests.throws_api_error($$ update public.messages set deleted_at = now() where id = tests.id('carol_4') $$,
                              429, 'rate_limited', 'Too many edit_message requests; try again in 1 s.',
                              'Deleting in the table is refused.');

-- create_conversation: a direct conversation and a group
select lives_ok($$ select public.get_or_create_direct_conversation(tests.get_user_id('erin')) $$,
                'Carol starts a direct conversation with Erin.');
select lives_ok($$ select public.create_group_conversation('Another', array[tests.get_user_id('dave')]) $$,
                'Carol creates a group.');
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(tests.get_user_id('frank')) $$,
                              429, 'rate_limited', 'Too many create_conversation requests; try again in 5 s.',
                              'A new direct conversation is refused now.');
select tests.throws_api_error($$ select public.create_group_conversation('One more', '{}') $$, 429, 'rate_limited',
                              'Too many create_conversation requests; try again in 5 s.', 'So is a new group.');
select lives_ok($$ select public.get_or_create_direct_conversation(tests.get_user_id('erin')) $$,
                'Opening the existing one with Erin creates nothing and is not limited.');

-- manage_members: add, set a role, remove, leave
select lives_ok($$ select public.add_conversation_members(tests.id('crew'), array[tests.get_user_id('gina')]) $$,
                'Carol adds Gina.');
select lives_ok($$ select public.set_member_role(tests.id('crew'), tests.get_user_id('dave'), 'admin') $$,
                'Carol makes Dave an admin.');
select lives_ok($$ select public.remove_conversation_member(tests.id('crew'), tests.get_user_id('erin')) $$,
                'Carol removes Erin.');
select lives_ok($$ select public.leave_conversation(tests.id('daves')) $$, 'Carol leaves Dave''s group.');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('crew'), array[tests.get_user_id('mallory')]) $$,
                              429, 'rate_limited', 'Too many manage_members requests; try again in 2 s.',
                              'Adding is refused now.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('crew'), tests.get_user_id('frank'), 'admin') $$,
                              429, 'rate_limited', 'Too many manage_members requests; try again in 2 s.',
                              'So is changing a role.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('crew'), tests.get_user_id('frank')) $$,
                              429, 'rate_limited', 'Too many manage_members requests; try again in 2 s.',
                              'So is removing.');
select tests.throws_api_error($$ select public.leave_conversation(tests.id('crew')) $$, 429, 'rate_limited',
                              'Too many manage_members requests; try again in 2 s.', 'So is leaving.');
select results_eq(
  $$ select u.identifier, m.role from public.conversation_members m join tests.users u on u.id = m.user_id
      where m.conversation_id = tests.id('crew') order by u.identifier $$,
  $$ values ('carol'::text, 'owner'::text), ('dave', 'admin'), ('frank', 'member'), ('gina', 'member') $$,
  'The refused changes left the group as the allowed ones made it.');

-- block: block_user and unblock_user
select lives_ok($$ select public.block_user(tests.get_user_id('mallory')) $$, 'Carol blocks Mallory.');
select lives_ok($$ select public.unblock_user(tests.get_user_id('mallory')) $$, 'Carol unblocks her.');
select tests.throws_api_error($$ select public.block_user(tests.get_user_id('mallory')) $$, 429, 'rate_limited',
                              'Too many block requests; try again in 5 s.', 'Blocking is refused now.');
select tests.throws_api_error($$ select public.unblock_user(tests.get_user_id('mallory')) $$, 429, 'rate_limited',
                              'Too many block requests; try again in 5 s.', 'So is unblocking.');

-- search: search_messages and search_profiles
select lives_ok($$ select public.search_messages('Carol') $$, 'Carol searches messages.');
select lives_ok($$ select public.search_profiles('Dave') $$, 'Carol searches people.');
select tests.throws_api_error($$ select public.search_messages('Carol') $$, 429, 'rate_limited',
                              'Too many search requests; try again in 1 s.', 'Searching messages is refused now.');
select tests.throws_api_error($$ select public.search_profiles('Dave') $$, 429, 'rate_limited',
                              'Too many search requests; try again in 1 s.', 'So is searching people.');
select tests.clear_authentication();

select * from finish();
rollback;
