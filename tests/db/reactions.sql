-- Reactions: one per (message, user, emoji), summarised on the message, moving its change cursor.
begin;
select plan(36);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');

select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.remember('hello', (public.send_message(tests.id('team'), 'c1', 'Hello') -> 'message' ->> 'id')::uuid);
select tests.remember('bye', (public.send_message(tests.id('team'), 'c2', 'Bye') -> 'message' ->> 'id')::uuid);

-- as alice (member)
select results_eq(
  $$ select reactions, change_seq from public.add_reaction(tests.id('hello'), '👍') $$,
  $$ select jsonb_build_object('👍', jsonb_build_array(tests.get_user_id('alice'))), 3::bigint $$,
  'Alice reacts 👍: the message''s summary lists her and its change_seq moves to 3.');
select results_eq($$ select last_change from public.conversations where id = tests.id('team') $$, $$ values (3::bigint) $$,
                  'The conversation''s change cursor moved with it.');
select results_eq(
  $$ select message_id, user_id, emoji, conversation_id from public.message_reactions $$,
  $$ values (tests.id('hello'), tests.get_user_id('alice'), '👍'::text, tests.id('team')) $$,
  'The reaction row records the message, the user, the emoji and the conversation.');
select is((select change_seq from public.add_reaction(tests.id('hello'), '👍')), 3::bigint,
          'Adding the same reaction again changes nothing.');
select is((select count(*)::int from public.message_reactions), 1, 'There is still one reaction row.');
select is((select change_seq from public.remove_reaction(tests.id('bye'), '👍')), 2::bigint,
          'Removing a reaction that is not there changes nothing.');

-- bad input
select tests.throws_api_error($$ select public.add_reaction(null, '👍') $$, 400, 'invalid_argument',
                              'message_id is required.', 'add_reaction needs a message.');
select tests.throws_api_error($$ select public.add_reaction(tests.id('hello'), null) $$, 400, 'invalid_emoji',
                              'emoji must have 1 to 32 characters and no spaces.', 'A null emoji is refused.');
select tests.throws_api_error($$ select public.add_reaction(tests.id('hello'), '') $$, 400, 'invalid_emoji',
                              'emoji must have 1 to 32 characters and no spaces.', 'An empty emoji is refused.');
select tests.throws_api_error($$ select public.add_reaction(tests.id('hello'), 'thumbs up') $$, 400, 'invalid_emoji',
                              'emoji must have 1 to 32 characters and no spaces.', 'An emoji with a space is refused.');
select tests.throws_api_error($$ select public.add_reaction(tests.id('hello'), repeat('x', 33)) $$, 400, 'invalid_emoji',
                              'emoji must have 1 to 32 characters and no spaces.', 'A 33-character emoji is refused.');
select tests.throws_api_error($$ select public.add_reaction(gen_random_uuid(), '👍') $$, 404, 'message_not_found',
                              'There is no message with this id.', 'Reacting to an unknown message is a 404.');
select tests.throws_api_error($$ select public.remove_reaction(null, '👍') $$, 400, 'invalid_argument',
                              'message_id is required.', 'remove_reaction needs a message.');
select tests.throws_api_error($$ select public.remove_reaction(tests.id('hello'), ' ') $$, 400, 'invalid_emoji',
                              'emoji must have 1 to 32 characters and no spaces.', 'remove_reaction checks the emoji.');
select is((select count(*)::int from public.message_reactions), 1, 'The refused calls wrote nothing.');

-- as bob (member)
select tests.authenticate_as('bob');
select results_eq(
  $$ select reactions from public.add_reaction(tests.id('hello'), '👍') $$,
  $$ select jsonb_build_object('👍', jsonb_build_array(tests.get_user_id('alice'), tests.get_user_id('bob'))) $$,
  'Bob reacts 👍 too: the summary lists Alice then Bob.');
select results_eq(
  $$ select reactions, change_seq from public.add_reaction(tests.id('hello'), '🎉') $$,
  $$ select jsonb_build_object('👍', jsonb_build_array(tests.get_user_id('alice'), tests.get_user_id('bob')),
                               '🎉', jsonb_build_array(tests.get_user_id('bob'))), 5::bigint $$,
  'Bob adds 🎉: two emojis in the summary, change_seq 5.');
select is(tests.affected_rows($$ delete from public.message_reactions where user_id = tests.get_user_id('alice') $$), 0,
          'Bob''s delete of Alice''s reaction touches no row.');
select throws_ok(
  $$ insert into public.message_reactions (message_id, emoji, user_id) values (tests.id('hello'), '😀', tests.get_user_id('alice')) $$,
  '42501', 'permission denied for table message_reactions', 'Bob cannot react in Alice''s name.');
select results_eq(
  $$ select reactions from public.remove_reaction(tests.id('hello'), '🎉') $$,
  $$ select jsonb_build_object('👍', jsonb_build_array(tests.get_user_id('alice'), tests.get_user_id('bob'))) $$,
  'Bob removes 🎉: it leaves the summary.');
insert into public.message_reactions (message_id, emoji) values (tests.id('bye'), '👋');
select is((select reactions from public.messages where id = tests.id('bye')),
          jsonb_build_object('👋', jsonb_build_array(tests.get_user_id('bob'))),
          'A direct insert of a reaction updates the summary through the same triggers.');

-- limits and deleted messages
select tests.authenticate_as('alice');
select public.delete_message(tests.id('bye'));
select tests.throws_api_error($$ select public.add_reaction(tests.id('bye'), '😢') $$, 409, 'message_deleted',
                              'This message was deleted.', 'Nobody reacts to a deleted message.');
select tests.clear_authentication();
update private.rate_limit_rules set capacity = 100 where action = 'reaction';
select tests.authenticate_as('alice');
select lives_ok($$ select public.add_reaction(tests.id('hello'), 'r' || i) from generate_series(1, 19) i $$,
                'Alice adds 19 more kinds of reaction (20 in all).');
select tests.throws_api_error($$ select public.add_reaction(tests.id('hello'), 'one-too-many') $$, 409,
                              'too_many_reactions', 'A message can carry at most 20 different reactions.',
                              'A 21st kind of reaction is refused.');
select is((select count(*)::int from jsonb_object_keys((select reactions from public.messages where id = tests.id('hello')))), 20,
          'The message carries 20 kinds of reaction.');
select tests.authenticate_as('bob');
select lives_ok($$ select public.add_reaction(tests.id('hello'), 'r1') $$,
                'Bob may still join an existing kind when the message is full.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select is((select count(*)::int from public.message_reactions), 0, 'Mallory sees no reaction.');
select tests.throws_api_error($$ select public.add_reaction(tests.id('hello'), '💩') $$, 403, 'not_a_member',
                              'You are not a member of this message''s conversation.', 'Mallory cannot react.');
select tests.throws_api_error($$ select public.remove_reaction(tests.id('hello'), '👍') $$, 403, 'not_a_member',
                              'You are not a member of this message''s conversation.', 'Mallory cannot remove reactions.');
select throws_ok($$ insert into public.message_reactions (message_id, emoji) values (tests.id('hello'), '💩') $$,
                 '42501', 'new row violates row-level security policy for table "message_reactions"',
                 'Mallory''s direct insert is refused by the policy.');
select is(tests.affected_rows($$ delete from public.message_reactions $$), 0, 'Mallory''s delete touches no row.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select count(*) from public.message_reactions $$, '42501',
                 'permission denied for table message_reactions', 'Anon cannot read reactions.');
select throws_ok($$ select public.add_reaction(tests.id('hello'), '👍') $$, '42501',
                 'permission denied for function add_reaction', 'Anon cannot react.');
select throws_ok($$ select public.remove_reaction(tests.id('hello'), '👍') $$, '42501',
                 'permission denied for function remove_reaction', 'Anon cannot remove reactions.');

-- seen from the database
select tests.clear_authentication();
select is((select count(*)::int from public.message_reactions where message_id = tests.id('hello')), 22,
          'The message has 22 reaction rows: Alice''s 20 kinds plus Bob''s 👍 and r1.');
delete from auth.users where id = tests.get_user_id('bob');
select is((select reactions -> '👍' from public.messages where id = tests.id('hello')),
          jsonb_build_array(tests.get_user_id('alice')),
          'When Bob''s account is deleted, his reactions leave the summary.');

select * from finish();
rollback;
