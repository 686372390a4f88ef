-- search_messages: full text over what the caller may read, newest first.
begin;
select plan(22);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');

select tests.authenticate_as('mallory');
select tests.remember('lair', (select id from public.create_group_conversation('Lair', '{}')));
select public.send_message(tests.id('lair'), 'm1', 'the fox secret');

select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select tests.remember('quick', (public.send_message(tests.id('team'), 'c1', 'The quick brown fox') -> 'message' ->> 'id')::uuid);
select tests.remember('lazy', (public.send_message(tests.id('team'), 'c2', 'lazy dog sleeps') -> 'message' ->> 'id')::uuid);
select tests.remember('hunt', (public.send_message(tests.id('team'), 'c3', 'Fox hunting, anyone?') -> 'message' ->> 'id')::uuid);
select tests.authenticate_as('bob');
select tests.remember('in_dm', (public.send_message(tests.id('dm'), 'b1', 'a fox in our chat') -> 'message' ->> 'id')::uuid);

-- as alice (member of the group and the direct conversation)
select tests.authenticate_as('alice');
select results_eq($$ select id from public.search_messages('fox') $$,
                  $$ values (tests.id('in_dm')), (tests.id('hunt')), (tests.id('quick')) $$,
                  'Alice finds the three fox messages she may read, newest first, not Mallory''s.');
select results_eq($$ select id from public.search_messages('FOX') $$,
                  $$ values (tests.id('in_dm')), (tests.id('hunt')), (tests.id('quick')) $$, 'The search ignores case.');
select results_eq($$ select id from public.search_messages('fox', tests.id('team')) $$,
                  $$ values (tests.id('hunt')), (tests.id('quick')) $$, 'Searching one conversation stays in it.');
select results_eq($$ select id from public.search_messages('"quick brown"') $$, $$ values (tests.id('quick')) $$,
                  'A quoted phrase matches the phrase.');
select results_eq($$ select id from public.search_messages('fox -quick') $$,
                  $$ values (tests.id('in_dm')), (tests.id('hunt')) $$, 'A minus excludes a word.');
select results_eq($$ select id from public.search_messages('dog or hunting') $$,
                  $$ values (tests.id('hunt')), (tests.id('lazy')) $$, 'or matches either word.');
select results_eq($$ select id from public.search_messages('fox', max_rows => 1) $$, $$ values (tests.id('in_dm')) $$,
                  'max_rows keeps the newest matches.');
select is_empty($$ select * from public.search_messages('!!!') $$, 'A query without words finds nothing.');
select is_empty($$ select * from public.search_messages('secret') $$, 'Mallory''s message stays out of Alice''s results.');
select public.delete_message(tests.id('hunt'));
select results_eq($$ select id from public.search_messages('fox') $$,
                  $$ values (tests.id('in_dm')), (tests.id('quick')) $$, 'A deleted message is no longer found.');

-- bad input
select tests.throws_api_error($$ select * from public.search_messages(null) $$, 400, 'invalid_query',
                              'query must have 1 to 200 characters.', 'A null query is refused.');
select tests.throws_api_error($$ select * from public.search_messages('  ') $$, 400, 'invalid_query',
                              'query must have 1 to 200 characters.', 'A blank query is refused.');
select tests.throws_api_error($$ select * from public.search_messages(repeat('a', 201)) $$, 400, 'invalid_query',
                              'query must have 1 to 200 characters.', 'A 201-character query is refused.');
select tests.throws_api_error($$ select * from public.search_messages('fox', max_rows => 51) $$, 400, 'invalid_argument',
                              'max_rows must be between 1 and 50.', 'max_rows over 50 is refused.');
select tests.throws_api_error($$ select * from public.search_messages('fox', tests.id('lair')) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.',
                              'Searching a conversation Alice is not in is refused.');
select tests.throws_api_error($$ select * from public.search_messages('fox', gen_random_uuid()) $$, 404,
                              'conversation_not_found', 'There is no conversation with this id.',
                              'Searching an unknown conversation is a 404.');

-- as bob
select tests.authenticate_as('bob');
select results_eq($$ select id from public.search_messages('fox') $$,
                  $$ values (tests.id('in_dm')), (tests.id('quick')) $$, 'Bob finds the same messages Alice can see.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select results_eq($$ select body from public.search_messages('fox') $$, $$ values ('the fox secret'::text) $$,
                  'Mallory finds only her own conversation''s message.');
select tests.throws_api_error($$ select * from public.search_messages('fox', tests.id('team')) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot search the group.');
select is_empty($$ select * from private.search_messages(to_tsquery('simple', 'fox'), tests.id('team'), 50) $$,
                'Even calling the private search directly, Mallory gets nothing from the group.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select * from public.search_messages('fox') $$, '42501', 'permission denied for function search_messages',
                 'Anon cannot search.');

select tests.clear_authentication();
select is((select count(*)::int from public.messages), 5, 'Searching wrote nothing.');

select * from finish();
rollback;
