-- Messages: numbered per conversation with no holes (seq, assigned under the
-- conversation row lock), stamped with the conversation's change cursor on
-- every insert, edit, delete and reaction change (change_seq), idempotent per
-- (sender_id, client_id), soft-deleted. Triggers emit message.created /
-- message.updated on conversation:<id> and inbox.updated on user:<member>.

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  seq bigint not null check (seq >= 1),
  change_seq bigint not null check (change_seq >= 1),
  sender_id uuid default auth.uid() references auth.users (id) on delete set null,
  client_id text not null
    constraint messages_client_id_length check (char_length(client_id) between 1 and 100),
  kind text not null default 'text'
    constraint messages_kind_check check (kind in ('text', 'system', 'external')),
  body text not null
    -- 4000 = private.max_body_length(); the triggers report it with an API error first.
    constraint messages_body_length check (char_length(body) <= 4000),
  reply_to uuid references public.messages (id) on delete set null,
  metadata jsonb not null default '{}'
    constraint messages_metadata_is_object check (jsonb_typeof(metadata) = 'object'),
  reactions jsonb not null default '{}'
    constraint messages_reactions_is_object check (jsonb_typeof(reactions) = 'object'),
  created_at timestamptz not null default now(),
  edited_at timestamptz,
  deleted_at timestamptz,
  constraint messages_conversation_id_seq_key unique (conversation_id, seq),
  constraint messages_conversation_id_change_seq_key unique (conversation_id, change_seq),
  constraint messages_sender_id_client_id_key unique (sender_id, client_id),
  constraint messages_deleted_has_no_body check (deleted_at is null or body = '')
);
comment on table public.messages is
  'Messages of a conversation, numbered by seq 1, 2, 3... with no holes. Members read them; the sender '
  'writes them (send_message), edits and deletes them; group owners and admins may delete any.';
comment on column public.messages.seq is
  'Position in the conversation: 1 for the first message, then +1 with no holes. Assigned under the '
  'conversation row lock in the inserting transaction.';
comment on column public.messages.change_seq is
  'The conversation''s change cursor when this message last changed (insert, edit, delete, reaction). '
  'sync_conversation(since_change) returns the messages whose change_seq is greater.';
comment on column public.messages.sender_id is 'Who sent it: always the caller (auth.uid()); null once that user is deleted.';
comment on column public.messages.client_id is
  'The sender''s idempotency key (1..100 characters), unique per sender: sending again with it returns the original.';
comment on column public.messages.kind is '''text'' from members; ''system'' and ''external'' (e.g. SMS) from the server.';
comment on column public.messages.body is 'The text, at most 4000 characters; empty once deleted.';
comment on column public.messages.reply_to is 'The message of the same conversation this one answers, if any.';
comment on column public.messages.metadata is 'Client data (a JSON object, at most 4096 bytes); emptied on delete.';
comment on column public.messages.reactions is
  'Reaction summary kept by triggers: {"<emoji>": ["<user id>", ...]} in reaction order.';
comment on column public.messages.edited_at is 'When the body or metadata was last edited.';
comment on column public.messages.deleted_at is 'When it was deleted: the row and its seq stay, the body and metadata are cleared.';

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------

-- (conversation_id, seq) and (conversation_id, change_seq) come with their unique
-- constraints: get_messages pages the first, sync_conversation ranges over the second.
-- (sender_id, client_id) comes with its unique constraint: the idempotency lookup.
create index messages_search_idx on public.messages using gin (to_tsvector('simple'::regconfig, body));
create index messages_reply_to_idx on public.messages (reply_to) where reply_to is not null;

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Validates a message's body and metadata.
-- Raises 400 invalid_body (null or blank), 413 body_too_long (over max_body_length()),
-- 400 invalid_metadata (not a JSON object), 413 metadata_too_large (over max_metadata_bytes()).
create function private.check_message_content(body text, metadata jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if body is null or body !~ '[^[:space:]]' then
    perform private.raise_error(400, 'invalid_body', 'The message body must contain some text.');
  end if;
  if char_length(body) > private.max_body_length() then
    perform private.raise_error(
      413, 'body_too_long',
      format('The message body has %s characters; the limit is %s.', char_length(body), private.max_body_length()),
      'Split the text into several messages.',
      jsonb_build_object('length', char_length(body), 'max_length', private.max_body_length()));
  end if;
  if metadata is null or jsonb_typeof(metadata) <> 'object' then
    perform private.raise_error(400, 'invalid_metadata', 'metadata must be a JSON object.');
  end if;
  if octet_length(metadata::text) > private.max_metadata_bytes() then
    perform private.raise_error(
      413, 'metadata_too_large',
      format('metadata has %s bytes; the limit is %s.', octet_length(metadata::text), private.max_metadata_bytes()),
      null,
      jsonb_build_object('bytes', octet_length(metadata::text), 'max_bytes', private.max_metadata_bytes()));
  end if;
end
$$;

-- Whether the caller may update this message: a member who sent it, or an owner
-- or admin of the group (who may only delete it; the trigger enforces that).
create function private.can_modify_message(conversation_id uuid, sender_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
      from public.conversation_members m
      join public.conversations c on c.id = m.conversation_id
     where m.conversation_id = can_modify_message.conversation_id
       and m.user_id = auth.uid()
       and (m.user_id = can_modify_message.sender_id or (c.kind = 'group' and m.role in ('owner', 'admin')))
  )
$$;

-- Trigger (messages, before insert): validates the content, rate-limits the
-- sender, locks the conversation row and numbers the message (seq = last_seq + 1,
-- change_seq = last_change + 1), then records it as the conversation's newest.
-- The lock is held until commit, so concurrent senders queue and seq has no holes.
-- Raises 400/413 content errors, 404 conversation_not_found, 400 invalid_reply_to, 429 rate_limited.
create function private.messages_before_insert()
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
    perform private.raise_error(400, 'invalid_reply_to', 'reply_to must be a message of the same conversation.');
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

-- Trigger (messages, after insert): marks the message read and delivered for its
-- sender, then emits
--   message.created {record, old_record: null, operation: 'INSERT', table, schema} on conversation:<id>
--   (realtime.broadcast_changes), and inbox.updated to every member (see broadcast_inbox_updates).
create function private.messages_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.sender_id is not null then
    update public.conversation_members m
       set last_read_seq = greatest(m.last_read_seq, new.seq),
           last_delivered_seq = greatest(m.last_delivered_seq, new.seq)
     where m.conversation_id = new.conversation_id and m.user_id = new.sender_id;
  end if;
  perform realtime.broadcast_changes('conversation:' || new.conversation_id::text, 'message.created', tg_op,
                                     tg_table_name, tg_table_schema, new, old);
  perform private.broadcast_inbox_updates(new.conversation_id);
  return null;
end
$$;

-- Trigger (messages, before update): the rules of editing and deleting, and the change cursor.
-- * A deleted message stays deleted and cannot be edited (409 message_deleted).
-- * Delete (deleted_at set): deleted_at = now, body and metadata cleared.
-- * Edit (body or metadata changed): only by the sender (403 not_allowed), not in a blocked
--   direct conversation (403 blocked), content checked, edited_at = now.
-- * Edits and deletes a client makes are rate-limited (edit_message).
-- * Any edit, delete or reaction-summary change locks the conversation and takes the next change_seq.
create function private.messages_before_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := auth.uid();
  conversation public.conversations;
  is_delete boolean;
  is_edit boolean;
begin
  is_delete := new.deleted_at is not null and old.deleted_at is null;
  if old.deleted_at is not null
     and (new.deleted_at is null or new.body is distinct from old.body or new.metadata is distinct from old.metadata) then
    perform private.raise_error(409, 'message_deleted', 'This message was deleted.');
  end if;
  is_edit := not is_delete and (new.body is distinct from old.body or new.metadata is distinct from old.metadata);

  if is_delete then
    new.deleted_at := clock_timestamp();
    new.body := '';
    new.metadata := '{}';
  elsif is_edit then
    if caller_id is not null and caller_id is distinct from old.sender_id then
      perform private.raise_error(403, 'not_allowed', 'Only the sender can edit a message.');
    end if;
    if caller_id is not null and private.is_dm_blocked(old.conversation_id) then
      perform private.raise_error(403, 'blocked', 'You cannot write to this conversation.');
    end if;
    perform private.check_message_content(new.body, new.metadata);
    new.edited_at := clock_timestamp();
  end if;

  if (is_delete or is_edit) and caller_id is not null and pg_trigger_depth() = 1 then
    perform private.take_token('edit_message');
  end if;
  if not (is_delete or is_edit or new.reactions is distinct from old.reactions) then
    return new;
  end if;

  select c.* into conversation from public.conversations c where c.id = new.conversation_id for update;
  new.change_seq := conversation.last_change + 1;
  update public.conversations c
     set last_change = new.change_seq,
         last_message_preview = case
           when c.last_message_id is distinct from new.id then c.last_message_preview
           when new.deleted_at is not null then null
           else left(new.body, private.preview_length())
         end
   where c.id = new.conversation_id;
  return new;
end
$$;

-- Trigger (messages, after update): on an edit or delete emits
--   message.updated {record, old_record, operation: 'UPDATE', table, schema} on conversation:<id>
--   (realtime.broadcast_changes; old_record never carries the previous body or metadata),
-- and, when it is the conversation's newest message, inbox.updated to every member.
-- Reaction-summary changes are announced by reaction.changed instead.
create function private.messages_after_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  previous public.messages;
begin
  if (new.body, new.metadata, new.deleted_at) is not distinct from (old.body, old.metadata, old.deleted_at) then
    return null;
  end if;
  previous := old;
  previous.body := null;
  previous.metadata := null;
  perform realtime.broadcast_changes('conversation:' || new.conversation_id::text, 'message.updated', tg_op,
                                     tg_table_name, tg_table_schema, new, previous);
  if exists (select 1 from public.conversations c where c.id = new.conversation_id and c.last_message_id = new.id) then
    perform private.broadcast_inbox_updates(new.conversation_id);
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------

create trigger messages_before_insert
  before insert on public.messages
  for each row execute function private.messages_before_insert();

create trigger messages_after_insert
  after insert on public.messages
  for each row execute function private.messages_after_insert();

create trigger messages_before_update
  before update on public.messages
  for each row execute function private.messages_before_update();

create trigger messages_after_update
  after update on public.messages
  for each row execute function private.messages_after_update();

-- ---------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------

alter table public.messages enable row level security;

create policy messages_select_member on public.messages
  for select to authenticated
  using (conversation_id in (select private.my_conversation_ids()));

create policy messages_insert_member_as_sender on public.messages
  for insert to authenticated
  with check (sender_id = (select auth.uid()) and private.can_post(conversation_id));

create policy messages_update_sender_or_group_admin on public.messages
  for update to authenticated
  using (private.can_modify_message(conversation_id, sender_id))
  with check (private.can_modify_message(conversation_id, sender_id));

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on public.messages from anon, authenticated;
grant select on public.messages to authenticated;
grant insert (conversation_id, client_id, body, reply_to, metadata) on public.messages to authenticated;
grant update (body, metadata, deleted_at) on public.messages to authenticated;

revoke all on function private.check_message_content(text, jsonb) from public, anon;
revoke all on function private.can_modify_message(uuid, uuid) from public, anon;
revoke all on function private.messages_before_insert() from public, anon, authenticated;
revoke all on function private.messages_after_insert() from public, anon, authenticated;
revoke all on function private.messages_before_update() from public, anon, authenticated;
revoke all on function private.messages_after_update() from public, anon, authenticated;

grant execute on function private.check_message_content(text, jsonb) to authenticated;
grant execute on function private.can_modify_message(uuid, uuid) to authenticated;
