-- Members: adding, removing, roles, leaving, and who may touch membership rows.
begin;
select plan(53);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');
select tests.create_user('dave');
select tests.create_user('erin');
select tests.create_user('mallory');

-- as alice (owner)
select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team',
  array[tests.get_user_id('bob'), tests.get_user_id('carol')])));
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select public.send_message(tests.id('team'), 'm1', 'one');
select public.send_message(tests.id('team'), 'm2', 'two');

select results_eq(
  $$ select user_id, role, last_read_seq, last_delivered_seq
       from public.add_conversation_members(tests.id('team'), array[tests.get_user_id('dave'), tests.get_user_id('bob')]) $$,
  $$ values (tests.get_user_id('dave'), 'member'::text, 2::bigint, 2::bigint) $$,
  'Alice adds Dave (Bob is already in): Dave joins as a member with the history already read.');
select is((select member_count from public.conversations where id = tests.id('team')), 4, 'The group now has four members.');
select is_empty($$ select * from public.add_conversation_members(tests.id('team'), array[tests.get_user_id('dave')]) $$,
                'Adding someone who is already a member adds nothing.');
select results_eq(
  $$ select user_id, role from public.set_member_role(tests.id('team'), tests.get_user_id('bob'), 'admin') $$,
  $$ values (tests.get_user_id('bob'), 'admin'::text) $$,
  'Alice makes Bob an admin.');

-- bad input and refused changes (nothing written)
select tests.throws_api_error($$ select public.add_conversation_members(null, array[tests.get_user_id('erin')]) $$, 400,
                              'invalid_argument', 'conversation_id is required.', 'add_conversation_members needs a conversation.');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('team'), null) $$, 400,
                              'invalid_argument', 'user_ids is required.', 'add_conversation_members needs user ids.');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('team'), array[null::uuid]) $$, 400,
                              'invalid_argument', 'user_ids must not contain null.', 'A null user id is refused.');
select tests.throws_api_error($$ select public.add_conversation_members(gen_random_uuid(), array[tests.get_user_id('erin')]) $$,
                              404, 'conversation_not_found', 'There is no conversation with this id.',
                              'Adding to an unknown conversation is a 404.');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('team'), array[gen_random_uuid()]) $$,
                              404, 'user_not_found', 'There is no user with this id.', 'Adding an unknown user is a 404.');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('dm'), array[tests.get_user_id('erin')]) $$,
                              403, 'not_allowed', 'Members cannot be added to a direct conversation.',
                              'Nobody can be added to a direct conversation.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('dm'), tests.get_user_id('bob')) $$,
                              403, 'not_allowed', 'Members cannot be removed from a direct conversation.',
                              'Nobody can be removed from a direct conversation.');
select tests.throws_api_error($$ select public.leave_conversation(tests.id('dm')) $$, 403, 'not_allowed',
                              'You cannot leave a direct conversation.', 'Nobody can leave a direct conversation.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('team'), null) $$, 400,
                              'invalid_argument', 'user_id is required.', 'remove_conversation_member needs a user.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('team'), tests.get_user_id('alice')) $$,
                              400, 'invalid_argument', 'To leave a conversation, call leave_conversation.',
                              'Removing oneself is refused.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('team'), tests.get_user_id('erin')) $$,
                              404, 'member_not_found', 'This user is not a member of the conversation.',
                              'Removing a non-member is a 404.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('team'), tests.get_user_id('bob'), 'owner') $$,
                              400, 'invalid_argument', 'role must be ''admin'' or ''member''.',
                              'Only admin and member can be given.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('team'), tests.get_user_id('alice'), 'member') $$,
                              400, 'invalid_argument', 'The owner''s own role cannot be changed.',
                              'The owner cannot demote themself.');
select tests.throws_api_error($$ select public.leave_conversation(null) $$, 400, 'invalid_argument',
                              'conversation_id is required.', 'leave_conversation needs a conversation.');
select tests.throws_api_error($$ select public.remove_conversation_member(null, tests.get_user_id('bob')) $$, 400,
                              'invalid_argument', 'conversation_id is required.',
                              'remove_conversation_member needs a conversation.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('team'), null, 'admin') $$, 400,
                              'invalid_argument', 'user_id is required.', 'set_member_role needs a user.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('team'), tests.get_user_id('bob'), null) $$, 400,
                              'invalid_argument', 'role must be ''admin'' or ''member''.', 'set_member_role needs a role.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('team'), tests.get_user_id('erin'), 'admin') $$, 404,
                              'member_not_found', 'This user is not a member of the conversation.',
                              'Giving a role to a non-member is a 404.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('dm'), tests.get_user_id('bob'), 'admin') $$, 403,
                              'not_allowed', 'A direct conversation has no roles.', 'A direct conversation has no roles.');
select is((select count(*)::int from public.conversation_members where conversation_id = tests.id('team')), 4,
          'The refused calls changed no membership.');

-- as bob (admin)
select tests.authenticate_as('bob');
select is((select count(*)::int from public.add_conversation_members(tests.id('team'), array[tests.get_user_id('erin')])), 1,
          'Bob, an admin, adds Erin.');
select lives_ok($$ select public.remove_conversation_member(tests.id('team'), tests.get_user_id('carol')) $$,
                'Bob, an admin, removes Carol, a member.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('team'), tests.get_user_id('alice')) $$,
                              403, 'not_allowed', 'Only the owner removes admins; the owner and admins remove members.',
                              'An admin cannot remove the owner.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('team'), tests.get_user_id('erin'), 'admin') $$,
                              403, 'not_allowed', 'Only the group''s owner can change roles.', 'An admin cannot grant roles.');

-- as dave (member)
select tests.authenticate_as('dave');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('team'), array[tests.get_user_id('mallory')]) $$,
                              403, 'not_allowed', 'Only the group''s owner and admins can add members.',
                              'A plain member cannot add members.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('team'), tests.get_user_id('erin')) $$,
                              403, 'not_allowed', 'Only the owner removes admins; the owner and admins remove members.',
                              'A plain member cannot remove members.');
update public.conversation_members set muted_until = '2030-01-01'
 where conversation_id = tests.id('team') and user_id = tests.get_user_id('dave');
select is((select muted_until from public.conversation_members
            where conversation_id = tests.id('team') and user_id = tests.get_user_id('dave')),
          '2030-01-01'::timestamptz, 'Dave mutes the group on his own membership row.');
select is(tests.affected_rows($$ update public.conversation_members set muted_until = '2030-01-01'
                                  where conversation_id = tests.id('team') and user_id = tests.get_user_id('erin') $$), 0,
          'Dave''s update of Erin''s membership touches no row.');
select throws_ok($$ update public.conversation_members set role = 'owner'
                     where conversation_id = tests.id('team') and user_id = tests.get_user_id('dave') $$,
                 '42501', 'permission denied for table conversation_members', 'Dave cannot change his role directly.');
select throws_ok($$ delete from public.conversation_members
                     where conversation_id = tests.id('team') and user_id = tests.get_user_id('erin') $$,
                 '42501', 'permission denied for table conversation_members', 'Dave cannot delete membership rows.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('team'), array[tests.get_user_id('mallory')]) $$,
                              403, 'not_a_member', 'You are not a member of this conversation.',
                              'Mallory cannot add herself to the group.');
select tests.throws_api_error($$ select public.remove_conversation_member(tests.id('team'), tests.get_user_id('dave')) $$,
                              403, 'not_a_member', 'You are not a member of this conversation.', 'Mallory cannot remove members.');
select tests.throws_api_error($$ select public.leave_conversation(tests.id('team')) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot leave a group she is not in.');
select tests.throws_api_error($$ select public.set_member_role(tests.id('team'), tests.get_user_id('dave'), 'admin') $$,
                              403, 'not_a_member', 'You are not a member of this conversation.', 'Mallory cannot set roles.');
select is(tests.affected_rows($$ update public.conversation_members set muted_until = now()
                                  where conversation_id = tests.id('team') $$), 0,
          'Mallory''s update of the group''s memberships touches no row.');
select is((select count(*)::int from public.conversation_members where conversation_id = tests.id('team')), 0,
          'Mallory sees none of the group''s members.');

-- as alice (owner) leaving
select tests.authenticate_as('alice');
select lives_ok($$ select public.leave_conversation(tests.id('team')) $$, 'Alice leaves her group.');
select is((select count(*)::int from public.conversations where id = tests.id('team')), 0,
          'Alice no longer sees the group.');
select is((select count(*)::int from public.messages where conversation_id = tests.id('team')), 0,
          'Alice no longer sees its messages.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'm3', 'still here?') $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Alice can no longer write to the group.');
select tests.remember('solo', (select id from public.create_group_conversation('Solo', '{}')));
select lives_ok($$ select public.leave_conversation(tests.id('solo')) $$, 'Alice leaves a group where she is alone.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select public.add_conversation_members(tests.id('team'), array[tests.get_user_id('erin')]) $$, '42501',
                 'permission denied for function add_conversation_members', 'Anon cannot add members.');
select throws_ok($$ select public.leave_conversation(tests.id('team')) $$, '42501',
                 'permission denied for function leave_conversation', 'Anon cannot leave conversations.');

-- the outcome, seen from the database
select tests.clear_authentication();
select results_eq(
  $$ select user_id, role from public.conversation_members where conversation_id = tests.id('team') order by user_id $$,
  $$ select u, case when u = tests.get_user_id('bob') then 'owner' else 'member' end
       from unnest(array[tests.get_user_id('bob'), tests.get_user_id('dave'), tests.get_user_id('erin')]) u order by u $$,
  'Ownership passed to Bob, the admin; Dave and Erin remain members.');
select is((select member_count from public.conversations where id = tests.id('team')), 3, 'The member count followed.');
select is((select count(*)::int from public.conversations where id = tests.id('solo')), 0,
          'The group whose last member left is deleted.');

-- a full group: at most max_group_members() members
insert into auth.users (id, email, raw_user_meta_data)
select gen_random_uuid(), 'crowd' || i || '@example.test', '{}' from generate_series(1, 997) i;
insert into public.conversation_members (conversation_id, user_id)
select tests.id('team'), u.id from auth.users u where u.email like 'crowd%';
select is((select member_count from public.conversations where id = tests.id('team')), 1000, 'The group is full.');
select tests.authenticate_as('bob');
select tests.throws_api_error($$ select public.add_conversation_members(tests.id('team'), array[tests.get_user_id('carol')]) $$,
                              400, 'too_many_members', 'A group has at most 1000 members.',
                              'A full group takes no more members.');
select tests.clear_authentication();
select is((select count(*)::int from public.conversation_members
            where conversation_id = tests.id('team') and user_id = tests.get_user_id('carol')), 0,
          'Carol was not added.');

select * from finish();
rollback;
