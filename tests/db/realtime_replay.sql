-- Stored events keep no text that was edited or deleted: realtime.messages rows are
-- replayable for days (broadcast.replay), so an edit or delete removes every stored
-- event that carries the message's previous content before announcing its new state.
begin;
select plan(13);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');

-- Every stored event that mentions `needle` anywhere in its payload.
create function pg_temp.events_mentioning(needle text)
returns integer
language sql
as $$
  select count(*)::integer from realtime.messages m where strpos(m.payload::text, needle) > 0
$$;

select tests.authenticate_as('alice');
select tests.remember('team', (select id from public.create_group_conversation('Team', array[tests.get_user_id('bob')])));
select tests.remember('secret', (public.send_message(tests.id('team'), 's1', 'the secret plan',
                                                       metadata => '{"note": "classified"}') -> 'message' ->> 'id')::uuid);
select tests.clear_authentication();
select tests.authenticate_as('bob');
select public.mark_read(tests.id('team'), 1);
select tests.clear_authentication();
select tests.authenticate_as('alice');
select public.add_conversation_members(tests.id('team'), array[tests.get_user_id('carol')]);
select tests.clear_authentication();

select is(pg_temp.events_mentioning('the secret plan'), 5,
          'Before the edit the text is stored five times: message.created, three inbox previews, Carol''s conversation.added.');
select ok((select bool_and(left(m.id::text, 18) = left(tests.id('secret')::text, 18)) from realtime.messages m
            where strpos(m.payload::text, 'the secret plan') > 0),
          'Every stored event carrying the message''s content has an id starting with the message id.');

-- an edit forgets the old text
select tests.authenticate_as('alice');
select public.edit_message(tests.id('secret'), 'a harmless plan');
select tests.clear_authentication();
select is(pg_temp.events_mentioning('the secret plan'), 0, 'After the edit no stored event holds the old text.');
select is(pg_temp.events_mentioning('classified'), 1,
          'The unchanged metadata is stored once, in message.updated (the inbox previews carry only text).');
select is((select count(*)::int from realtime.messages
            where event = 'message.updated' and payload -> 'record' ->> 'body' = 'a harmless plan'), 1,
          'The edit is announced with the new text.');
select is(pg_temp.events_mentioning('a harmless plan'), 4,
          'The new text is stored in message.updated and the three members'' refreshed previews only.');
select is((select count(*)::int from realtime.messages where event = 'member.changed'), 3,
          'Events without the message''s content are kept.');

-- a second edit forgets the first edit's text too
select tests.authenticate_as('alice');
select public.edit_message(tests.id('secret'), 'the final plan');
select tests.clear_authentication();
select is(pg_temp.events_mentioning('a harmless plan'), 0, 'A second edit forgets the first edit''s text.');

-- another message's events are untouched
select tests.authenticate_as('bob');
select tests.remember('other', (public.send_message(tests.id('team'), 'b1', 'unrelated words') -> 'message' ->> 'id')::uuid);
select tests.clear_authentication();
select tests.authenticate_as('alice');
select public.delete_message(tests.id('secret'));
select tests.clear_authentication();
select is(pg_temp.events_mentioning('the final plan') + pg_temp.events_mentioning('classified'), 0,
          'After the delete no stored event holds the text or the metadata.');
select is((select count(*)::int from realtime.messages
            where event = 'message.updated' and payload -> 'record' ->> 'id' = tests.id('secret')::text
              and payload -> 'record' ->> 'deleted_at' is not null and payload -> 'record' ->> 'body' = ''), 1,
          'The delete is announced with the cleared record.');
select is(pg_temp.events_mentioning('unrelated words'), 4,
          'Another message''s events (message.created and three previews) are untouched.');

-- deleting the newest message empties the previews stored for it
select tests.authenticate_as('bob');
select public.delete_message(tests.id('other'));
select tests.clear_authentication();
select is(pg_temp.events_mentioning('unrelated words'), 0, 'Deleting the newest message forgets its previews too.');
select is((select count(*)::int from realtime.messages where event = 'inbox.updated'
            and payload -> 'last_message' ->> 'id' = tests.id('other')::text
            and payload -> 'last_message' ->> 'preview' is null), 3,
          'Each member''s inbox is refreshed with the deleted preview (null).');

select * from finish();
rollback;
