-- A cheaper send, same guarantees (docs/performance.md, "A cheaper send").
--
-- * send_message's work moves to private.send_message, security definer: it checks
--   membership and blocking itself (require_member, is_dm_blocked), so the insert no
--   longer runs the RLS policies of
--   messages, which checked the same facts again (can_post on insert,
--   my_conversation_ids on the idempotency lookup and on RETURNING). Direct inserts
--   through the API still meet those policies.
-- * The content is checked once, by the BEFORE INSERT trigger, which every insert
--   passes (send_message checked it too).
-- * No subtransaction: a retry racing its original (same sender and client_id) waited
--   for a unique violation and caught it in an exception block. Now a send takes a
--   transaction lock on (sender, client_id) before looking the key up, and the trigger
--   takes the same lock for any insert of a user's message, so the second of two
--   racing sends finds the first one's committed row.
-- * Event ids, and the metadata depth check, in PL/pgSQL: as SQL functions with
--   `set search_path` they could not be inlined and were parsed and planned again at
--   every call (three event ids and one depth check a send).

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

create or replace function private.content_event_id(message_id uuid)
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
begin
  return (left(content_event_id.message_id::text, 18) || right(gen_random_uuid()::text, 18))::uuid;
end
$$;

create or replace function private.preview_event_id(c public.conversations)
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
begin
  if c.last_message_id is null then
    return gen_random_uuid();
  end if;
  return private.content_event_id(c.last_message_id);
end
$$;

create or replace function private.nests_too_deep(value jsonb)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return jsonb_path_exists(nests_too_deep.value, format('strict $.**{%s}', private.max_json_depth())::jsonpath);
end
$$;

-- Serializes the inserts of one sender's messages with the same client_id (until commit).
create function private.lock_client_id(sender_id uuid, client_id text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('message:' || lock_client_id.sender_id::text || ':' || lock_client_id.client_id, 0));
end
$$;

-- Trigger (messages, before insert): as before (20260401000300), and first takes the
-- client_id lock of a user's message (see lock_client_id).
create or replace function private.messages_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
begin
  if new.sender_id is not null then
    perform private.lock_client_id(new.sender_id, new.client_id);
  end if;
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

-- public.send_message: stores a message from the caller, or answers a retry with the original.
-- Args: conversation_id, client_id (the idempotency key, 1–100 characters, unique per
-- sender), body, reply_to (a message of the same conversation), metadata (a JSON object).
-- Returns {"message": <the messages row>, "created": true} for a new message,
-- {"message": <the original>, "created": false} for a retry.
-- Emits message.created and inbox.updated (per member, up to the fan-out limit).
-- Errors: 400 invalid_argument / invalid_client_id / invalid_body / invalid_metadata,
-- 413 body_too_long / metadata_too_large, 404 conversation_not_found / reply_to_not_found,
-- 403 not_a_member / blocked, 409 client_id_conflict (the key was used in another
-- conversation), 429 rate_limited.
-- Security definer: it checks membership and blocking itself, once; the insert's
-- trigger checks the content, rate-limits and numbers the message.
create function private.send_message(
  conversation_id uuid,
  client_id text,
  body text,
  reply_to uuid default null,
  metadata jsonb default '{}'
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  sent public.messages;
begin
  perform private.require_argument('conversation_id', send_message.conversation_id is null);
  perform private.require_argument('client_id', send_message.client_id is null);
  if char_length(send_message.client_id) not between 1 and 100 or send_message.client_id !~ '[^[:space:]]' then
    perform private.raise_error(400, 'invalid_client_id', 'client_id must have 1 to 100 characters, not all blank.');
  end if;
  perform private.require_member(send_message.conversation_id);

  -- A retry: answer with the original. Under the lock, a racing original has committed.
  perform private.lock_client_id(caller_id, send_message.client_id);
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

  insert into public.messages (conversation_id, sender_id, client_id, body, reply_to, metadata)
  values (send_message.conversation_id, caller_id, send_message.client_id, send_message.body,
          send_message.reply_to, send_message.metadata)
  returning * into sent;
  return jsonb_build_object('message', to_jsonb(sent), 'created', true);
end
$$;

-- The RPC (see private.send_message). PL/pgSQL rather than SQL: its plan is kept for the
-- session, where a SQL function with `set search_path` is parsed at every call.
create or replace function public.send_message(
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
begin
  return private.send_message(send_message.conversation_id, send_message.client_id, send_message.body,
                              send_message.reply_to, send_message.metadata);
end
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.lock_client_id(uuid, text) from public, anon, authenticated, service_role;
revoke all on function private.send_message(uuid, text, text, uuid, jsonb) from public, anon;
grant execute on function private.send_message(uuid, text, text, uuid, jsonb) to authenticated, service_role;
