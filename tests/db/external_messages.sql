-- Inbound external messages (SMS / WhatsApp): a contact and its team conversation
-- on first contact, kind 'external' messages through the usual triggers,
-- idempotent on the provider's message id, callable by the server only.
begin;
select plan(19);

select tests.create_user('agent_ann');
select tests.create_user('agent_bo');
select tests.create_user('mallory');
insert into private.external_team_members (user_id) values (tests.get_user_id('agent_ann')), (tests.get_user_id('agent_bo'));

-- first contact
select is(
  (select (private.receive_external_message('sms', '+14155550123', null, 'SM00000000000000000000000000000001', 'Hi, is anyone there?')) ->> 'created'),
  'true', 'The first message from a number is stored.');
select tests.remember('sms', (select conversation_id from private.external_contacts where address = '+14155550123'));
select results_eq(
  $$ select kind, title, member_count from public.conversations where id = tests.id('sms') $$,
  $$ values ('group', 'SMS +14155550123', 2) $$,
  'First contact creates a group conversation titled after the channel and number, with the two team members.');
select results_eq(
  $$ select user_id, role from public.conversation_members where conversation_id = tests.id('sms') order by user_id $$,
  $$ select id, 'admin' from tests.users where identifier in ('agent_ann', 'agent_bo') order by id $$,
  'Every team member is an admin of the conversation.');
select results_eq(
  $$ select seq, kind, sender_id, body, metadata -> 'external' ->> 'channel', metadata -> 'external' ->> 'address'
       from public.messages where conversation_id = tests.id('sms') $$,
  $$ values (1::bigint, 'external', null::uuid, 'Hi, is anyone there?', 'sms', '+14155550123') $$,
  'The message is seq 1, kind external, without a sender, and names its channel and number.');

-- the same events as any message
select is(tests.event_count(tests.topic('sms'), 'message.created'), 1,
          'message.created goes to the conversation topic.');
select is(tests.event_count('user:' || tests.get_user_id('agent_ann'), 'conversation.added'), 1,
          'Ann is told she was added to the conversation.');
select results_eq(
  $$ select (payload ->> 'unread_count')::int from realtime.messages
      where topic = 'user:' || tests.get_user_id('agent_bo') and event = 'inbox.updated' $$,
  $$ values (1) $$, 'Bo''s inbox shows one unread message.');

-- the same number again, and a redelivery
select is(
  (select (private.receive_external_message('sms', '+14155550123', null, 'SM00000000000000000000000000000002', 'Hello?')) ->> 'seq'),
  '2', 'A second message from the number goes to the same conversation as seq 2.');
select is(
  (select private.receive_external_message('sms', '+14155550123', null, 'SM00000000000000000000000000000002', 'Hello?')
          - 'message_id' - 'conversation_id'),
  '{"seq": 2, "created": false}'::jsonb, 'A redelivered webhook returns the stored message.');
select is((select count(*)::int from public.messages where conversation_id = tests.id('sms')), 2,
          'The redelivery stored nothing new.');
select is(tests.event_count(tests.topic('sms'), 'message.created'), 2,
          'The redelivery emitted nothing new.');
select is((select count(*)::int from private.external_contacts), 1, 'One contact for one number.');

-- WhatsApp with a profile name is another contact
select private.receive_external_message('whatsapp', '+14155550123', 'Ann Smith', 'SM00000000000000000000000000000003', 'Via WhatsApp',
                                        '[{"url": "https://media.example/1", "contentType": "image/png"}]');
select results_eq(
  $$ select c.title, x.display_name, m.metadata -> 'media' -> 0 ->> 'contentType'
       from private.external_contacts x join public.conversations c on c.id = x.conversation_id
       join public.messages m on m.conversation_id = c.id
      where x.channel = 'whatsapp' $$,
  $$ values ('WhatsApp Ann Smith', 'Ann Smith', 'image/png') $$,
  'A WhatsApp sender is its own contact, named by its profile, with the media kept in metadata.');

-- team members read it like any conversation; others do not
select tests.authenticate_as('agent_ann');
select is((select count(*)::int from public.get_messages(tests.id('sms'))), 2, 'Ann reads the SMS conversation.');
select tests.authenticate_as('mallory');
select is((select count(*)::int from public.messages where conversation_id = tests.id('sms')), 0, 'Mallory sees none of it.');
select throws_ok($$ select private.receive_external_message('sms', '+14155550999', null, 'SM00000000000000000000000000000009', 'x') $$,
                 '42501', null, 'A signed-in user cannot inject external messages.');
select tests.clear_authentication();

-- bad input
select tests.throws_api_error($$ select private.receive_external_message('fax', '+14155550123', null, 'SMx', 'x') $$,
                              400, 'invalid_argument', 'channel must be sms or whatsapp.', 'An unknown channel is refused.');
select tests.throws_api_error($$ select private.receive_external_message('sms', '555-0123', null, 'SMx', 'x') $$,
                              400, 'invalid_argument', 'address must be a phone number in E.164 form.',
                              'A number not in E.164 form is refused.');
select is((select count(*)::int from private.external_contacts), 2, 'The refused messages created no contact.');

select * from finish();
rollback;
