-- Conversations: direct conversations once per pair, groups, who sees them.
begin;
select plan(38);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');
select tests.create_user('mallory');

-- as alice (member)
select tests.authenticate_as('alice');

select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select results_eq(
  $$ select kind, title, member_count, direct_key from public.conversations where id = tests.id('dm') $$,
  $$ select 'direct'::text, null::text, 2,
            least(tests.get_user_id('alice'), tests.get_user_id('bob'))::text || ':' ||
            greatest(tests.get_user_id('alice'), tests.get_user_id('bob'))::text $$,
  'Alice opens a direct conversation with Bob: two members, no title, keyed by the sorted pair.');
select results_eq(
  $$ select user_id, role from public.conversation_members where conversation_id = tests.id('dm') order by role, user_id $$,
  $$ select u, 'member'::text from unnest(array[tests.get_user_id('alice'), tests.get_user_id('bob')]) u order by u $$,
  'Both are members of the direct conversation.');
select is((select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))), tests.id('dm'),
          'Opening it again returns the same conversation.');

select tests.remember('team',
  (select id from public.create_group_conversation('  Team  ',
     array[tests.get_user_id('bob'), tests.get_user_id('carol'), tests.get_user_id('bob'), tests.get_user_id('alice')])));
select results_eq(
  $$ select kind, title, member_count, direct_key, created_by from public.conversations where id = tests.id('team') $$,
  $$ values ('group'::text, 'Team'::text, 3, null::text, tests.get_user_id('alice')) $$,
  'Alice creates a group: trimmed title, three members, no direct key.');
select results_eq(
  $$ select user_id, role from public.conversation_members where conversation_id = tests.id('team') order by user_id $$,
  $$ select u, case when u = tests.get_user_id('alice') then 'owner' else 'member' end
       from unnest(array[tests.get_user_id('alice'), tests.get_user_id('bob'), tests.get_user_id('carol')]) u order by u $$,
  'Alice owns the group; duplicates and her own id in member_ids are ignored.');
select is((select member_count from public.create_group_conversation('Notes', '{}')), 1,
          'A group may start with its owner alone.');
select is((select count(*)::int from public.conversations), 3, 'Alice sees her three conversations.');
select is((select count(*)::int from public.conversation_members where conversation_id = tests.id('team')), 3,
          'Alice sees every member of her group.');

-- bad input: clear errors, nothing written
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(null) $$, 400, 'invalid_argument',
                              'other_user_id is required.', 'A null other_user_id is refused.');
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(tests.get_user_id('alice')) $$, 400,
                              'invalid_argument', 'You cannot start a direct conversation with yourself.',
                              'A direct conversation with oneself is refused.');
select tests.throws_api_error($$ select public.get_or_create_direct_conversation(gen_random_uuid()) $$, 404,
                              'user_not_found', 'There is no user with this id.', 'An unknown user is refused with 404.');
select tests.throws_api_error($$ select public.create_group_conversation(null, '{}') $$, 400, 'invalid_title',
                              'The title must have 1 to 100 characters.', 'A null title is refused.');
select tests.throws_api_error($$ select public.create_group_conversation('   ', '{}') $$, 400, 'invalid_title',
                              'The title must have 1 to 100 characters.', 'A blank title is refused.');
select tests.throws_api_error($$ select public.create_group_conversation(repeat('t', 101), '{}') $$, 400,
                              'invalid_title', 'The title must have 1 to 100 characters.', 'A 101-character title is refused.');
select tests.throws_api_error($$ select public.create_group_conversation('Team', null) $$, 400, 'invalid_argument',
                              'member_ids is required.', 'A null member_ids is refused.');
select tests.throws_api_error($$ select public.create_group_conversation('Team', array[null::uuid]) $$, 400,
                              'invalid_argument', 'member_ids must not contain null.', 'A null member id is refused.');
select tests.throws_api_error($$ select public.create_group_conversation('Team', array[tests.get_user_id('bob'), gen_random_uuid()]) $$,
                              404, 'user_not_found', 'There is no user with this id.', 'An unknown member id is refused with 404.');
select tests.throws_api_error(
  $$ select public.create_group_conversation('Crowd', array(select gen_random_uuid() from generate_series(1, 101))) $$,
  400, 'too_many_members', 'Name at most 100 users per call.', 'More than 100 member ids per call are refused.');
select is((select details from (select tests.error_of($$ select public.create_group_conversation('Team',
             array['00000000-0000-4000-8000-00000000000b'::uuid, '00000000-0000-4000-8000-00000000000a'::uuid]) $$)
             -> 'details' as details) e),
          '{"user_ids": ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"]}'::jsonb,
          'The 404 lists the unknown user ids in details.');

-- as bob (the other member)
select tests.authenticate_as('bob');
select is((select id from public.get_or_create_direct_conversation(tests.get_user_id('alice'))), tests.id('dm'),
          'Bob opening the conversation with Alice gets the same one.');
select is((select count(*)::int from public.conversations), 2, 'Bob sees the direct conversation and the group.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select is((select count(*)::int from public.conversations), 0, 'Mallory sees no conversation.');
select is((select count(*)::int from public.conversation_members), 0, 'Mallory sees no membership.');
select is((select count(*)::int from public.conversations where id = tests.id('team')), 0,
          'Mallory does not see the group even by id.');
select throws_ok($$ insert into public.conversations (kind, title) values ('group', 'Mine') $$,
                 '42501', 'permission denied for table conversations', 'Mallory cannot insert conversations.');
select throws_ok($$ update public.conversations set title = 'Pwned' where id = tests.id('team') $$,
                 '42501', 'permission denied for table conversations', 'Mallory cannot update conversations.');
select throws_ok($$ delete from public.conversations where id = tests.id('team') $$,
                 '42501', 'permission denied for table conversations', 'Mallory cannot delete conversations.');
select throws_ok(
  $$ insert into public.conversation_members (conversation_id, user_id) values (tests.id('team'), tests.get_user_id('mallory')) $$,
  '42501', 'permission denied for table conversation_members', 'Mallory cannot add herself to the group.');
select isnt((select id from public.get_or_create_direct_conversation(tests.get_user_id('alice'))), tests.id('dm'),
            'Mallory opening a conversation with Alice gets a conversation of her own.');
select is((select count(*)::int from public.conversations), 1, 'Mallory now sees that one conversation only.');

-- as alice again: still nothing changed by the others
select tests.authenticate_as('alice');
select results_eq($$ select title, member_count from public.conversations where id = tests.id('team') $$,
                  $$ values ('Team'::text, 3) $$, 'The group is unchanged.');
select throws_ok($$ update public.conversations set title = 'Renamed' where id = tests.id('team') $$,
                 '42501', 'permission denied for table conversations',
                 'Even its owner cannot update a conversation row directly.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select count(*) from public.conversations $$, '42501', 'permission denied for table conversations',
                 'Anon cannot read conversations.');
select throws_ok($$ select count(*) from public.conversation_members $$, '42501',
                 'permission denied for table conversation_members', 'Anon cannot read memberships.');
select throws_ok($$ select public.get_or_create_direct_conversation(tests.get_user_id('alice')) $$, '42501',
                 'permission denied for function get_or_create_direct_conversation', 'Anon cannot open conversations.');
select throws_ok($$ select public.create_group_conversation('Anon', '{}') $$, '42501',
                 'permission denied for function create_group_conversation', 'Anon cannot create groups.');

-- the database itself keeps one direct conversation per pair
select tests.clear_authentication();
select throws_ok(
  $$ insert into public.conversations (kind, direct_key)
     select 'direct', direct_key from public.conversations where id = tests.id('dm') $$,
  '23505', null, 'A second direct conversation for the same pair violates the unique direct_key.');
select is((select count(*)::int from public.conversations), 4,
          'In all: the direct conversation, the group, Alice''s notes and Mallory''s conversation.');

select * from finish();
rollback;
