-- Outbound external messages: a member's message in an external conversation is queued
-- in the outbox in its own transaction (and only then), the sender's calls claim, record,
-- retry and end it, status callbacks move the delivery state only forward, each move is
-- numbered (sync_conversation returns it) and announced, and operators manage the team,
-- the numbers and the sender's URL through RPCs no user may call.
begin;
select plan(48);

select tests.create_user('agent_ann');
select tests.create_user('agent_bo');
select tests.create_user('agent_cy');
select tests.create_user('mallory');

-- operators set up the team, the numbers and the sender (as the service role)
select tests.authenticate_as_service_role();
select is((public.add_team_member(tests.get_user_id('agent_ann')) ->> 'conversations_joined')::int, 0,
          'The service role adds Ann to the team (no external conversation yet).');
select public.add_team_member(tests.get_user_id('agent_bo'));
select is(public.set_external_channel('sms', '+14155550100'),
          '{"channel": "sms", "sending_number": "+14155550100"}'::jsonb, 'The service role sets the SMS number.');
select public.set_external_channel('whatsapp', '+14155238886');
select is(public.set_external_sender_url('http://127.0.0.1:9/functions/v1/twilio-send') ->> 'sender_url',
          'http://127.0.0.1:9/functions/v1/twilio-send', 'The service role sets the sender''s URL.');
select is(public.get_external_settings() - 'outbox',
          jsonb_build_object('sender_url', 'http://127.0.0.1:9/functions/v1/twilio-send', 'team_size', 2,
                             'channels', jsonb_build_object('sms', '+14155550100', 'whatsapp', '+14155238886')),
          'get_external_settings shows the sender, the numbers and the team size.');
select set_eq($$ select user_id from public.list_team_members() $$,
              array[tests.get_user_id('agent_ann'), tests.get_user_id('agent_bo')],
              'list_team_members lists the team.');
select tests.throws_api_error($$ select public.set_external_channel('sms', 'whatsapp:+14155550100') $$,
                              400, 'invalid_argument', 'sending_number must be a phone number in E.164 form.',
                              'A sending number not in E.164 form is refused.');
select tests.throws_api_error($$ select public.set_external_channel('fax', '+14155550100') $$,
                              400, 'invalid_argument', 'channel must be sms or whatsapp.', 'An unknown channel is refused.');
select tests.throws_api_error($$ select public.set_external_sender_url('ftp://somewhere') $$,
                              400, 'invalid_argument', 'url must be an http(s) URL.', 'A sender URL that is not http(s) is refused.');
select tests.throws_api_error($$ select public.add_team_member('00000000-0000-0000-0000-00000000abcd') $$,
                              404, 'user_not_found', 'There is no user with this id.', 'An unknown user cannot join the team.');
select tests.clear_authentication();

-- a customer writes in; a member answers
select private.receive_external_message('sms', '+14155550123', null, 'SM00000000000000000000000000000001', 'Where is my order?');
select tests.remember('sms', (select conversation_id from private.external_contacts where address = '+14155550123'));
select is((select external_delivery from public.messages where client_id = 'SM00000000000000000000000000000001'), null,
          'The customer''s own message has no outbound delivery.');
select is((select count(*)::int from private.external_outbox), 0, 'Nothing is queued for an inbound message.');

select tests.authenticate_as('agent_ann');
select public.send_message(tests.id('sms'), 'reply-1', 'It ships today');
select tests.clear_authentication();
select tests.remember('reply', (select id from public.messages where client_id = 'reply-1'));
select results_eq(
  $$ select channel, to_address, from_address, state, attempts from private.external_outbox $$,
  $$ values ('sms', '+14155550123', '+14155550100', 'pending', 0) $$,
  'The reply is queued once, from the SMS number to the customer.');
select is((select external_delivery - 'updated_at' from public.messages where id = tests.id('reply')),
          '{"channel": "sms", "status": "pending", "sid": null, "error": null}'::jsonb,
          'The reply starts pending.');
select is((select payload -> 'record' -> 'external_delivery' ->> 'status' from realtime.messages
            where topic = tests.topic('sms') and event = 'message.created' and payload -> 'record' ->> 'id' = tests.id('reply')::text),
          'pending', 'message.created carries the pending delivery.');
select is(
  (select jsonb_agg(jsonb_build_array(q.method, q.url, convert_from(q.body, 'UTF8'))) from net.http_request_queue q),
  '[["POST", "http://127.0.0.1:9/functions/v1/twilio-send", "{}"]]'::jsonb,
  'Queuing it wakes the sender through pg_net.');

-- only external conversations, only members' messages, only in the same transaction
select tests.authenticate_as('agent_ann');
select public.create_group_conversation('Team room', array[tests.get_user_id('agent_bo')]);
select tests.remember('room', (select id from public.conversations where title = 'Team room'));
select public.send_message(tests.id('room'), 'internal-1', 'Lunch?');
select tests.clear_authentication();
select is((select count(*)::int from private.external_outbox), 1, 'A message in an ordinary conversation is not queued.');
savepoint before_rollback;
select tests.authenticate_as('agent_ann');
select public.send_message(tests.id('sms'), 'reply-rolled-back', 'Never mind');
select tests.clear_authentication();
rollback to savepoint before_rollback;
select is((select count(*)::int from private.external_outbox), 1, 'A reply whose transaction rolls back leaves no outbox row.');

-- nobody but the server reaches the outbox, nor writes the delivery state
select tests.authenticate_as('agent_ann');
select throws_ok($$ select * from private.external_outbox $$, '42501', null, 'A member cannot read the outbox.');
select throws_ok($$ update public.messages set external_delivery = '{"status": "read"}' where id = tests.id('reply') $$,
                 '42501', null, 'A member cannot write a delivery state.');
select throws_ok($$ select private.apply_external_status(tests.id('reply'), 'SM1', 'read', null) $$, '42501', null,
                 'A member cannot apply a status callback.');
select tests.throws_api_error($$ select public.add_team_member(tests.get_user_id('mallory')) $$,
                              403, 'not_allowed', 'Only the service role may manage external channels.',
                              'A member cannot add to the team.');
select tests.throws_api_error($$ select public.set_external_sender_url(null) $$,
                              403, 'not_allowed', 'Only the service role may manage external channels.',
                              'A member cannot change the sender.');
select tests.clear_authentication();
select ok(not exists (select from tests.tables_without_rls('private') t where t in ('external_outbox', 'external_channels', 'external_settings')),
          'RLS is on for the outbox and the settings.');

-- the sender claims, once
select results_eq(
  $$ select message_id, to_address, from_address, body, attempts, deleted, look_up_since is null
       from private.claim_external_sends(10, 60) $$,
  $$ values (tests.id('reply'), '+14155550123', '+14155550100', 'It ships today', 1, false, true) $$,
  'The sender claims the reply for its first attempt (nothing to look up).');
select is((select count(*)::int from private.claim_external_sends(10, 60)), 0, 'A claimed reply is leased: not claimed again.');
select ok((select in_doubt_since is not null from private.external_outbox where message_id = tests.id('reply')),
          'The claimed attempt is in doubt until its outcome is recorded.');

-- a 5xx: retried later, and looked up first
select is(private.retry_external_send(tests.id('reply'), 0, '{"code": "http_500"}', true, 8), 'retrying',
          'A 5xx schedules a retry.');
select ok((select look_up_since is not null from private.claim_external_sends(10, 60)),
          'The retry of an attempt in doubt is told to look the message up first.');

-- Twilio has it
select ok(private.record_external_send(tests.id('reply'), 'SM0000000000000000000000000000aa01', 'queued'),
          'The sid Twilio gave is recorded.');
select results_eq(
  $$ select state, sid, in_doubt_since, body from private.external_outbox $$,
  $$ values ('sent', 'SM0000000000000000000000000000aa01', null::timestamptz, null::text) $$,
  'The outbox row is sent: its sid kept, its copy of the text dropped.');

-- status callbacks, in any order
select is(private.apply_external_status(tests.id('reply'), 'SM0000000000000000000000000000aa01', 'delivered', null),
          'applied', 'A delivered callback moves the state forward.');
select is(private.apply_external_status(tests.id('reply'), 'SM0000000000000000000000000000aa01', 'sent', null),
          'unchanged', 'A late sent callback does not move it back.');
select is(private.apply_external_status(tests.id('reply'), 'SM0000000000000000000000000000ffff', 'read', null),
          'ignored', 'A callback for another sid is ignored.');
select is(private.apply_external_status(tests.id('reply'), 'SM0000000000000000000000000000aa01', 'read', null),
          'applied', 'A read callback moves it on.');
select is((select external_delivery ->> 'status' from public.messages where id = tests.id('reply')), 'read',
          'The reply is read.');
select results_eq(
  $$ select payload -> 'external_delivery' ->> 'status', (payload ->> 'change_seq')::bigint
       from realtime.messages where topic = tests.topic('sms') and event = 'delivery.changed'
      order by (payload ->> 'change_seq')::bigint $$,
  $$ select s, c from (values ('queued', 3::bigint), ('delivered', 4::bigint), ('read', 5::bigint)) v (s, c) $$,
  'Each move is announced as delivery.changed on the conversation''s topic, with the next change_seq.');

select tests.authenticate_as('agent_bo');
select is((select (m -> 'external_delivery' ->> 'status') from jsonb_array_elements(public.sync_conversation(tests.id('sms'), 2) -> 'messages') m),
          'read', 'sync_conversation from before the callbacks returns the reply with its delivery state.');
select tests.clear_authentication();

-- failures reach the sender wherever they are
select tests.authenticate_as('agent_bo');
select public.send_message(tests.id('sms'), 'reply-2', 'Sorry, one more thing');
select tests.clear_authentication();
select tests.remember('reply2', (select id from public.messages where client_id = 'reply-2'));
select private.end_external_send(tests.id('reply2'), 'failed', '{"code": "21211", "message": "Invalid To", "status": 400}');
select is((select external_delivery -> 'error' from public.messages where id = tests.id('reply2')),
          '{"code": "21211", "message": "Invalid To", "status": 400}'::jsonb, 'A refusal is kept on the message.');
select is(tests.event_count('user:' || tests.get_user_id('agent_bo'), 'delivery.changed'), 1,
          'The sender is told of the failure on their own topic.');
select is(private.apply_external_status(tests.id('reply2'), 'SM0000000000000000000000000000aa02', 'delivered', null),
          'ignored', 'Nothing moves a failed message on.');

-- the team: a new member joins existing external conversations; a leaving one leaves them
select tests.authenticate_as_service_role();
select is((public.add_team_member(tests.get_user_id('agent_cy')) ->> 'conversations_joined')::int, 1,
          'A new team member joins every existing external conversation.');
select is((select role from public.conversation_members where conversation_id = tests.id('sms') and user_id = tests.get_user_id('agent_cy')),
          'admin', 'as an admin.');
select is(public.remove_team_member(tests.get_user_id('agent_ann')) - 'user_id',
          '{"removed": true, "conversations_left": 1}'::jsonb, 'Removing Ann takes her out of the team and its conversations.');
select tests.clear_authentication();
select ok(not exists (select from public.conversation_members where conversation_id = tests.id('sms') and user_id = tests.get_user_id('agent_ann')),
          'Ann is no longer in the SMS conversation.');
select ok(exists (select from public.conversations where id = tests.id('sms')), 'The conversation stays for the rest of the team.');

-- retries run out
select tests.authenticate_as('agent_bo');
select public.send_message(tests.id('sms'), 'reply-3', 'Are you there?');
select tests.clear_authentication();
select tests.remember('reply3', (select id from public.messages where client_id = 'reply-3'));
update private.external_outbox set attempts = 8 where message_id = tests.id('reply3');
select is(private.retry_external_send(tests.id('reply3'), 5, '{"code": "http_503"}', true, 8), 'failed',
          'A retry after the last allowed attempt ends the message as failed.');
select is((select external_delivery -> 'error' ->> 'code' from public.messages where id = tests.id('reply3')),
          'retries_exhausted', 'with retries_exhausted as its error.');

-- scheduled
select is((select schedule || ' ' || command from cron.job where jobname = 'wake-external-sender'),
          '10 seconds select private.wake_external_sender()', 'pg_cron wakes the sender every 10 seconds.');

select * from finish();
rollback;
