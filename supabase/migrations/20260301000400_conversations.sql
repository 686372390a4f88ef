-- Conversations, their members and blocked users, with the helpers every
-- policy and RPC uses to decide who is a member, and the events that tell
-- members about membership: member.changed on conversation:<id>,
-- conversation.added / conversation.removed on user:<id>.

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  kind text not null
    constraint conversations_kind_check check (kind in ('direct', 'group')),
  title text
    constraint conversations_title_length check (title is null or char_length(title) between 1 and 100),
  direct_key text unique,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  member_count integer not null default 0 check (member_count >= 0),
  last_seq bigint not null default 0 check (last_seq >= 0),
  last_change bigint not null default 0 check (last_change >= 0),
  last_message_id uuid,
  last_message_sender_id uuid,
  last_message_preview text,
  last_message_at timestamptz not null default now(),
  constraint conversations_direct_key_iff_direct check ((kind = 'direct') = (direct_key is not null)),
  constraint conversations_group_has_title check (kind = 'direct' or title is not null),
  constraint conversations_direct_key_format check (
    direct_key is null
    or direct_key ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  )
);
comment on table public.conversations is
  'A direct conversation (exactly two members, once per pair) or a group. Members read it; it changes only '
  'through the RPCs and triggers.';
comment on column public.conversations.kind is '''direct'' (two members, no title) or ''group'' (titled, owner/admins/members).';
comment on column public.conversations.title is 'The group''s title (1..100 characters); null for direct conversations.';
comment on column public.conversations.direct_key is
  'For a direct conversation: its two user ids, sorted, joined by '':''. Unique, so a pair has one direct conversation.';
comment on column public.conversations.member_count is 'How many members it has (kept by triggers).';
comment on column public.conversations.last_seq is
  'seq of the newest message (0: none). Messages are numbered 1..last_seq with no holes.';
comment on column public.conversations.last_change is
  'The newest change cursor: bumped (under this row''s lock) by every message insert, edit, delete and '
  'reaction change, and stored on the changed message as messages.change_seq.';
comment on column public.conversations.last_message_id is 'The newest message (seq = last_seq), for the inbox.';
comment on column public.conversations.last_message_sender_id is 'Who sent the newest message.';
comment on column public.conversations.last_message_preview is
  'The first 140 characters of the newest message; null when it was deleted or there is none.';
comment on column public.conversations.last_message_at is
  'When the newest message was sent (creation time until the first): the inbox is sorted by it, newest first.';

create table public.conversation_members (
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member'
    constraint conversation_members_role_check check (role in ('owner', 'admin', 'member')),
  joined_at timestamptz not null default now(),
  last_read_seq bigint not null default 0 check (last_read_seq >= 0),
  last_delivered_seq bigint not null default 0 check (last_delivered_seq >= 0),
  muted_until timestamptz,
  primary key (conversation_id, user_id),
  constraint conversation_members_delivered_covers_read check (last_delivered_seq >= last_read_seq)
);
comment on table public.conversation_members is
  'Who is in which conversation, with their role and read state. Members see the other members'' rows.';
comment on column public.conversation_members.role is
  '''owner'' (one per group, who created it), ''admin'' or ''member''. Members of a direct conversation are ''member''.';
comment on column public.conversation_members.last_read_seq is
  'The member has read every message up to this seq. Only moves forward; unread count = conversations.last_seq - last_read_seq.';
comment on column public.conversation_members.last_delivered_seq is
  'Messages up to this seq reached one of the member''s devices. Only moves forward; never below last_read_seq.';
comment on column public.conversation_members.muted_until is 'The member muted notifications until then (null: not muted).';

create table private.blocked_users (
  blocker_id uuid not null references auth.users (id) on delete cascade,
  blocked_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (blocker_id, blocked_id),
  constraint blocked_users_not_self check (blocker_id <> blocked_id)
);
comment on table private.blocked_users is
  'blocker_id blocked blocked_id: neither can open a direct conversation with the other, nor write to the one '
  'they have. Private: nobody learns who blocked them.';

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------

-- "My conversations": policies, list_inbox, the realtime topic check.
create index conversation_members_user_id_idx on public.conversation_members (user_id, conversation_id);
create index conversations_created_by_idx on public.conversations (created_by);
create index blocked_users_blocked_id_idx on private.blocked_users (blocked_id);

-- ---------------------------------------------------------------------------
-- functions: membership helpers (used by policies and RPCs)
-- ---------------------------------------------------------------------------

-- The ids of the conversations the caller is a member of.
-- Security definer so that policies on conversation_members can use it without recursion.
create function private.my_conversation_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.conversation_id from public.conversation_members m where m.user_id = auth.uid()
$$;

-- Whether the caller is a member of the conversation.
create function private.is_member(conversation_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.conversation_members m
     where m.conversation_id = is_member.conversation_id and m.user_id = auth.uid()
  )
$$;

-- Whether either user blocked the other.
create function private.is_blocked_between(user_a uuid, user_b uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from private.blocked_users b
     where (b.blocker_id = user_a and b.blocked_id = user_b)
        or (b.blocker_id = user_b and b.blocked_id = user_a)
  )
$$;

-- Whether the conversation is a direct conversation whose two members blocked one another
-- (in either direction). Always false for groups.
create function private.is_dm_blocked(conversation_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((
    select private.is_blocked_between(split_part(c.direct_key, ':', 1)::uuid, split_part(c.direct_key, ':', 2)::uuid)
      from public.conversations c
     where c.id = is_dm_blocked.conversation_id and c.kind = 'direct'
  ), false)
$$;

-- Whether the caller may write into the conversation: a member, and not in a blocked direct conversation.
create function private.can_post(conversation_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select private.is_member(can_post.conversation_id) and not private.is_dm_blocked(can_post.conversation_id)
$$;

-- The caller's membership row.
-- Args: conversation_id. Returns the caller's conversation_members row.
-- Raises 400 invalid_argument (null id), 404 conversation_not_found (no such conversation),
-- 403 not_a_member (it exists; the caller is not in it).
create function private.require_member(conversation_id uuid)
returns public.conversation_members
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  membership public.conversation_members;
begin
  perform private.require_argument('conversation_id', require_member.conversation_id is null);
  select m.* into membership
    from public.conversation_members m
   where m.conversation_id = require_member.conversation_id and m.user_id = auth.uid();
  if found then
    return membership;
  end if;
  if exists (select 1 from public.conversations c where c.id = require_member.conversation_id) then
    perform private.raise_error(403, 'not_a_member', 'You are not a member of this conversation.');
  end if;
  perform private.raise_error(404, 'conversation_not_found', 'There is no conversation with this id.');
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: event payloads
-- ---------------------------------------------------------------------------

-- The conversation's newest message as the inbox shows it, or null when it has none:
-- {id, seq, sender_id, preview, created_at, deleted}.
create function private.last_message_json(c public.conversations)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case when c.last_message_id is null then null else jsonb_build_object(
    'id', c.last_message_id,
    'seq', c.last_seq,
    'sender_id', c.last_message_sender_id,
    'preview', c.last_message_preview,
    'created_at', c.last_message_at,
    'deleted', c.last_message_preview is null
  ) end
$$;

-- For a direct conversation, the other member's profile {id, display_name, avatar_url}
-- as seen by `viewer_id`; null for groups.
create function private.peer_json(c public.conversations, viewer_id uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select case when c.direct_key is null then null else (
    select jsonb_build_object('id', p.id, 'display_name', p.display_name, 'avatar_url', p.avatar_url)
      from public.profiles p
     where p.id = case when split_part(c.direct_key, ':', 1)::uuid = viewer_id
                       then split_part(c.direct_key, ':', 2)::uuid
                       else split_part(c.direct_key, ':', 1)::uuid end
  ) end
$$;

-- The inbox.updated payload for one member:
-- {conversation_id, last_seq, last_read_seq, unread_count, last_message_at, last_message}.
create function private.inbox_payload(c public.conversations, last_read_seq bigint)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'conversation_id', c.id,
    'last_seq', c.last_seq,
    'last_read_seq', last_read_seq,
    'unread_count', greatest(c.last_seq - last_read_seq, 0),
    'last_message_at', c.last_message_at,
    'last_message', private.last_message_json(c)
  )
$$;

-- Sends inbox.updated to user:<id> of every member with their own unread count,
-- unless the conversation has more than private.inbox_fanout_limit() members
-- (then members follow it on conversation:<id> and list_inbox instead).
-- Called from security definer triggers (so the rows bypass the realtime.messages policies).
-- One multi-row insert rather than realtime.send per member: realtime.send opens a
-- subtransaction per call, and a transaction with more than 64 of them slows down every
-- concurrent snapshot. Same rows as realtime.send writes (private broadcast, payload id =
-- row id), same promise: a failure (e.g. a missing partition) is a warning, never an error.
create function private.broadcast_inbox_updates(conversation_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
declare
  conversation public.conversations;
begin
  select c.* into conversation from public.conversations c where c.id = broadcast_inbox_updates.conversation_id;
  if not found or conversation.member_count > private.inbox_fanout_limit() then
    return;
  end if;
  begin
    insert into realtime.messages (id, topic, extension, event, payload, private)
    select recipient.id, 'user:' || recipient.user_id::text, 'broadcast', 'inbox.updated',
           private.inbox_payload(conversation, recipient.last_read_seq) || jsonb_build_object('id', recipient.id), true
      from (select gen_random_uuid() as id, m.user_id, m.last_read_seq
              from public.conversation_members m
             where m.conversation_id = conversation.id) recipient;
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: triggers
-- ---------------------------------------------------------------------------

-- Trigger (conversation_members, before insert): a new member starts with the
-- history already read (last_read_seq = last_seq), joined now.
create function private.members_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  current_last_seq bigint;
begin
  select c.last_seq into current_last_seq from public.conversations c where c.id = new.conversation_id;
  new.joined_at := now();
  new.last_read_seq := coalesce(current_last_seq, 0);
  new.last_delivered_seq := coalesce(current_last_seq, 0);
  return new;
end
$$;

-- Trigger (conversation_members, after insert): recounts members and emits
--   member.changed {operation: 'INSERT', conversation_id, user_id, role, record, old_record: null}
--     on conversation:<id>;
--   conversation.added {conversation_id, kind, title, member_count, role, peer, last_seq,
--     last_read_seq, unread_count, last_message_at, last_message, added_by} on user:<new member>.
create function private.members_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
begin
  update public.conversations c
     set member_count = (select count(*) from public.conversation_members m where m.conversation_id = c.id)
   where c.id = new.conversation_id
  returning c.* into conversation;

  perform realtime.send(
    jsonb_build_object('operation', 'INSERT', 'conversation_id', new.conversation_id, 'user_id', new.user_id,
                       'role', new.role, 'record', to_jsonb(new), 'old_record', null),
    'member.changed', 'conversation:' || new.conversation_id::text, true);
  perform realtime.send(
    private.inbox_payload(conversation, new.last_read_seq) || jsonb_build_object(
      'kind', conversation.kind,
      'title', conversation.title,
      'member_count', conversation.member_count,
      'role', new.role,
      'peer', private.peer_json(conversation, new.user_id),
      'added_by', auth.uid()),
    'conversation.added', 'user:' || new.user_id::text, true);
  return null;
end
$$;

-- Trigger (conversation_members, after delete): recounts members and emits
--   member.changed {operation: 'DELETE', conversation_id, user_id, role, record: null, old_record}
--     on conversation:<id>;
--   conversation.removed {conversation_id, kind, title, reason: 'left' | 'removed', removed_by}
--     on user:<former member>.
create function private.members_after_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
  caller_id uuid := auth.uid();
begin
  update public.conversations c
     set member_count = (select count(*) from public.conversation_members m where m.conversation_id = c.id)
   where c.id = old.conversation_id
  returning c.* into conversation;
  if not found then
    return null; -- the conversation itself is being deleted
  end if;

  perform realtime.send(
    jsonb_build_object('operation', 'DELETE', 'conversation_id', old.conversation_id, 'user_id', old.user_id,
                       'role', old.role, 'record', null, 'old_record', to_jsonb(old)),
    'member.changed', 'conversation:' || old.conversation_id::text, true);
  perform realtime.send(
    jsonb_build_object(
      'conversation_id', old.conversation_id,
      'kind', conversation.kind,
      'title', conversation.title,
      'reason', case when caller_id = old.user_id then 'left' else 'removed' end,
      'removed_by', caller_id),
    'conversation.removed', 'user:' || old.user_id::text, true);
  return null;
end
$$;

-- Trigger (conversation_members, after update of role): emits
--   member.changed {operation: 'UPDATE', conversation_id, user_id, role, record, old_record}
--   on conversation:<id>.
create function private.members_after_role_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.role is distinct from old.role then
    perform realtime.send(
      jsonb_build_object('operation', 'UPDATE', 'conversation_id', new.conversation_id, 'user_id', new.user_id,
                         'role', new.role, 'record', to_jsonb(new), 'old_record', to_jsonb(old)),
      'member.changed', 'conversation:' || new.conversation_id::text, true);
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------

create trigger members_before_insert
  before insert on public.conversation_members
  for each row execute function private.members_before_insert();

create trigger members_after_insert
  after insert on public.conversation_members
  for each row execute function private.members_after_insert();

create trigger members_after_delete
  after delete on public.conversation_members
  for each row execute function private.members_after_delete();

create trigger members_after_role_update
  after update of role on public.conversation_members
  for each row execute function private.members_after_role_update();

-- ---------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------

alter table public.conversations enable row level security;
alter table public.conversation_members enable row level security;
alter table private.blocked_users enable row level security;

create policy conversations_select_member on public.conversations
  for select to authenticated
  using (id in (select private.my_conversation_ids()));

create policy conversation_members_select_member on public.conversation_members
  for select to authenticated
  using (conversation_id in (select private.my_conversation_ids()));

-- private.blocked_users: no policy; only security definer functions read or write it.

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on public.conversations, public.conversation_members from anon, authenticated;
grant select on public.conversations, public.conversation_members to authenticated;
revoke all on private.blocked_users from public, anon, authenticated;

revoke all on function private.my_conversation_ids() from public, anon;
revoke all on function private.is_member(uuid) from public, anon;
revoke all on function private.is_blocked_between(uuid, uuid) from public, anon, authenticated;
revoke all on function private.is_dm_blocked(uuid) from public, anon;
revoke all on function private.can_post(uuid) from public, anon;
revoke all on function private.require_member(uuid) from public, anon;
revoke all on function private.last_message_json(public.conversations) from public, anon, authenticated;
revoke all on function private.peer_json(public.conversations, uuid) from public, anon, authenticated;
revoke all on function private.inbox_payload(public.conversations, bigint) from public, anon, authenticated;
revoke all on function private.broadcast_inbox_updates(uuid) from public, anon, authenticated;
revoke all on function private.members_before_insert() from public, anon, authenticated;
revoke all on function private.members_after_insert() from public, anon, authenticated;
revoke all on function private.members_after_delete() from public, anon, authenticated;
revoke all on function private.members_after_role_update() from public, anon, authenticated;

grant execute on function private.my_conversation_ids() to authenticated;
grant execute on function private.is_member(uuid) to authenticated;
grant execute on function private.is_dm_blocked(uuid) to authenticated;
grant execute on function private.can_post(uuid) to authenticated;
grant execute on function private.require_member(uuid) to authenticated;
