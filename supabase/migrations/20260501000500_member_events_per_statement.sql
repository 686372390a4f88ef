-- Member events once per statement, not once per row. Creating a group of 100, or
-- adding 100 members, ran the row trigger 100 times, each writing its events in a
-- subtransaction of its own (private.send_events, like realtime.send, keeps a lost
-- event from failing the write); past 64 subtransactions with an xid, every
-- concurrent snapshot of the database gets slower. Statement triggers with
-- transition tables write each statement's events in one insert, and rotate a
-- conversation once however many of its members one statement removes.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Trigger (conversation_members, after insert, per statement; `added` = the new rows):
-- recounts the members of each conversation concerned and emits, per new member,
--   member.changed {operation: 'INSERT', conversation_id, user_id, role, record, old_record: null}
--     on the conversation's topic;
--   conversation.added {<the new member's inbox entry, without cursor>, added_by} on user:<new member>.
create or replace function private.members_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
  events private.broadcast_event[] := '{}';
begin
  for conversation in
    update public.conversations c
       set member_count = (select count(*) from public.conversation_members m where m.conversation_id = c.id)
     where c.id in (select a.conversation_id from added a)
    returning c.*
  loop
    events := events || array(
      select row(gen_random_uuid(), conversation.topic, 'member.changed',
                 jsonb_build_object('operation', 'INSERT', 'conversation_id', a.conversation_id, 'user_id', a.user_id,
                                    'role', a.role, 'record', to_jsonb(a), 'old_record', null))::private.broadcast_event
        from added a
       where a.conversation_id = conversation.id
       order by a.user_id
    ) || array(
      select row(private.preview_event_id(conversation), 'user:' || a.user_id::text, 'conversation.added',
                 to_jsonb(private.inbox_entry(conversation, a)) - 'cursor'
                   || jsonb_build_object('added_by', auth.uid()))::private.broadcast_event
        from added a
       where a.conversation_id = conversation.id
       order by a.user_id
    );
  end loop;
  perform private.send_events(events);
  return null;
end
$$;

-- Trigger (conversation_members, after delete, per statement; `removed` = the deleted rows):
-- for each conversation concerned that still exists, recounts its members, moves its
-- topic epoch on (unless nobody is left: it is about to be deleted), and emits, in order:
--   member.changed {operation: 'DELETE', conversation_id, user_id, role, record: null, old_record}
--     on the old topic, per former member;
--   conversation.removed {conversation_id, kind, title, reason: 'left' | 'removed', removed_by}
--     on user:<former member>;
--   conversation.rotated {conversation_id, topic, live_topic, epoch, change} on the old topic
--     and on user:<id> of every remaining member.
create or replace function private.members_after_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := auth.uid();
  changed record;
  old_topic text;
  conversation public.conversations;
  events private.broadcast_event[] := '{}';
begin
  -- (The subqueries of an UPDATE see the rows as they were: `previous` has the old topic.)
  for changed in
    update public.conversations c
       set member_count = remaining.members,
           topic_epoch = c.topic_epoch + case when remaining.members > 0 then 1 else 0 end
      from (select r.conversation_id, (select count(*)::integer from public.conversation_members m
                                        where m.conversation_id = r.conversation_id) as members
              from (select distinct conversation_id from removed) r) remaining,
           (select c0.id, c0.topic from public.conversations c0) previous
     where c.id = remaining.conversation_id and previous.id = c.id
    returning previous.topic as old_topic, c as conversation
  loop
    old_topic := changed.old_topic;
    conversation := changed.conversation;
    events := events || array(
      select row(gen_random_uuid(), old_topic, 'member.changed',
                 jsonb_build_object('operation', 'DELETE', 'conversation_id', r.conversation_id, 'user_id', r.user_id,
                                    'role', r.role, 'record', null, 'old_record', to_jsonb(r)))::private.broadcast_event
        from removed r
       where r.conversation_id = conversation.id
       order by r.user_id
    ) || array(
      select row(gen_random_uuid(), 'user:' || r.user_id::text, 'conversation.removed',
                 jsonb_build_object('conversation_id', r.conversation_id, 'kind', conversation.kind,
                                    'title', conversation.title,
                                    'reason', case when caller_id = r.user_id then 'left' else 'removed' end,
                                    'removed_by', caller_id))::private.broadcast_event
        from removed r
       where r.conversation_id = conversation.id
       order by r.user_id
    );
    if conversation.member_count > 0 then
      events := events || row(gen_random_uuid(), old_topic, 'conversation.rotated',
                              private.rotated_payload(conversation))::private.broadcast_event || array(
        select row(gen_random_uuid(), 'user:' || m.user_id::text, 'conversation.rotated',
                   private.rotated_payload(conversation))::private.broadcast_event
          from public.conversation_members m
         where m.conversation_id = conversation.id
         order by m.user_id);
    end if;
  end loop;
  perform private.send_events(events);
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------

drop trigger members_after_insert on public.conversation_members;
create trigger members_after_insert
  after insert on public.conversation_members
  referencing new table as added
  for each statement execute function private.members_after_insert();

drop trigger members_after_delete on public.conversation_members;
create trigger members_after_delete
  after delete on public.conversation_members
  referencing old table as removed
  for each statement execute function private.members_after_delete();
