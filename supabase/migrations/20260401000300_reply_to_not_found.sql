-- A reply to a message that does not exist in the conversation is "not found"
-- (404 reply_to_not_found), like an unknown conversation, rather than a
-- malformed request: the id is well-formed, it just names nothing the caller
-- can answer. The send-message Edge Function documents 404 for both.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Trigger (messages, before insert): validates the content, rate-limits the
-- sender, locks the conversation row and numbers the message (seq = last_seq + 1,
-- change_seq = last_change + 1), then records it as the conversation's newest.
-- The lock is held until commit, so concurrent senders queue and seq has no holes.
-- Raises 400/413 content errors, 404 conversation_not_found, 404 reply_to_not_found, 429 rate_limited.
create or replace function private.messages_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
begin
  perform private.check_message_content(new.body, new.metadata);
  if new.sender_id is not null and new.sender_id = auth.uid() then
    perform private.take_token('send_message');
  end if;

  select c.* into conversation from public.conversations c where c.id = new.conversation_id for update;
  if not found then
    perform private.raise_error(404, 'conversation_not_found', 'There is no conversation with this id.');
  end if;
  if new.reply_to is not null and not exists (
    select 1 from public.messages r where r.id = new.reply_to and r.conversation_id = new.conversation_id
  ) then
    perform private.raise_error(404, 'reply_to_not_found', 'reply_to names no message of this conversation.');
  end if;

  new.seq := conversation.last_seq + 1;
  new.change_seq := conversation.last_change + 1;
  new.created_at := clock_timestamp();
  new.edited_at := null;
  new.deleted_at := null;
  new.reactions := '{}';

  update public.conversations c
     set last_seq = new.seq,
         last_change = new.change_seq,
         last_message_id = new.id,
         last_message_sender_id = new.sender_id,
         last_message_preview = left(new.body, private.preview_length()),
         last_message_at = new.created_at
   where c.id = new.conversation_id;
  return new;
end
$$;
