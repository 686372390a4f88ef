-- Profiles: created at sign-up, readable by signed-in users, editable only by their owner.
begin;
select plan(39);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('bobby');

-- sign-up creates the profile
select is((select display_name from public.profiles where id = tests.get_user_id('alice')), 'alice',
          'Sign-up creates a profile named after user_metadata.display_name.');
insert into auth.users (id, email, raw_user_meta_data)
values ('a0000000-0000-4000-8000-000000000001', 'zoe.smith@example.test', '{}');
select is((select display_name from public.profiles where id = 'a0000000-0000-4000-8000-000000000001'), 'User a00000',
          'Without a display name the profile is named "User" and the start of its id, never after the email.');
insert into auth.users (id, email, raw_user_meta_data, is_anonymous)
values ('a0000000-0000-4000-8000-000000000002', null, '{}', true);
select is((select display_name from public.profiles where id = 'a0000000-0000-4000-8000-000000000002'), 'User a00000',
          'An anonymous user without a display name is named the same way.');
insert into auth.users (id, email, raw_user_meta_data)
values ('a0000000-0000-4000-8000-000000000003', 'long@example.test', jsonb_build_object('display_name', repeat('n', 100)));
select is((select char_length(display_name) from public.profiles where id = 'a0000000-0000-4000-8000-000000000003'), 64,
          'A display name longer than 64 characters is cut to 64.');
delete from auth.users where id = 'a0000000-0000-4000-8000-000000000003';
select is((select count(*)::int from public.profiles where id = 'a0000000-0000-4000-8000-000000000003'), 0,
          'Deleting the user deletes their profile.');

-- as alice (signed in)
select tests.authenticate_as('alice');
select is((select count(*)::int from public.profiles where id = tests.get_user_id('bob')), 1,
          'Alice can read Bob''s profile.');
select is((select display_name from public.update_profile('Alice Liddell')), 'Alice Liddell',
          'Alice renames herself with update_profile.');
select is((select avatar_url from public.update_profile(avatar_url => 'https://img.example.test/alice.png')),
          'https://img.example.test/alice.png', 'Alice sets her avatar; her display name stays.');
select is((select display_name from public.profiles where id = tests.get_user_id('alice')), 'Alice Liddell',
          'Setting the avatar alone kept the display name.');
select is((select avatar_url from public.update_profile(avatar_url => '')), null,
          'An empty avatar_url removes the avatar.');
update public.profiles set display_name = 'Ally' where id = tests.get_user_id('alice');
select is((select display_name from public.profiles where id = tests.get_user_id('alice')), 'Ally',
          'Alice may also update her own row directly.');
select is(
  tests.affected_rows($$ update public.profiles set display_name = 'Hacked' where id = tests.get_user_id('bob') $$), 0,
  'Alice''s update of Bob''s profile touches no row.');
select throws_ok($$ insert into public.profiles (id, display_name) values (gen_random_uuid(), 'Fake') $$,
                 '42501', 'permission denied for table profiles', 'Alice cannot insert profiles.');
select throws_ok($$ delete from public.profiles where id = tests.get_user_id('alice') $$,
                 '42501', 'permission denied for table profiles', 'Alice cannot delete profiles.');
select throws_ok($$ update public.profiles set created_at = now() where id = tests.get_user_id('alice') $$,
                 '42501', 'permission denied for table profiles', 'Alice cannot change other columns of her profile.');

-- bad input
select tests.throws_api_error($$ select public.update_profile() $$, 400, 'invalid_argument',
                              'Give display_name, avatar_url or both.', 'update_profile needs at least one value.');
select tests.throws_api_error($$ select public.update_profile('   ') $$, 400, 'invalid_display_name',
                              'The display name must have 1 to 64 characters.', 'A blank display name is refused.');
select tests.throws_api_error($$ select public.update_profile(repeat('x', 65)) $$, 400, 'invalid_display_name',
                              'The display name must have 1 to 64 characters.', 'A 65-character display name is refused.');
select tests.throws_api_error($$ select public.update_profile(avatar_url => 'javascript:alert(1)') $$, 400,
                              'invalid_avatar_url', 'The avatar URL must be an http(s) URL of at most 2048 characters.',
                              'An avatar URL that is not http(s) is refused.');
select is((select display_name from public.profiles where id = tests.get_user_id('alice')), 'Ally',
          'The refused updates wrote nothing.');

-- search_profiles
select results_eq(
  $$ select display_name from public.search_profiles('bob') $$,
  $$ values ('bob'), ('bobby') $$,
  'Searching "bob" finds bob (exact match first) and bobby.');
select is((select count(*)::int from public.search_profiles('ALL')), 0,
          'Alice does not find herself.');
select results_eq($$ select display_name from public.search_profiles('BOBB') $$, $$ values ('bobby') $$,
                  'The search ignores case.');
select is((select count(*)::int from public.search_profiles('%')), 0,
          'Wildcards in the query are matched literally.');
select is((select count(*)::int from public.search_profiles('o', max_rows => 1)), 1, 'max_rows caps the results.');
select results_eq($$ select id from public.search_profiles('Bob@Example.Test') $$,
                  $$ values (tests.get_user_id('bob')) $$,
                  'An exact email address (in any case) finds its user.');
select is((select count(*)::int from public.search_profiles('bob@example')), 0,
          'Part of an email address finds nobody.');
select is((select count(*)::int from public.search_profiles('@example.test')), 0,
          'Nor does the domain alone.');
select is((select count(*)::int from public.search_profiles('zoe.smith')), 0,
          'An email''s local part is not a name: the user named after their id is not found by it.');
select is((select count(*)::int from public.search_profiles('alice@example.test')), 0,
          'Searching for one''s own address finds nobody.');
select tests.throws_api_error($$ select public.search_profiles(null) $$, 400, 'invalid_query',
                              'query must have 1 to 100 characters.', 'search_profiles refuses a null query.');
select tests.throws_api_error($$ select public.search_profiles('  ') $$, 400, 'invalid_query',
                              'query must have 1 to 100 characters.', 'search_profiles refuses a blank query.');
select tests.throws_api_error($$ select public.search_profiles('bob', 0) $$, 400, 'invalid_argument',
                              'max_rows must be between 1 and 50.', 'search_profiles refuses max_rows 0.');
select tests.throws_api_error($$ select public.search_profiles('bob', 51) $$, 400, 'invalid_argument',
                              'max_rows must be between 1 and 50.', 'search_profiles refuses max_rows over 50.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select count(*) from public.profiles $$, '42501', 'permission denied for table profiles',
                 'Anon cannot read profiles.');
select throws_ok($$ select public.search_profiles('bob') $$, '42501', 'permission denied for function search_profiles',
                 'Anon cannot search profiles.');
select throws_ok($$ select public.update_profile('Anon') $$, '42501', 'permission denied for function update_profile',
                 'Anon cannot update a profile.');
select throws_ok($$ update public.profiles set display_name = 'Anon' $$, '42501', 'permission denied for table profiles',
                 'Anon cannot update profiles directly either.');

select tests.clear_authentication();
select is((select display_name from public.profiles where id = tests.get_user_id('bob')), 'bob',
          'Bob''s profile is unchanged.');

select * from finish();
rollback;
