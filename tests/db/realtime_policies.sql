-- Realtime authorization: RLS on realtime.messages, probed the way the Realtime server
-- does it (probe rows inserted by the server, then role, claims and realtime.topic set,
-- then SELECT for receiving and INSERT for sending).
begin;
select plan(26);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');
select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.clear_authentication();

-- the server's probe rows, one per topic kind and extension
insert into realtime.messages (id, topic, extension, event, payload, private) values
  ('00000000-0000-4000-8000-0000000000c1', 'conversation:' || tests.id('team'), 'broadcast', 'probe', '{}', true),
  ('00000000-0000-4000-8000-0000000000c2', 'conversation:' || tests.id('team'), 'presence', 'probe', '{}', true),
  ('00000000-0000-4000-8000-0000000000a1', 'user:' || tests.get_user_id('alice'), 'broadcast', 'probe', '{}', true),
  ('00000000-0000-4000-8000-0000000000b1', 'user:' || tests.get_user_id('bob'), 'broadcast', 'probe', '{}', true),
  ('00000000-0000-4000-8000-0000000000f1', 'room:lobby', 'broadcast', 'probe', '{}', true);

-- as alice (member) on conversation:<team>
select tests.authenticate_as('alice');
select set_config('realtime.topic', 'conversation:' || tests.id('team'), true);
select is((select count(*)::int from realtime.messages
            where id in ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c2')), 2,
          'Alice, a member, may receive broadcast and presence on the conversation''s topic.');
select is((select count(*)::int from realtime.messages where id = '00000000-0000-4000-8000-0000000000a1'), 0,
          'While authorizing the conversation topic, rows of other topics stay hidden.');
select lives_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                   values (realtime.topic(), 'broadcast', 'typing', '{"typing": true}', true) $$,
                'Alice, a member, may broadcast on the conversation''s topic.');
select lives_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                   values (realtime.topic(), 'presence', 'presence', '{}', true) $$,
                'Alice, a member, may track presence on the conversation''s topic.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'postgres_changes', 'x', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Only the broadcast and presence extensions may be written.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values ('user:' || tests.get_user_id('bob'), 'broadcast', 'x', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'A row for another topic than the one being authorized is refused.');

-- as alice on user:<alice> and user:<bob>
select set_config('realtime.topic', 'user:' || tests.get_user_id('alice'), true);
select is((select count(*)::int from realtime.messages where id = '00000000-0000-4000-8000-0000000000a1'), 1,
          'Alice may receive on her own user topic.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'broadcast', 'inbox.updated', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Alice may not send on her own user topic (only the server writes there).');
select set_config('realtime.topic', 'user:' || tests.get_user_id('bob'), true);
select is((select count(*)::int from realtime.messages where id = '00000000-0000-4000-8000-0000000000b1'), 0,
          'Alice may not receive on Bob''s user topic.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'broadcast', 'inbox.updated', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Alice may not send on Bob''s user topic.');

-- as alice on other topics
select set_config('realtime.topic', 'room:lobby', true);
select is((select count(*)::int from realtime.messages where id = '00000000-0000-4000-8000-0000000000f1'), 0,
          'A topic of another kind is closed to everyone.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'broadcast', 'x', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Nobody may send on a topic of another kind.');
select set_config('realtime.topic', 'conversation:not-a-uuid', true);
select is((select count(*)::int from realtime.messages), 0, 'A malformed conversation topic is a denial, not an error.');
select set_config('realtime.topic', 'conversation:' || gen_random_uuid(), true);
select is((select count(*)::int from realtime.messages), 0, 'An unknown conversation''s topic is denied.');
select set_config('realtime.topic', '', true);
select is((select count(*)::int from realtime.messages), 0, 'Without a topic being authorized, nothing is readable.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select set_config('realtime.topic', 'conversation:' || tests.id('team'), true);
select is((select count(*)::int from realtime.messages), 0, 'Mallory may not receive on the conversation''s topic.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'broadcast', 'typing', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Mallory may not broadcast on the conversation''s topic.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'presence', 'presence', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Mallory may not track presence on the conversation''s topic.');
select set_config('realtime.topic', 'user:' || tests.get_user_id('alice'), true);
select is((select count(*)::int from realtime.messages), 0, 'Mallory may not receive on Alice''s user topic.');

-- as anon
select tests.authenticate_as_anon();
select set_config('realtime.topic', 'conversation:' || tests.id('team'), true);
select is((select count(*)::int from realtime.messages), 0, 'Anon may not receive on a conversation topic.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'broadcast', 'typing', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Anon may not broadcast on a conversation topic.');
select set_config('realtime.topic', 'user:' || tests.get_user_id('alice'), true);
select is((select count(*)::int from realtime.messages), 0, 'Anon may not receive on a user topic.');

-- membership changes take effect at once
select tests.authenticate_as('bob');
select set_config('realtime.topic', 'conversation:' || tests.id('team'), true);
select is((select count(*)::int from realtime.messages where id = '00000000-0000-4000-8000-0000000000c1'), 1,
          'Bob, a member, may receive on the conversation''s topic.');
select tests.authenticate_as('alice');
select public.remove_conversation_member(tests.id('team'), tests.get_user_id('bob'));
select tests.authenticate_as('bob');
select set_config('realtime.topic', 'conversation:' || tests.id('team'), true);
select is((select count(*)::int from realtime.messages where id = '00000000-0000-4000-8000-0000000000c1'), 0,
          'Once removed, Bob may no longer receive on it.');
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values (realtime.topic(), 'broadcast', 'typing', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Once removed, Bob may no longer broadcast on it.');

select tests.clear_authentication();
select is((select count(*)::int from realtime.messages
            where topic = 'conversation:' || tests.id('team') and event in ('typing', 'presence')), 2,
          'Only Alice''s two authorized writes were stored.');

select * from finish();
rollback;
