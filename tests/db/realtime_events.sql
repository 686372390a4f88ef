-- Realtime events: the rows every trigger writes to realtime.messages (topic, event,
-- private flag, payload), read back as postgres. They are sent in the writing
-- transaction, so they go out only if it commits.
begin;
select plan(42);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');

-- The rows of realtime.messages, as the tests read them (as postgres, who bypasses RLS).
create temporary view events as
  select m.topic, m.event, m.private, m.extension, m.payload, m.inserted_at, m.id
    from realtime.messages m;

-- conversation.added and member.changed (INSERT) when a group is created
select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.clear_authentication();
select is(tests.event_count('user:' || tests.get_user_id('bob'), 'conversation.added'), 1,
          'Bob gets one conversation.added on his user topic.');
select results_eq(
  $$ select private, extension, payload - 'id' - 'last_message_at' from events
      where topic = 'user:' || tests.get_user_id('bob') and event = 'conversation.added' $$,
  $$ select true, 'broadcast'::text, jsonb_build_object(
       'conversation_id', tests.id('team'), 'kind', 'group', 'title', 'Team', 'member_count', 2, 'role', 'member',
       'peer', null, 'last_seq', 0, 'last_change', 0, 'last_read_seq', 0, 'last_delivered_seq', 0, 'unread_count', 0,
       'muted_until', null, 'last_message', null, 'topic', 'conversation:' || tests.id('team') || ':1',
       'live_topic', 'live:' || tests.id('team') || ':1', 'added_by', tests.get_user_id('alice')) $$,
  'conversation.added is private and carries Bob''s inbox entry (his role, the topics) and who added him.');
select is((select payload ->> 'role' from events
            where topic = 'user:' || tests.get_user_id('alice') and event = 'conversation.added'), 'owner',
          'Alice gets conversation.added as the owner.');
select is(tests.topic('team'), 'conversation:' || tests.id('team') || ':1',
          'A new conversation''s server topic is conversation:<id>:1.');
select is(tests.event_count(tests.topic('team'), 'member.changed'), 2,
          'member.changed goes to the conversation topic once per new member.');
select results_eq(
  $$ select private, payload ->> 'operation', payload ->> 'role', payload -> 'record' ->> 'user_id', payload -> 'old_record'
       from events where topic = tests.topic('team') and event = 'member.changed'
        and payload ->> 'user_id' = tests.get_user_id('bob')::text $$,
  $$ values (true, 'INSERT'::text, 'member'::text, tests.get_user_id('bob')::text, 'null'::jsonb) $$,
  'member.changed for Bob: operation INSERT, his role, the new row, no old row.');

-- message.created and inbox.updated (no receipt for the sender: the message says it)
delete from realtime.messages;
select tests.track_event_order();
select tests.authenticate_as('alice');
select tests.remember('hello', (public.send_message(tests.id('team'), 'c1', 'Hello Bob') -> 'message' ->> 'id')::uuid);
select tests.clear_authentication();
select is(tests.event_count(tests.topic('team'), 'message.created'), 1,
          'Sending writes one message.created on the conversation topic.');
select results_eq(
  $$ select private, extension, payload ->> 'operation', payload ->> 'table', payload ->> 'schema',
            payload -> 'old_record', payload -> 'record' ->> 'id', payload -> 'record' ->> 'body',
            (payload -> 'record' ->> 'seq')::bigint, (payload -> 'record' ->> 'change_seq')::bigint, payload ? 'id'
       from events where event = 'message.created' $$,
  $$ values (true, 'broadcast'::text, 'INSERT'::text, 'messages'::text, 'public'::text, 'null'::jsonb,
             tests.id('hello')::text, 'Hello Bob'::text, 1::bigint, 1::bigint, true) $$,
  'message.created is private, shaped by broadcast_changes: {record, old_record, operation, table, schema, id}.');
select results_eq(
  $$ select topic, payload - 'id' - 'last_message_at' from events where event = 'inbox.updated' order by topic $$,
  $$ select 'user:' || u.id, jsonb_build_object(
       'conversation_id', tests.id('team'), 'last_seq', 1,
       'last_read_seq', case when u.identifier = 'alice' then 1 else 0 end,
       'unread_count', case when u.identifier = 'alice' then 0 else 1 end,
       'last_message', jsonb_build_object('id', tests.id('hello'), 'seq', 1, 'sender_id', tests.get_user_id('alice'),
                                          'preview', 'Hello Bob', 'deleted', false,
                                          'created_at', (select created_at from public.messages where id = tests.id('hello'))))
     from tests.users u where u.identifier in ('alice', 'bob') order by 1 $$,
  'inbox.updated goes to each member''s user topic with their own unread count and the preview.');
select ok((select bool_and(private and extension = 'broadcast' and (payload ->> 'id')::uuid = id) from events
            where event = 'inbox.updated'),
          'inbox.updated rows are private broadcasts whose payload id is the row id, as realtime.send writes them.');
select results_eq(
  $$ select last_read_seq, last_delivered_seq from public.conversation_members
      where conversation_id = tests.id('team') and user_id = tests.get_user_id('alice') $$,
  $$ values (1::bigint, 1::bigint) $$,
  'The sender has read and received their own message.');
select is((select count(*)::int from events), 3,
          'Nothing else was sent: message.created and two inbox.updated, no receipt for the sender.');
select results_eq(
  $$ select event from tests.event_order order by position $$,
  $$ values ('message.created'::text), ('inbox.updated'), ('inbox.updated') $$,
  'They are written (and so streamed) in this order: the message, then the inbox updates.');

-- a retry and a refused send emit nothing
delete from realtime.messages;
select tests.authenticate_as('alice');
select public.send_message(tests.id('team'), 'c1', 'Hello Bob');
select tests.error_of($$ select public.send_message(tests.id('team'), 'c9', '') $$);
select tests.clear_authentication();
select is((select count(*)::int from events), 0, 'A retry and a refused send emit no event.');

-- receipt (and the reader's own inbox.updated) on mark_read, mark_delivered
select tests.authenticate_as('bob');
select public.mark_delivered(tests.id('team'), 1);
select tests.clear_authentication();
select results_eq(
  $$ select topic, event, private, payload - 'id' from events $$,
  $$ select tests.topic('team'), 'receipt'::text, true, jsonb_build_object('conversation_id', tests.id('team'),
       'user_id', tests.get_user_id('bob'), 'last_read_seq', 0, 'last_delivered_seq', 1) $$,
  'mark_delivered emits one private receipt, and no inbox update.');
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.mark_read(tests.id('team'), 1);
select tests.clear_authentication();
select results_eq(
  $$ select payload - 'id' from events where event = 'receipt' $$,
  $$ select jsonb_build_object('conversation_id', tests.id('team'), 'user_id', tests.get_user_id('bob'),
                               'last_read_seq', 1, 'last_delivered_seq', 1) $$,
  'mark_read emits a receipt with the new read state.');
select results_eq(
  $$ select topic, private, (payload ->> 'unread_count')::int, (payload ->> 'last_read_seq')::int from events
      where event = 'inbox.updated' $$,
  $$ values ('user:' || tests.get_user_id('bob'), true, 0, 1) $$,
  'mark_read also refreshes the reader''s own inbox (other devices) with unread count 0.');
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.mark_read(tests.id('team'), 0);
select public.mark_delivered(tests.id('team'), 1);
select tests.clear_authentication();
select is((select count(*)::int from events), 0, 'Marks that move nothing emit nothing.');

-- message.updated on edit and delete, with the old body left out
select tests.authenticate_as('alice');
select public.edit_message(tests.id('hello'), 'Hello, Bob!');
select tests.clear_authentication();
select results_eq(
  $$ select private, payload ->> 'operation', payload -> 'record' ->> 'body', (payload -> 'record' ->> 'change_seq')::bigint,
            payload -> 'record' ->> 'edited_at' is not null, payload -> 'old_record' ->> 'id',
            payload -> 'old_record' -> 'body', payload -> 'old_record' -> 'metadata'
       from events where topic = tests.topic('team') and event = 'message.updated' $$,
  $$ values (true, 'UPDATE'::text, 'Hello, Bob!'::text, 2::bigint, true, tests.id('hello')::text, 'null'::jsonb, 'null'::jsonb) $$,
  'An edit emits message.updated with the new record; old_record never carries the previous body or metadata.');
select is(tests.event_count('user:' || tests.get_user_id('bob'), 'inbox.updated'), 1,
          'Editing the newest message refreshes the members'' inbox preview.');
select is((select payload -> 'last_message' ->> 'preview' from events
            where topic = 'user:' || tests.get_user_id('bob') and event = 'inbox.updated'), 'Hello, Bob!',
          'The refreshed preview is the edited text.');
delete from realtime.messages;
select tests.authenticate_as('alice');
select public.send_message(tests.id('team'), 'c2', 'Newer');
select tests.clear_authentication();
delete from realtime.messages;
select tests.authenticate_as('alice');
select public.delete_message(tests.id('hello'));
select tests.clear_authentication();
select results_eq(
  $$ select payload -> 'record' ->> 'body', payload -> 'record' ->> 'deleted_at' is not null,
            (payload -> 'record' ->> 'seq')::bigint, payload -> 'old_record' -> 'body'
       from events where event = 'message.updated' $$,
  $$ values (''::text, true, 1::bigint, 'null'::jsonb) $$,
  'A delete emits message.updated with the cleared record, seq kept, and no old body.');
select is((select count(*)::int from events where event = 'inbox.updated'), 0,
          'Deleting an older message does not touch anyone''s inbox.');

-- reaction.changed
delete from realtime.messages;
select tests.authenticate_as('bob');
select tests.remember('newer', (select id from public.messages where conversation_id = tests.id('team') and seq = 2));
select public.add_reaction(tests.id('newer'), '👍');
select tests.clear_authentication();
select results_eq(
  $$ select topic, event, private, payload - 'id' from events $$,
  $$ select tests.topic('team'), 'reaction.changed'::text, true, jsonb_build_object(
       'conversation_id', tests.id('team'), 'message_id', tests.id('newer'), 'seq', 2,
       'change_seq', (select change_seq from public.messages where id = tests.id('newer')),
       'user_id', tests.get_user_id('bob'), 'emoji', '👍', 'action', 'added',
       'reactions', jsonb_build_object('👍', jsonb_build_array(tests.get_user_id('bob')))) $$,
  'Adding a reaction emits only reaction.changed: the message, its new change_seq and reaction summary.');
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.remove_reaction(tests.id('newer'), '👍');
select tests.clear_authentication();
select results_eq(
  $$ select event, payload ->> 'action', payload -> 'reactions' from events $$,
  $$ values ('reaction.changed'::text, 'removed'::text, '{}'::jsonb) $$,
  'Removing it emits reaction.changed with action removed and the emptied summary.');

-- member.changed (UPDATE, DELETE) and conversation.removed
delete from realtime.messages;
select tests.authenticate_as('alice');
select public.add_conversation_members(tests.id('team'), array[tests.get_user_id('carol')]);
select public.set_member_role(tests.id('team'), tests.get_user_id('bob'), 'admin');
select tests.clear_authentication();
select results_eq(
  $$ select payload ->> 'operation', payload ->> 'role', payload -> 'old_record' ->> 'role', payload -> 'record' ->> 'role'
       from events where event = 'member.changed' and payload ->> 'user_id' = tests.get_user_id('bob')::text $$,
  $$ values ('UPDATE'::text, 'admin'::text, 'member'::text, 'admin'::text) $$,
  'A role change emits member.changed UPDATE with the old and new rows.');
select results_eq(
  $$ select (payload ->> 'member_count')::int, (payload ->> 'last_seq')::int, (payload ->> 'last_read_seq')::int,
            (payload ->> 'unread_count')::int, payload -> 'last_message' ->> 'preview'
       from events where topic = 'user:' || tests.get_user_id('carol') and event = 'conversation.added' $$,
  $$ values (3, 2, 2, 0, 'Newer'::text) $$,
  'Carol, added later, gets conversation.added with the history already read.');
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.remove_conversation_member(tests.id('team'), tests.get_user_id('carol'));
select tests.clear_authentication();
select results_eq(
  $$ select topic, private, payload - 'id' from events where event = 'conversation.removed' $$,
  $$ select 'user:' || tests.get_user_id('carol'), true, jsonb_build_object('conversation_id', tests.id('team'),
       'kind', 'group', 'title', 'Team', 'reason', 'removed', 'removed_by', tests.get_user_id('bob')) $$,
  'Carol gets conversation.removed (reason removed, by Bob) on her user topic.');
select results_eq(
  $$ select payload ->> 'operation', payload -> 'record', payload -> 'old_record' ->> 'user_id'
       from events where event = 'member.changed' $$,
  $$ values ('DELETE'::text, 'null'::jsonb, tests.get_user_id('carol')::text) $$,
  'The conversation topic gets member.changed DELETE with the old row.');
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.leave_conversation(tests.id('team'));
select tests.clear_authentication();
select is((select payload ->> 'reason' from events where event = 'conversation.removed'), 'left',
          'Leaving sends conversation.removed with reason left.');

-- direct conversations: conversation.added carries the other person
delete from realtime.messages;
select tests.authenticate_as('alice');
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('carol'))));
select tests.clear_authentication();
select results_eq(
  $$ select topic, payload -> 'peer' ->> 'id', payload ->> 'kind' from events
      where event = 'conversation.added' order by topic $$,
  $$ select 'user:' || u.id, case when u.identifier = 'alice' then tests.get_user_id('carol') else tests.get_user_id('alice') end::text,
            'direct'::text
       from tests.users u where u.identifier in ('alice', 'carol') order by 1 $$,
  'Each side of a new direct conversation is told who the other is.');
select is((select count(*)::int from events where event = 'conversation.added'), 2,
          'Opening the existing direct conversation again sends nothing more.');

-- big groups: no per-member inbox fan-out above the limit
select count(tests.create_user('crowd' || lpad(i::text, 3, '0'))) from generate_series(1, 100) i;
select tests.authenticate_as('alice');
select tests.remember('small', (select id from public.create_group_conversation('Small',
  array(select id from tests.users where identifier like 'crowd%' order by identifier limit 99))));
select tests.remember('big', (select id from public.create_group_conversation('Big',
  array(select id from tests.users where identifier like 'crowd%'))));
select tests.clear_authentication();
select results_eq($$ select member_count from public.conversations where id in (tests.id('small'), tests.id('big')) order by 1 $$,
                  $$ values (100), (101) $$, 'One group has 100 members (the limit), the other 101.');
delete from realtime.messages;
select tests.authenticate_as('alice');
select public.send_message(tests.id('small'), 's1', 'to a hundred');
select tests.clear_authentication();
select is((select count(*)::int from events where event = 'inbox.updated'), 100,
          'A message to a group of 100 sends inbox.updated to all 100 members.');
delete from realtime.messages;
select tests.authenticate_as('alice');
select public.send_message(tests.id('big'), 'b1', 'to a crowd');
select tests.clear_authentication();
select is((select count(*)::int from events where event = 'inbox.updated'), 0,
          'A message to a group of 101 sends no inbox.updated: members follow it by its topic.');
select is(tests.event_count(tests.topic('big'), 'message.created'), 1,
          'The big group still gets its message.created on the conversation topic.');

-- the reader's own inbox is refreshed by mark_read on other devices even in big groups
delete from realtime.messages;
select tests.authenticate_as('crowd001');
select public.mark_read(tests.id('big'), 1);
select tests.clear_authentication();
select results_eq(
  $$ select topic, payload ->> 'last_read_seq', payload ->> 'unread_count' from events where event = 'inbox.updated' $$,
  $$ values ('user:' || tests.get_user_id('crowd001'), '1'::text, '0'::text) $$,
  'A member who reads the big group gets inbox.updated (unread 0) on their own topic, and nobody else does.');

-- events are written by the triggers as the table owner, not subject to the callers' policies
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'private' and p.prosecdef and p.proname in (
              'messages_after_insert', 'messages_after_update', 'reactions_after_write', 'members_after_insert',
              'members_after_delete', 'members_after_role_update', 'members_after_read_update')), 7,
          'Every trigger that emits events is security definer (its writes bypass the realtime.messages policies).');

-- nothing is sent for a transaction that rolls back
delete from realtime.messages;
select tests.authenticate_as('alice');
savepoint before_send;
select public.send_message(tests.id('dm'), 'r1', 'never mind');
rollback to savepoint before_send;
select tests.clear_authentication();
select is((select count(*)::int from events), 0, 'A send that is rolled back leaves no event behind.');

-- payload sizes stay small: no search vector or other bulk in message events
select tests.authenticate_as('alice');
select public.send_message(tests.id('dm'), 'r2', 'small payload');
select tests.clear_authentication();
select set_eq(
  $$ select jsonb_object_keys(payload -> 'record') from events where event = 'message.created' $$,
  array['id', 'conversation_id', 'seq', 'change_seq', 'sender_id', 'client_id', 'kind', 'body', 'reply_to', 'metadata',
        'reactions', 'created_at', 'edited_at', 'deleted_at', 'external_delivery'],
  'message.created''s record holds exactly the message columns.');

-- a lost event never fails the write (no partition for today: the platform drops the event).
-- Only the partitions' owner can take today's away, so this needs the tests' superuser helper.
delete from realtime.messages;
select to_regprocedure('tests.drop_todays_realtime_partition()') is not null as superuser_helpers \gset
\if :superuser_helpers
select tests.drop_todays_realtime_partition();
select tests.authenticate_as('alice');
select is((public.send_message(tests.id('small'), 's2', 'into the void') -> 'created')::boolean, true,
          'Without a partition for today the message is still stored (its events are lost, as on the platform).');
select tests.clear_authentication();
select is((select count(*)::int from events), 0, 'No event could be written.');
\else
select skip('dropping a partition needs the superuser, which a Supabase project does not give: '
            'the lost-partition tests run on the emulator only', 2);
\endif

select * from finish();
rollback;
