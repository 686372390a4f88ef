-- Revocation by rotation: removing a member or a member leaving moves the
-- conversation's topic epoch on, so that the former member's open channel hears
-- nothing more, while the others are told where to go and lose nothing.
begin;
select plan(24);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('kim');

create temporary view events as
  select m.topic, m.event, m.payload, m.id from realtime.messages m;

select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team',
  array[tests.get_user_id('bob'), tests.get_user_id('kim')])));
select public.send_message(tests.id('team'), 'a1', 'before');
select tests.clear_authentication();
create temporary table epoch_1 as select tests.topic('team') as topic, tests.live_topic('team') as live_topic;
grant select on epoch_1 to authenticated;

-- as alice (owner): remove kim
delete from realtime.messages;
select tests.track_event_order();
select tests.authenticate_as('alice');
select public.remove_conversation_member(tests.id('team'), tests.get_user_id('kim'));
select tests.clear_authentication();

select is((select topic_epoch from public.conversations where id = tests.id('team')), 2,
          'Removing Kim moved the epoch from 1 to 2.');
select results_eq(
  $$ select topic, event from tests.event_order order by position $$,
  $$ values ((select topic from epoch_1), 'member.changed'::text),
            ('user:' || tests.get_user_id('kim'), 'conversation.removed'),
            ((select topic from epoch_1), 'conversation.rotated'),
            ('user:' || least(tests.get_user_id('alice'), tests.get_user_id('bob')), 'conversation.rotated'),
            ('user:' || greatest(tests.get_user_id('alice'), tests.get_user_id('bob')), 'conversation.rotated') $$,
  'In order: member.changed and conversation.rotated on the old topic, conversation.removed to Kim, '
  'conversation.rotated to each remaining member.');
select results_eq(
  $$ select distinct payload - 'id' from events where event = 'conversation.rotated' $$,
  $$ select jsonb_build_object('conversation_id', tests.id('team'), 'topic', 'conversation:' || tests.id('team') || ':2',
                               'live_topic', 'live:' || tests.id('team') || ':2', 'epoch', 2,
                               'change', (select last_change from public.conversations where id = tests.id('team'))) $$,
  'conversation.rotated names the new topics, the epoch and the change cursor to catch up from.');
select is((select count(*)::int from events where topic = 'user:' || tests.get_user_id('kim') and event = 'conversation.rotated'), 0,
          'Kim is not told the new topics.');

-- everything after goes to the new topics
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.send_message(tests.id('team'), 'b1', 'after');
select tests.clear_authentication();
select tests.authenticate_as('alice');
select public.mark_read(tests.id('team'), 2);
select public.add_reaction((select id from public.messages where conversation_id = tests.id('team') and seq = 2), 'ok');
select public.edit_message((select id from public.messages where conversation_id = tests.id('team') and seq = 1), 'before!');
select tests.clear_authentication();
select is((select count(*)::int from events where topic = (select topic from epoch_1)), 0,
          'Nothing more is written to the old server topic.');
select set_eq(
  $$ select event from events where topic = tests.topic('team') $$,
  array['message.created', 'receipt', 'reaction.changed', 'message.updated'],
  'Messages, receipts, reactions and edits go to the new server topic.');
select is((select count(*)::int from events where topic like 'user:%' || tests.get_user_id('kim')), 0,
          'Kim''s user topic hears nothing of the conversation any more.');
select results_eq(
  $$ select seq from public.messages where conversation_id = tests.id('team') order by seq $$,
  $$ values (1::bigint), (2::bigint) $$,
  'seq has no hole across the rotation.');

-- as kim (removed): out of both epochs
select tests.authenticate_as('kim');
select set_config('realtime.topic', tests.topic('team'), true);
select is((select count(*)::int from realtime.messages), 0, 'Kim cannot receive on the new server topic.');
select set_config('realtime.topic', (select topic from epoch_1), true);
select is((select count(*)::int from realtime.messages), 0, 'Nor on the old one (its rows are hidden from her too).');
select tests.throws_api_error($$ select public.get_conversation(tests.id('team')) $$, 403, 'not_a_member',
                              'You are not a member of this conversation.',
                              'get_conversation tells Kim she is no longer a member.');
select tests.clear_authentication();

-- leaving rotates too; the owner's successor is announced on the new topic
delete from realtime.messages;
create temporary table epoch_2 as select tests.topic('team') as topic;
select tests.authenticate_as('alice');
select public.leave_conversation(tests.id('team'));
select tests.clear_authentication();
select is((select topic_epoch from public.conversations where id = tests.id('team')), 3, 'Alice leaving moved the epoch to 3.');
select is((select payload ->> 'reason' from events where event = 'conversation.removed'), 'left',
          'Alice is told she left.');
select is((select count(*)::int from events where event = 'conversation.rotated' and topic = (select topic from epoch_2)), 1,
          'The old topic gets conversation.rotated once.');
select is((select count(*)::int from events where event = 'conversation.rotated' and topic = 'user:' || tests.get_user_id('bob')), 1,
          'Bob, who stays, gets conversation.rotated on his user topic.');
select results_eq(
  $$ select topic, payload ->> 'operation', payload ->> 'role' from events
      where event = 'member.changed' and payload ->> 'user_id' = tests.get_user_id('bob')::text $$,
  $$ values (tests.topic('team'), 'UPDATE'::text, 'owner'::text) $$,
  'Bob becoming owner is announced on the new topic.');

-- role changes and additions do not rotate
select tests.authenticate_as('bob');
select public.add_conversation_members(tests.id('team'), array[tests.get_user_id('kim')]);
select tests.clear_authentication();
select is((select topic_epoch from public.conversations where id = tests.id('team')), 3, 'Adding a member keeps the epoch.');
select is((select payload ->> 'topic' from events where event = 'conversation.added' and topic = 'user:' || tests.get_user_id('kim')),
          tests.topic('team'), 'Kim, added back, is given the current topic.');

-- the last member leaving deletes the conversation: no rotation into nowhere
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.remove_conversation_member(tests.id('team'), tests.get_user_id('kim'));
select tests.clear_authentication();
delete from realtime.messages;
select tests.authenticate_as('bob');
select public.leave_conversation(tests.id('team'));
select tests.clear_authentication();
select is((select count(*)::int from public.conversations where id = tests.id('team')), 0,
          'The last one out deleted the group.');
select is((select count(*)::int from events where event = 'conversation.rotated'), 0,
          'A conversation that is gone announces no rotation.');

-- one statement removing several members rotates once
select tests.create_user('lee');
select tests.create_user('max');
select tests.create_user('ned');
select tests.authenticate_as('lee');
select tests.remember('crew', (select id from public.create_group_conversation('Crew',
  array[tests.get_user_id('max'), tests.get_user_id('ned')])));
select tests.clear_authentication();
delete from realtime.messages;
delete from public.conversation_members
 where conversation_id = tests.id('crew') and user_id in (tests.get_user_id('max'), tests.get_user_id('ned'));
select is((select topic_epoch from public.conversations where id = tests.id('crew')), 2,
          'Removing two members in one statement moves the epoch once.');
select results_eq(
  $$ select event, count(*)::int from events group by event order by event $$,
  $$ values ('conversation.removed'::text, 2), ('conversation.rotated', 2), ('member.changed', 2) $$,
  'Each former member is announced and told, and the rotation goes out once on the old topic and to Lee.');

-- a direct conversation is never rotated (its members cannot change)...
select tests.authenticate_as('alice');
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select tests.clear_authentication();
select is(tests.topic('dm'), 'conversation:' || tests.id('dm') || ':1', 'A direct conversation starts at epoch 1.');
-- ...unless a user is deleted, which removes their memberships like a removal
delete from auth.users where id = tests.get_user_id('bob');
select is(tests.topic('dm'), 'conversation:' || tests.id('dm') || ':2',
          'Deleting a user rotates the conversations they were in.');

select * from finish();
rollback;
