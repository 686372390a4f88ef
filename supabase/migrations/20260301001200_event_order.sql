-- Event order on send: message.created first, then the sender's receipt, then
-- inbox.updated. Subscribers hear about a message before any receipt that counts
-- it (realtime streams a transaction's rows in the order they were written).

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Trigger (messages, after insert): emits
--   message.created {record, old_record: null, operation: 'INSERT', table, schema} on conversation:<id>
--   (realtime.broadcast_changes); then marks the message read and delivered for its sender
--   (which emits their receipt); then inbox.updated to every member (see broadcast_inbox_updates).
create or replace function private.messages_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform realtime.broadcast_changes('conversation:' || new.conversation_id::text, 'message.created', tg_op,
                                     tg_table_name, tg_table_schema, new, old);
  if new.sender_id is not null then
    update public.conversation_members m
       set last_read_seq = greatest(m.last_read_seq, new.seq),
           last_delivered_seq = greatest(m.last_delivered_seq, new.seq)
     where m.conversation_id = new.conversation_id and m.user_id = new.sender_id;
  end if;
  perform private.broadcast_inbox_updates(new.conversation_id);
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.messages_after_insert() from public, anon, authenticated;
