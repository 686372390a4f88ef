-- Realtime authorization: RLS on realtime.messages, probed the way the Realtime server
-- does it (probe rows inserted by the server, then role, claims and realtime.topic set,
-- then SELECT for receiving and INSERT for sending). Contract v2: server events on
-- conversation:<id>:<epoch> (members read, nobody writes), typing and presence on
-- live:<id>:<epoch> (members read and write), user:<id> (its user reads, nobody writes);
-- only the current epoch admits anyone.
begin;
select plan(41);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('mallory');
select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select tests.clear_authentication();

-- The server's probe rows (broadcast and presence) for a topic, and whether the current
-- caller may read them, as the Realtime server checks a join.
create function pg_temp.probe(topic text)
returns integer
language plpgsql
as $$
declare
  visible integer;
begin
  perform set_config('realtime.topic', topic, true);
  select count(*)::integer into visible from realtime.messages m
   where m.topic = probe.topic and m.event = 'probe';
  return visible;
end
$$;

-- Whether the current caller may write `extension` rows on `topic` (the lazy write check).
create function pg_temp.may_write(topic text, extension text)
returns boolean
language plpgsql
as $$
begin
  perform set_config('realtime.topic', topic, true);
  insert into realtime.messages (topic, extension, event, payload, private)
  values (topic, extension, 'write-check', '{}', true);
  return true;
exception when insufficient_privilege then
  return false;
end
$$;

create function pg_temp.add_probes(topic text)
returns void
language sql
as $$
  insert into realtime.messages (topic, extension, event, payload, private)
  values (topic, 'broadcast', 'probe', '{}', true), (topic, 'presence', 'probe', '{}', true)
$$;

select pg_temp.add_probes(t) from (values
  (tests.topic('team')), (tests.live_topic('team')), (tests.topic('dm')), (tests.live_topic('dm')),
  ('user:' || tests.get_user_id('alice')), ('user:' || tests.get_user_id('bob')), ('room:lobby'),
  ('conversation:' || tests.id('team')), ('conversation:' || tests.id('team') || ':3')) as topics (t);

-- as alice (member)
select tests.authenticate_as('alice');
select is(pg_temp.probe(tests.topic('team')), 2,
          'Alice, a member, may receive broadcast and presence on the conversation''s server topic.');
select is(pg_temp.probe(tests.live_topic('team')), 2, 'Alice may receive on the conversation''s live topic.');
select is(pg_temp.may_write(tests.topic('team'), 'broadcast'), false,
          'Nobody may broadcast on a server topic, not even a member: its events cannot be forged.');
select is(pg_temp.may_write(tests.topic('team'), 'presence'), false, 'Nobody may track presence on a server topic.');
select is(pg_temp.may_write(tests.live_topic('team'), 'broadcast'), true, 'Alice may broadcast (typing) on the live topic.');
select is(pg_temp.may_write(tests.live_topic('team'), 'presence'), true, 'Alice may track presence on the live topic.');
select is(pg_temp.may_write(tests.live_topic('team'), 'postgres_changes'), false,
          'Only the broadcast and presence extensions may be written.');
select set_config('realtime.topic', tests.live_topic('team'), true);
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values ('user:' || tests.get_user_id('bob'), 'broadcast', 'x', '{}', true) $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'A row for another topic than the one being authorized is refused.');
select set_config('realtime.topic', tests.topic('team'), true);
select is((select count(*)::int from realtime.messages where topic = 'user:' || tests.get_user_id('alice')), 0,
          'While authorizing the conversation topic, rows of other topics stay hidden.');
select is(pg_temp.probe('user:' || tests.get_user_id('alice')), 2, 'Alice may receive on her own user topic.');
select is(pg_temp.may_write('user:' || tests.get_user_id('alice'), 'broadcast'), false,
          'Alice may not send on her own user topic (only the server writes there).');
select is(pg_temp.probe('user:' || tests.get_user_id('bob')), 0, 'Alice may not receive on Bob''s user topic.');
select is(pg_temp.may_write('user:' || tests.get_user_id('bob'), 'broadcast'), false,
          'Alice may not send on Bob''s user topic.');

-- as alice on topics that are not current or not well formed
select is(pg_temp.probe('conversation:' || tests.id('team')), 0,
          'The v1 topic without an epoch admits nobody.');
select is(pg_temp.probe('conversation:' || tests.id('team') || ':3'), 0, 'A future epoch admits nobody.');
select is(pg_temp.probe('room:lobby'), 0, 'A topic of another kind is closed to everyone.');
select is(pg_temp.may_write('room:lobby', 'broadcast'), false, 'Nobody may send on a topic of another kind.');
select is(pg_temp.probe('conversation:not-a-uuid:1'), 0, 'A malformed conversation topic is a denial, not an error.');
select is(pg_temp.probe('live:' || tests.id('team') || ':99999999999999999999'), 0,
          'An epoch too large for an integer is a denial, not an error.');
select is(pg_temp.probe('conversation:' || gen_random_uuid() || ':1'), 0, 'An unknown conversation''s topic is denied.');
select set_config('realtime.topic', '', true);
select is((select count(*)::int from realtime.messages), 0, 'Without a topic being authorized, nothing is readable.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select is(pg_temp.probe(tests.topic('team')), 0, 'Mallory may not receive on the conversation''s server topic.');
select is(pg_temp.probe(tests.live_topic('team')), 0, 'Mallory may not receive on its live topic.');
select is(pg_temp.may_write(tests.live_topic('team'), 'broadcast'), false, 'Mallory may not broadcast on its live topic.');
select is(pg_temp.may_write(tests.live_topic('team'), 'presence'), false,
          'Mallory may not track presence on its live topic.');
select is(pg_temp.probe('user:' || tests.get_user_id('alice')), 0, 'Mallory may not receive on Alice''s user topic.');

-- as anon
select tests.authenticate_as_anon();
select is(pg_temp.probe(tests.topic('team')), 0, 'Anon may not receive on a conversation topic.');
select is(pg_temp.may_write(tests.live_topic('team'), 'broadcast'), false, 'Anon may not broadcast on a live topic.');
select is(pg_temp.probe('user:' || tests.get_user_id('alice')), 0, 'Anon may not receive on a user topic.');

-- a blocked direct conversation: still readable, but nobody types into it
select tests.authenticate_as('bob');
select public.block_user(tests.get_user_id('alice'));
select tests.authenticate_as('alice');
select is(pg_temp.probe(tests.live_topic('dm')), 2, 'In a blocked direct conversation Alice still receives.');
select is(pg_temp.may_write(tests.live_topic('dm'), 'broadcast'), false,
          'In a blocked direct conversation Alice may not broadcast (typing).');

-- removal moves the epoch on: the removed member is out of every topic, the others move
create temporary table old_topics as select tests.topic('team') as topic, tests.live_topic('team') as live_topic;
grant select on old_topics to authenticated;
select tests.authenticate_as('alice');
select public.remove_conversation_member(tests.id('team'), tests.get_user_id('bob'));
select is(tests.topic('team'), 'conversation:' || tests.id('team') || ':2', 'Removing Bob moved the topic to epoch 2.');
select is(tests.live_topic('team'), 'live:' || tests.id('team') || ':2', 'The live topic moved with it.');
select tests.clear_authentication();
select pg_temp.add_probes(t) from (values (tests.topic('team')), (tests.live_topic('team'))) as topics (t);
select tests.authenticate_as('alice');
select is(pg_temp.probe(tests.topic('team')), 2, 'Alice, still a member, may receive on the new server topic.');
select is(pg_temp.probe((select topic from old_topics)), 0, 'Nobody is admitted to the old server topic any more.');
select is(pg_temp.may_write(tests.live_topic('team'), 'broadcast'), true, 'Alice may type on the new live topic.');
select tests.authenticate_as('bob');
select is(pg_temp.probe(tests.topic('team')), 0, 'Bob, removed, may not receive on the new server topic.');
select is(pg_temp.probe((select topic from old_topics)), 0, 'Nor rejoin the old one.');
select is(pg_temp.may_write((select live_topic from old_topics), 'broadcast'), false,
          'Nor broadcast on the old live topic once his permission is checked again.');
select is(pg_temp.may_write(tests.live_topic('team'), 'presence'), false, 'Nor track presence on the new live topic.');

select tests.clear_authentication();
select is((select count(*)::int from realtime.messages where event = 'write-check'), 3,
          'Only Alice''s three authorized writes were stored.');

select * from finish();
rollback;
