-- Messages: gap-free seq, change cursor, idempotent sends, edits, soft deletes, and who may do what.
begin;
select plan(74);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');
select tests.create_user('mallory');

select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team',
  array[tests.get_user_id('bob'), tests.get_user_id('carol')])));
select tests.remember('dm', (select id from public.get_or_create_direct_conversation(tests.get_user_id('bob'))));
select public.set_member_role(tests.id('team'), tests.get_user_id('carol'), 'admin');

-- as alice (member): sending
select tests.remember('first', (public.send_message(tests.id('team'), 'c1', 'Hello team') -> 'message' ->> 'id')::uuid);
select results_eq(
  $$ select seq, change_seq, sender_id, client_id, kind, body, reply_to, metadata, reactions, edited_at, deleted_at
       from public.messages where id = tests.id('first') $$,
  $$ values (1::bigint, 1::bigint, tests.get_user_id('alice'), 'c1'::text, 'text'::text, 'Hello team'::text, null::uuid,
             '{}'::jsonb, '{}'::jsonb, null::timestamptz, null::timestamptz) $$,
  'Alice''s first message is seq 1, change 1, sent by her, a plain text.');
select is(public.send_message(tests.id('team'), 'c2', 'Second') -> 'created', 'true'::jsonb,
          'send_message says created: true for a new message.');
select tests.remember('third', (public.send_message(tests.id('team'), 'c3', 'Third', tests.id('first'), '{"mood": "happy"}')
                                -> 'message' ->> 'id')::uuid);
select results_eq($$ select seq from public.messages where conversation_id = tests.id('team') order by seq $$,
                  $$ values (1::bigint), (2::bigint), (3::bigint) $$, 'The messages are numbered 1, 2, 3.');
select results_eq($$ select reply_to, metadata from public.messages where id = tests.id('third') $$,
                  $$ values (tests.id('first'), '{"mood": "happy"}'::jsonb) $$, 'reply_to and metadata are stored.');
select results_eq(
  $$ select last_seq, last_change, last_message_id, last_message_sender_id, last_message_preview
       from public.conversations where id = tests.id('team') $$,
  $$ values (3::bigint, 3::bigint, tests.id('third'), tests.get_user_id('alice'), 'Third'::text) $$,
  'The conversation records its newest message and cursors.');
select results_eq(
  $$ select last_read_seq, last_delivered_seq from public.conversation_members
      where conversation_id = tests.id('team') and user_id = tests.get_user_id('alice') $$,
  $$ values (3::bigint, 3::bigint) $$, 'Sending marks the sender''s own messages read and delivered.');
select is(char_length(public.send_message(tests.id('team'), 'c4', repeat('x ', 2000)) -> 'message' ->> 'body'), 4000,
          'A body of exactly 4000 characters is accepted.');
select public.send_message(tests.id('team'), 'c5', repeat('y', 300));
select is((select body from public.messages where conversation_id = tests.id('team') and client_id = 'c5'), repeat('y', 300),
          'A long body is stored whole.');
select is(char_length((select last_message_preview from public.conversations where id = tests.id('team'))), 140,
          'The inbox preview keeps the first 140 characters.');

-- idempotency: a retry returns the original, writes and emits nothing
select tests.clear_authentication();
create temporary table events_before_retry as select count(*) as n from realtime.messages;
select tests.authenticate_as('alice');
select results_eq(
  $$ select (r -> 'created')::boolean, (r -> 'message' ->> 'id')::uuid, r -> 'message' ->> 'body'
       from public.send_message(tests.id('team'), 'c1', 'A different body') r $$,
  $$ values (false, tests.id('first'), 'Hello team'::text) $$,
  'Sending again with client_id c1 returns the original message with created: false.');
select is((select count(*)::int from public.messages where conversation_id = tests.id('team')), 5,
          'The retry added no row.');
select is((select last_seq from public.conversations where id = tests.id('team')), 5::bigint,
          'The retry did not move last_seq.');
select tests.clear_authentication();
select is((select count(*) from realtime.messages), (select n from events_before_retry), 'The retry emitted no event.');
select tests.authenticate_as('alice');

-- bad input: clear errors, nothing written
select tests.throws_api_error($$ select public.send_message(null, 'x1', 'hi') $$, 400, 'invalid_argument',
                              'conversation_id is required.', 'send_message needs a conversation.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), null, 'hi') $$, 400, 'invalid_argument',
                              'client_id is required.', 'send_message needs a client_id.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), '', 'hi') $$, 400, 'invalid_client_id',
                              'client_id must have 1 to 100 characters, not all blank.', 'An empty client_id is refused.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), '   ', 'hi') $$, 400, 'invalid_client_id',
                              'client_id must have 1 to 100 characters, not all blank.', 'A blank client_id is refused.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), repeat('k', 101), 'hi') $$, 400,
                              'invalid_client_id', 'client_id must have 1 to 100 characters, not all blank.',
                              'A 101-character client_id is refused.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', null) $$, 400, 'invalid_body',
                              'The message body must contain some text.', 'A null body is refused.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', '') $$, 400, 'invalid_body',
                              'The message body must contain some text.', 'An empty body is refused.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', E'  \n\t ') $$, 400, 'invalid_body',
                              'The message body must contain some text.', 'A whitespace-only body is refused.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', repeat('x', 4001)) $$, 413,
                              'body_too_long', 'The message body has 4001 characters; the limit is 4000.',
                              'A 4001-character body is refused with 413.');
select is(tests.error_of($$ select public.send_message(tests.id('team'), 'x1', repeat('x', 4001)) $$) -> 'details',
          '{"length": 4001, "max_length": 4000}'::jsonb, 'The 413 says the length and the limit in details.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', 'hi', null, null) $$, 400,
                              'invalid_metadata', 'metadata must be a JSON object.', 'A null metadata is refused.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', 'hi', null, '[1, 2]') $$, 400,
                              'invalid_metadata', 'metadata must be a JSON object.', 'A metadata array is refused.');
select tests.throws_api_error(
  $$ select public.send_message(tests.id('team'), 'x1', 'hi', null, jsonb_build_object('x', repeat('a', 5000))) $$, 413,
  'metadata_too_large', 'metadata has 5009 bytes; the limit is 4096.', 'Metadata over 4096 bytes is refused with 413.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', 'hi', gen_random_uuid()) $$, 404,
                              'reply_to_not_found', 'reply_to names no message of this conversation.',
                              'A reply to an unknown message is a 404.');
select tests.remember('in_dm', (public.send_message(tests.id('dm'), 'd1', 'psst') -> 'message' ->> 'id')::uuid);
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'x1', 'hi', tests.id('in_dm')) $$, 404,
                              'reply_to_not_found', 'reply_to names no message of this conversation.',
                              'A reply to a message of another conversation is a 404.');
select tests.throws_api_error($$ select public.send_message(gen_random_uuid(), 'x1', 'hi') $$, 404,
                              'conversation_not_found', 'There is no conversation with this id.',
                              'Sending to an unknown conversation is a 404.');
select tests.throws_api_error($$ select public.send_message(tests.id('dm'), 'c1', 'hi') $$, 409, 'client_id_conflict',
                              'This client_id was already used for a message in another conversation.',
                              'Reusing a client_id in another conversation is a 409.');
select results_eq($$ select count(*)::int, max(seq) from public.messages where conversation_id = tests.id('team') $$,
                  $$ values (5, 5::bigint) $$, 'The refused sends wrote nothing.');

-- editing
select results_eq(
  $$ select body, seq, change_seq, edited_at is not null from public.edit_message(tests.id('first'), 'Hello, team!') $$,
  $$ values ('Hello, team!'::text, 1::bigint, 6::bigint, true) $$,
  'Alice edits her message: new body, same seq, the next change_seq, edited_at set.');
select is((select change_seq from public.edit_message(tests.id('first'), 'Hello, team!')), 6::bigint,
          'Editing to the same body changes nothing.');
select tests.throws_api_error($$ select public.edit_message(null, 'x') $$, 400, 'invalid_argument',
                              'message_id is required.', 'edit_message needs a message.');
select tests.throws_api_error($$ select public.edit_message(tests.id('first'), ' ') $$, 400, 'invalid_body',
                              'The message body must contain some text.', 'A blank edit is refused.');
select tests.throws_api_error($$ select public.edit_message(tests.id('first'), repeat('x', 4001)) $$, 413,
                              'body_too_long', 'The message body has 4001 characters; the limit is 4000.',
                              'An oversize edit is refused.');
select tests.throws_api_error($$ select public.edit_message(gen_random_uuid(), 'x') $$, 404, 'message_not_found',
                              'There is no message with this id.', 'Editing an unknown message is a 404.');
select is((select body from public.messages where id = tests.id('first')), 'Hello, team!', 'The refused edits wrote nothing.');

-- as bob (member)
select tests.authenticate_as('bob');
select is((select count(*)::int from public.messages where conversation_id = tests.id('team')), 5,
          'Bob reads the group''s five messages.');
select tests.throws_api_error($$ select public.edit_message(tests.id('first'), 'Bob was here') $$, 403, 'not_allowed',
                              'Only the sender can edit a message.', 'Bob cannot edit Alice''s message.');
select tests.throws_api_error($$ select public.delete_message(tests.id('first')) $$, 403, 'not_allowed',
                              'Only the sender, or an owner or admin of the group, can delete a message.',
                              'Bob, a plain member, cannot delete Alice''s message.');
select is(tests.affected_rows($$ update public.messages set body = 'Bob was here' where id = tests.id('first') $$), 0,
          'Bob''s direct update of Alice''s message touches no row.');
select is(tests.affected_rows($$ update public.messages set deleted_at = now() where id = tests.id('first') $$), 0,
          'Bob''s direct delete of Alice''s message touches no row.');
select throws_ok(
  $$ insert into public.messages (conversation_id, client_id, body, sender_id) values (tests.id('team'), 'b1', 'I am Alice', tests.get_user_id('alice')) $$,
  '42501', 'permission denied for table messages', 'Bob cannot choose sender_id: it cannot be spoofed.');
select throws_ok($$ insert into public.messages (conversation_id, client_id, body, seq) values (tests.id('team'), 'b1', 'hi', 99) $$,
                 '42501', 'permission denied for table messages', 'Bob cannot choose seq.');
select throws_ok($$ update public.messages set seq = 42 where id = tests.id('first') $$,
                 '42501', 'permission denied for table messages', 'Nobody can renumber a message.');
select throws_ok($$ delete from public.messages where id = tests.id('first') $$,
                 '42501', 'permission denied for table messages', 'Messages are never hard-deleted by clients.');
insert into public.messages (conversation_id, client_id, body) values (tests.id('team'), 'b1', 'Straight into the table');
select results_eq(
  $$ select seq, change_seq, sender_id from public.messages where client_id = 'b1' and conversation_id = tests.id('team') $$,
  $$ values (6::bigint, 7::bigint, tests.get_user_id('bob')) $$,
  'A member''s direct insert is numbered by the same trigger and stamped with its sender.');
select tests.throws_api_error($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('team'), 'b2', '') $$,
                              400, 'invalid_body', 'The message body must contain some text.',
                              'A direct insert is validated like send_message.');

-- as carol (admin)
select tests.authenticate_as('carol');
select results_eq(
  $$ select body, metadata, deleted_at is not null, seq, change_seq from public.delete_message(tests.id('third')) $$,
  $$ values (''::text, '{}'::jsonb, true, 3::bigint, 8::bigint) $$,
  'Carol, an admin, deletes Alice''s message: body and metadata cleared, seq kept, next change_seq.');
select is((select change_seq from public.delete_message(tests.id('third'))), 8::bigint,
          'Deleting it again changes nothing.');
select tests.throws_api_error($$ select public.edit_message(tests.id('first'), 'x') $$, 403, 'not_allowed',
                              'Only the sender can edit a message.', 'Carol, an admin, still cannot edit what she did not send.');

-- as alice again
select tests.authenticate_as('alice');
select tests.throws_api_error($$ select public.edit_message(tests.id('third'), 'Back from the dead') $$, 409,
                              'message_deleted', 'This message was deleted.', 'A deleted message cannot be edited.');
select tests.throws_api_error($$ update public.messages set deleted_at = null where id = tests.id('third') $$, 409,
                              'message_deleted', 'This message was deleted.', 'A deleted message cannot be restored.');
select is((select deleted_at is not null from public.delete_message(tests.id('first'))), true,
          'Alice deletes her own message.');
select results_eq($$ select seq from public.messages where conversation_id = tests.id('team') order by seq $$,
                  $$ select generate_series(1, 6)::bigint $$, 'Deleted messages keep their seq: still 1..6 with no hole.');
select is((select last_message_preview from public.conversations where id = tests.id('team')), 'Straight into the table',
          'Deleting an older message leaves the inbox preview alone.');
select is((select last_change from public.conversations where id = tests.id('team')), 9::bigint,
          'Every insert, edit and delete moved the change cursor: 6 inserts, 1 edit, 2 deletes.');
select tests.throws_api_error($$ select public.delete_message(null) $$, 400, 'invalid_argument',
                              'message_id is required.', 'delete_message needs a message.');
select tests.throws_api_error($$ select public.delete_message(gen_random_uuid()) $$, 404, 'message_not_found',
                              'There is no message with this id.', 'Deleting an unknown message is a 404.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select is((select count(*)::int from public.messages), 0, 'Mallory sees no message.');
select tests.throws_api_error($$ select public.send_message(tests.id('team'), 'm1', 'let me in') $$, 403, 'not_a_member',
                              'You are not a member of this conversation.', 'Mallory cannot send to the group.');
select throws_ok($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('team'), 'm1', 'sneaky') $$,
                 '42501', 'new row violates row-level security policy for table "messages"',
                 'Mallory''s direct insert is refused by the policy.');
select tests.throws_api_error($$ select public.edit_message(tests.id('in_dm'), 'mine now') $$, 403, 'not_a_member',
                              'You are not a member of this message''s conversation.', 'Mallory cannot edit messages.');
select tests.throws_api_error($$ select public.delete_message(tests.id('in_dm')) $$, 403, 'not_a_member',
                              'You are not a member of this message''s conversation.', 'Mallory cannot delete messages.');
select is(tests.affected_rows($$ update public.messages set body = 'pwned' $$), 0,
          'Mallory''s direct update touches no row.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select count(*) from public.messages $$, '42501', 'permission denied for table messages',
                 'Anon cannot read messages.');
select throws_ok($$ select public.send_message(tests.id('team'), 'a1', 'hi') $$, '42501',
                 'permission denied for function send_message', 'Anon cannot send.');
select throws_ok($$ insert into public.messages (conversation_id, client_id, body) values (tests.id('team'), 'a1', 'hi') $$,
                 '42501', 'permission denied for table messages', 'Anon cannot insert messages.');
select throws_ok($$ select public.edit_message(tests.id('first'), 'x') $$, '42501',
                 'permission denied for function edit_message', 'Anon cannot edit.');
select throws_ok($$ select public.delete_message(tests.id('first')) $$, '42501',
                 'permission denied for function delete_message', 'Anon cannot delete.');

-- seen from the database
select tests.clear_authentication();
select results_eq($$ select count(*)::int, max(seq), sum(seq)::int from public.messages where conversation_id = tests.id('team') $$,
                  $$ values (6, 6::bigint, 21) $$, 'The group holds exactly seq 1..6.');
select is((select count(*)::int from public.messages m where m.conversation_id = tests.id('team')
            and m.body = '' and m.deleted_at is null), 0, 'Only deleted messages have an empty body.');
select tests.throws_api_error($$ update public.messages set body = '' where id = tests.id('in_dm') $$,
                              400, 'invalid_body', 'The message body must contain some text.',
                              'Even the database owner cannot blank a live message.');

select * from finish();
rollback;
