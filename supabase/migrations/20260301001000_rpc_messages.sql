-- RPC API, writing: send, edit and delete messages, react, mark read and
-- delivered. These run as the caller and write through the tables' policies;
-- the triggers number messages, move cursors, rate-limit and emit events.

-- ---------------------------------------------------------------------------
-- types
-- ---------------------------------------------------------------------------

create type public.read_state as (
  conversation_id uuid,
  last_seq bigint,
  last_read_seq bigint,
  last_delivered_seq bigint,
  unread_count bigint
);
comment on type public.read_state is
  'A member''s read state in a conversation as mark_read / mark_delivered return it; '
  'unread_count = last_seq - last_read_seq.';

-- ---------------------------------------------------------------------------
-- functions: private helpers
-- ---------------------------------------------------------------------------

-- The message with this id, if the caller is a member of its conversation.
-- Raises 400 invalid_argument (null), 404 message_not_found (no such message),
-- 403 not_a_member (the caller is not in its conversation).
create function private.require_message(message_id uuid)
returns public.messages
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  target public.messages;
begin
  perform private.require_argument('message_id', require_message.message_id is null);
  select m.* into target from public.messages m where m.id = require_message.message_id;
  if not found then
    perform private.raise_error(404, 'message_not_found', 'There is no message with this id.');
  end if;
  if not private.is_member(target.conversation_id) then
    perform private.raise_error(403, 'not_a_member', 'You are not a member of this message''s conversation.');
  end if;
  return target;
end
$$;

-- Raises 400 invalid_emoji unless emoji has 1..32 characters and no spaces.
create function private.check_emoji(emoji text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if emoji is null or char_length(emoji) not between 1 and 32 or emoji ~ '[[:space:]]' then
    perform private.raise_error(400, 'invalid_emoji', 'emoji must have 1 to 32 characters and no spaces.');
  end if;
end
$$;

-- Raises 400 invalid_seq unless 0 <= seq <= last_seq; `argument` names the parameter.
create function private.check_seq(argument text, seq bigint, last_seq bigint)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_argument(argument, seq is null);
  if seq < 0 then
    perform private.raise_error(400, 'invalid_seq', format('%s must be 0 or more.', argument),
                                null, jsonb_build_object('argument', argument));
  end if;
  if seq > last_seq then
    perform private.raise_error(
      400, 'invalid_seq',
      format('%s %s is beyond the last message of the conversation (%s).', argument, seq, last_seq),
      null, jsonb_build_object('argument', argument, 'last_seq', last_seq));
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: the API (security invoker)
-- ---------------------------------------------------------------------------

-- Sends a message as the caller. Idempotent per (caller, client_id): a retry
-- returns the original message and writes and emits nothing, also when retries race.
-- Args: conversation_id, client_id (1..100 characters, chosen by the client),
-- body (1..4000 characters, not blank), reply_to (a message of the same
-- conversation, optional), metadata (a JSON object of at most 4096 bytes).
-- Returns {"message": <messages row>, "created": true} the first time,
-- {"message": <the original>, "created": false} for a retry.
-- Emits message.created, inbox.updated (per member, up to the fan-out limit) and
-- the sender's receipt (their last_read_seq moves to the new seq).
-- Errors: 400 invalid_argument / invalid_client_id / invalid_body / invalid_metadata /
-- invalid_reply_to, 413 body_too_long / metadata_too_large, 404 conversation_not_found,
-- 403 not_a_member / blocked, 409 client_id_conflict (the key was used in another
-- conversation), 429 rate_limited.
create function public.send_message(
  conversation_id uuid,
  client_id text,
  body text,
  reply_to uuid default null,
  metadata jsonb default '{}'
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  sent public.messages;
  violated text;
begin
  perform private.require_argument('conversation_id', send_message.conversation_id is null);
  perform private.require_argument('client_id', send_message.client_id is null);
  if char_length(send_message.client_id) not between 1 and 100 or send_message.client_id !~ '[^[:space:]]' then
    perform private.raise_error(400, 'invalid_client_id', 'client_id must have 1 to 100 characters, not all blank.');
  end if;
  perform private.check_message_content(send_message.body, send_message.metadata);
  perform private.require_member(send_message.conversation_id);

  -- A retry: answer with the original.
  select m.* into sent from public.messages m
   where m.sender_id = caller_id and m.client_id = send_message.client_id;
  if found then
    if sent.conversation_id <> send_message.conversation_id then
      perform private.raise_error(409, 'client_id_conflict',
                                  'This client_id was already used for a message in another conversation.');
    end if;
    return jsonb_build_object('message', to_jsonb(sent), 'created', false);
  end if;

  if private.is_dm_blocked(send_message.conversation_id) then
    perform private.raise_error(403, 'blocked', 'You cannot write to this conversation.');
  end if;

  begin
    insert into public.messages (conversation_id, client_id, body, reply_to, metadata)
    values (send_message.conversation_id, send_message.client_id, send_message.body, send_message.reply_to,
            send_message.metadata)
    returning * into sent;
  exception when unique_violation then
    -- A concurrent retry with the same client_id committed first: answer with its message.
    get stacked diagnostics violated = constraint_name;
    if violated is distinct from 'messages_sender_id_client_id_key' then
      raise;
    end if;
    select m.* into sent from public.messages m
     where m.sender_id = caller_id and m.client_id = send_message.client_id;
    if not found or sent.conversation_id <> send_message.conversation_id then
      perform private.raise_error(409, 'client_id_conflict',
                                  'This client_id was already used for a message in another conversation.');
    end if;
    return jsonb_build_object('message', to_jsonb(sent), 'created', false);
  end;
  return jsonb_build_object('message', to_jsonb(sent), 'created', true);
end
$$;

-- Replaces the body of one of the caller's messages.
-- Args: message_id, body (as for send_message). Returns the updated messages row
-- (unchanged, and no event, when the body is the same).
-- Emits message.updated (and inbox.updated when it is the newest message).
-- Errors: 400 invalid_argument / invalid_body, 413 body_too_long, 404 message_not_found,
-- 403 not_a_member / not_allowed (not the sender) / blocked, 409 message_deleted, 429.
create function public.edit_message(message_id uuid, body text)
returns public.messages
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  target public.messages;
begin
  perform private.require_argument('message_id', edit_message.message_id is null);
  perform private.check_message_content(edit_message.body, '{}'::jsonb);
  target := private.require_message(edit_message.message_id);
  if target.deleted_at is not null then
    perform private.raise_error(409, 'message_deleted', 'This message was deleted.');
  end if;
  if target.sender_id is distinct from caller_id then
    perform private.raise_error(403, 'not_allowed', 'Only the sender can edit a message.');
  end if;
  if private.is_dm_blocked(target.conversation_id) then
    perform private.raise_error(403, 'blocked', 'You cannot write to this conversation.');
  end if;
  if target.body = edit_message.body then
    return target;
  end if;
  update public.messages m set body = edit_message.body where m.id = target.id
  returning * into target;
  return target;
end
$$;

-- Deletes a message softly: the row and its seq stay, body and metadata are cleared,
-- deleted_at is set. The sender may delete their message; a group's owner and admins any.
-- Idempotent: deleting a deleted message returns it unchanged.
-- Args: message_id. Returns the messages row.
-- Emits message.updated (and inbox.updated when it is the newest message).
-- Errors: 400 invalid_argument, 404 message_not_found, 403 not_a_member / not_allowed, 429.
create function public.delete_message(message_id uuid)
returns public.messages
language plpgsql
set search_path = ''
as $$
declare
  target public.messages;
begin
  perform private.require_user();
  target := private.require_message(delete_message.message_id);
  if target.deleted_at is not null then
    return target;
  end if;
  if not private.can_modify_message(target.conversation_id, target.sender_id) then
    perform private.raise_error(403, 'not_allowed',
                                'Only the sender, or an owner or admin of the group, can delete a message.');
  end if;
  update public.messages m set deleted_at = now() where m.id = target.id
  returning * into target;
  return target;
end
$$;

-- Adds the caller's reaction to a message. Idempotent.
-- Args: message_id, emoji (1..32 characters, no spaces). Returns the messages row with
-- its reaction summary. Emits reaction.changed (action 'added') when it is new.
-- Errors: 400 invalid_argument / invalid_emoji, 404 message_not_found,
-- 403 not_a_member / blocked, 409 message_deleted / too_many_reactions, 429.
create function public.add_reaction(message_id uuid, emoji text)
returns public.messages
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  target public.messages;
begin
  perform private.require_argument('message_id', add_reaction.message_id is null);
  perform private.check_emoji(add_reaction.emoji);
  target := private.require_message(add_reaction.message_id);
  if target.deleted_at is not null then
    perform private.raise_error(409, 'message_deleted', 'This message was deleted.');
  end if;
  if private.is_dm_blocked(target.conversation_id) then
    perform private.raise_error(403, 'blocked', 'You cannot write to this conversation.');
  end if;
  if not exists (select 1 from public.message_reactions r
                  where r.message_id = target.id and r.user_id = caller_id and r.emoji = add_reaction.emoji) then
    insert into public.message_reactions (message_id, emoji)
    values (target.id, add_reaction.emoji)
    on conflict do nothing;
    select m.* into target from public.messages m where m.id = target.id;
  end if;
  return target;
end
$$;

-- Removes the caller's reaction from a message. Idempotent.
-- Args: message_id, emoji. Returns the messages row with its reaction summary.
-- Emits reaction.changed (action 'removed') when there was one.
-- Errors: 400 invalid_argument / invalid_emoji, 404 message_not_found, 403 not_a_member, 429.
create function public.remove_reaction(message_id uuid, emoji text)
returns public.messages
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  target public.messages;
begin
  perform private.require_argument('message_id', remove_reaction.message_id is null);
  perform private.check_emoji(remove_reaction.emoji);
  target := private.require_message(remove_reaction.message_id);
  delete from public.message_reactions r
   where r.message_id = target.id and r.user_id = caller_id and r.emoji = remove_reaction.emoji;
  if found then
    select m.* into target from public.messages m where m.id = target.id;
  end if;
  return target;
end
$$;

-- Marks the conversation read up to seq (and delivered as far). Never moves backwards:
-- a lower seq changes nothing and returns the current state.
-- Args: conversation_id, seq (0..last_seq). Returns read_state.
-- Emits receipt and inbox.updated (to the caller's user topic) when it moved.
-- Errors: 400 invalid_argument / invalid_seq (negative, beyond the last message),
-- 404 conversation_not_found, 403 not_a_member, 429.
create function public.mark_read(conversation_id uuid, seq bigint)
returns public.read_state
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  membership public.conversation_members;
  current_last_seq bigint;
begin
  perform private.require_argument('conversation_id', mark_read.conversation_id is null);
  perform private.require_argument('seq', mark_read.seq is null);
  membership := private.require_member(mark_read.conversation_id);
  select c.last_seq into current_last_seq from public.conversations c where c.id = mark_read.conversation_id;
  perform private.check_seq('seq', mark_read.seq, current_last_seq);
  if mark_read.seq > membership.last_read_seq then
    update public.conversation_members m set last_read_seq = mark_read.seq
     where m.conversation_id = mark_read.conversation_id and m.user_id = caller_id
    returning * into membership;
  end if;
  return row(mark_read.conversation_id, current_last_seq, membership.last_read_seq,
             membership.last_delivered_seq, greatest(current_last_seq - membership.last_read_seq, 0))::public.read_state;
end
$$;

-- Marks the conversation delivered up to seq (a device received it). Never moves backwards.
-- Args: conversation_id, seq (0..last_seq). Returns read_state.
-- Emits receipt when it moved.
-- Errors: as mark_read.
create function public.mark_delivered(conversation_id uuid, seq bigint)
returns public.read_state
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  membership public.conversation_members;
  current_last_seq bigint;
begin
  perform private.require_argument('conversation_id', mark_delivered.conversation_id is null);
  perform private.require_argument('seq', mark_delivered.seq is null);
  membership := private.require_member(mark_delivered.conversation_id);
  select c.last_seq into current_last_seq from public.conversations c where c.id = mark_delivered.conversation_id;
  perform private.check_seq('seq', mark_delivered.seq, current_last_seq);
  if mark_delivered.seq > membership.last_delivered_seq then
    update public.conversation_members m set last_delivered_seq = mark_delivered.seq
     where m.conversation_id = mark_delivered.conversation_id and m.user_id = caller_id
    returning * into membership;
  end if;
  return row(mark_delivered.conversation_id, current_last_seq, membership.last_read_seq,
             membership.last_delivered_seq, greatest(current_last_seq - membership.last_read_seq, 0))::public.read_state;
end
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.require_message(uuid) from public, anon;
revoke all on function private.check_emoji(text) from public, anon;
revoke all on function private.check_seq(text, bigint, bigint) from public, anon;
grant execute on function private.require_message(uuid) to authenticated;
grant execute on function private.check_emoji(text) to authenticated;
grant execute on function private.check_seq(text, bigint, bigint) to authenticated;

revoke all on function public.send_message(uuid, text, text, uuid, jsonb) from public, anon;
revoke all on function public.edit_message(uuid, text) from public, anon;
revoke all on function public.delete_message(uuid) from public, anon;
revoke all on function public.add_reaction(uuid, text) from public, anon;
revoke all on function public.remove_reaction(uuid, text) from public, anon;
revoke all on function public.mark_read(uuid, bigint) from public, anon;
revoke all on function public.mark_delivered(uuid, bigint) from public, anon;
grant execute on function public.send_message(uuid, text, text, uuid, jsonb) to authenticated;
grant execute on function public.edit_message(uuid, text) to authenticated;
grant execute on function public.delete_message(uuid) to authenticated;
grant execute on function public.add_reaction(uuid, text) to authenticated;
grant execute on function public.remove_reaction(uuid, text) to authenticated;
grant execute on function public.mark_read(uuid, bigint) to authenticated;
grant execute on function public.mark_delivered(uuid, bigint) to authenticated;
