-- Realtime contract v2: topics that revoke, server events nobody can forge, and
-- replays that cannot show text that was edited or deleted.
--
-- Two facts of Supabase Realtime shape it. A private channel's policies are checked
-- only when it is joined and when the client sends a new access_token, so an open
-- channel keeps what it was allowed for as long as its token lives. And a client's
-- broadcast looks exactly like a trigger's. So:
--
-- * Each conversation has a topic epoch. Its server events go to
--   `conversation:<id>:<epoch>` (members read, nobody writes); typing and presence
--   live on `live:<id>:<epoch>` (members read and write). The policies admit only
--   current members to the current epoch. Removing a member, or a member leaving,
--   moves the epoch on: the triggers write to the new topics from then on, so a
--   removed member's open channel hears nothing more. The others are told with
--   `conversation.rotated` on their `user:<id>` topic and on the old topic.
-- * The sender's own receipt is no longer sent on send: a message.created says its
--   sender has read and received up to its seq.
-- * Every event row is written by private.send_events, in one statement per trigger.
--   Rows that carry a message's content (message.created / message.updated and the
--   inbox rows whose preview is that message) get ids that start with the message id,
--   so an edit or delete finds them by primary key and deletes them before announcing
--   the new state: a later `broadcast.replay` cannot return the old text.

-- ---------------------------------------------------------------------------
-- types
-- ---------------------------------------------------------------------------

-- One row for realtime.messages (always a private broadcast).
create type private.broadcast_event as (
  id uuid,
  topic text,
  event text,
  payload jsonb
);
comment on type private.broadcast_event is
  'An event for private.send_events: the realtime.messages row id (also the payload''s id), topic, event, payload.';

alter type public.inbox_entry add attribute topic text, add attribute live_topic text;
comment on type public.inbox_entry is
  'One conversation of the caller''s inbox (list_inbox, get_conversation): peer is the other member''s profile '
  '{id, display_name, avatar_url} in a direct conversation (null for groups); last_message is '
  '{id, seq, sender_id, preview, created_at, deleted} or null; unread_count = last_seq - last_read_seq; '
  'cursor is what to pass as `before` for the next page; topic and live_topic are the conversation''s current '
  'Realtime topics (server events; typing and presence).';

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

alter table public.conversations
  add column topic_epoch integer not null default 1
    constraint conversations_topic_epoch_positive check (topic_epoch >= 1),
  add column topic text not null
    generated always as ('conversation:' || id::text || ':' || topic_epoch::text) stored,
  add column live_topic text not null
    generated always as ('live:' || id::text || ':' || topic_epoch::text) stored;
comment on column public.conversations.topic_epoch is
  'Moves on (+1) whenever a member is removed or leaves, so that the conversation''s Realtime topics change and a '
  'former member''s open channel hears nothing more.';
comment on column public.conversations.topic is
  'The private Realtime topic of the conversation''s server events, conversation:<id>:<epoch>: current members '
  'read it, nobody writes it.';
comment on column public.conversations.live_topic is
  'The private Realtime topic of typing and presence, live:<id>:<epoch>: current members read and write it.';

-- ---------------------------------------------------------------------------
-- functions: writing events
-- ---------------------------------------------------------------------------

-- Writes events to realtime.messages in one statement, in the array's order (Realtime
-- streams them in that order after commit). Each row is what realtime.send writes:
-- a private broadcast whose payload carries its row id. Like realtime.send, a failure
-- (e.g. no partition for today) is a warning and never fails the caller's write.
-- Called from security definer triggers and functions (their owner bypasses the
-- realtime.messages policies).
create function private.send_events(events private.broadcast_event[])
returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into realtime.messages (id, topic, extension, event, payload, private)
  select e.id, e.topic, 'broadcast', e.event, e.payload || jsonb_build_object('id', e.id), true
    from unnest(send_events.events) with ordinality as e (id, topic, event, payload, position)
   order by e.position;
exception when others then
  raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
end
$$;

-- An event row id for a row that carries message `message_id`'s content: the message
-- id's first 8 bytes, then 8 random ones. The platform's partitions cannot be indexed
-- by us, but their primary key starts with the id, so forget_message_content finds
-- these rows with one range scan per partition.
create function private.content_event_id(message_id uuid)
returns uuid
language sql
volatile
set search_path = ''
as $$
  select (left(message_id::text, 18) || right(gen_random_uuid()::text, 18))::uuid
$$;

-- The id for an event whose payload shows the conversation's newest message (its
-- preview), or a random one when it has none.
create function private.preview_event_id(c public.conversations)
returns uuid
language sql
volatile
set search_path = ''
as $$
  select case when c.last_message_id is null then gen_random_uuid() else private.content_event_id(c.last_message_id) end
$$;

-- Deletes the stored events that carry the content of a message (message.created,
-- message.updated, and inbox rows previewing it), before an edit or delete announces
-- its new state, so that a broadcast replay cannot return the old text.
create function private.forget_message_content(message_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
declare
  prefix text := left(forget_message_content.message_id::text, 18);
begin
  delete from realtime.messages r
   where r.id between (prefix || '-0000-000000000000')::uuid and (prefix || '-ffff-ffffffffffff')::uuid
     and forget_message_content.message_id::text in (r.payload -> 'record' ->> 'id', r.payload -> 'last_message' ->> 'id');
end
$$;

-- ---------------------------------------------------------------------------
-- functions: payloads
-- ---------------------------------------------------------------------------

-- A member's inbox entry for a conversation, as list_inbox, get_conversation and
-- conversation.added give it.
create function private.inbox_entry(c public.conversations, m public.conversation_members)
returns public.inbox_entry
language plpgsql
stable
set search_path = ''
as $$
declare
  entry public.inbox_entry;
begin
  entry.conversation_id := c.id;
  entry.kind := c.kind;
  entry.title := c.title;
  entry.peer := private.peer_json(c, m.user_id);
  entry.role := m.role;
  entry.member_count := c.member_count;
  entry.last_seq := c.last_seq;
  entry.last_change := c.last_change;
  entry.last_read_seq := m.last_read_seq;
  entry.last_delivered_seq := m.last_delivered_seq;
  entry.unread_count := greatest(c.last_seq - m.last_read_seq, 0);
  entry.muted_until := m.muted_until;
  entry.last_message := private.last_message_json(c);
  entry.last_message_at := c.last_message_at;
  entry.cursor := to_char(c.last_message_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ',' || c.id::text;
  entry.topic := c.topic;
  entry.live_topic := c.live_topic;
  return entry;
end
$$;

-- The conversation.rotated payload: where the conversation's events go from now on.
create function private.rotated_payload(c public.conversations)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object('conversation_id', c.id, 'topic', c.topic, 'live_topic', c.live_topic,
                            'epoch', c.topic_epoch, 'change', c.last_change)
$$;

-- The events of a message written or changed: `event_name` (message.created or
-- message.updated, shaped as realtime.broadcast_changes shapes them) on the
-- conversation's topic, then, when `with_inbox`, inbox.updated to every member with
-- their own unread count — unless the conversation has more than inbox_fanout_limit()
-- members (they follow it by topic and list_inbox). All content-carrying: their ids
-- start with the message id.
create function private.message_events(
  c public.conversations,
  message public.messages,
  event_name text,
  old_record jsonb,
  with_inbox boolean
)
returns private.broadcast_event[]
language plpgsql
set search_path = ''
as $$
declare
  events private.broadcast_event[];
begin
  events := array[row(
    private.content_event_id(message.id), c.topic, event_name,
    jsonb_build_object('record', to_jsonb(message), 'old_record', old_record,
                       'operation', case when old_record is null then 'INSERT' else 'UPDATE' end,
                       'table', 'messages', 'schema', 'public')
  )::private.broadcast_event];
  if with_inbox and c.member_count <= private.inbox_fanout_limit() then
    events := events || array(
      select row(private.preview_event_id(c), 'user:' || m.user_id::text, 'inbox.updated',
                 private.inbox_payload(c, m.last_read_seq))::private.broadcast_event
        from public.conversation_members m
       where m.conversation_id = c.id);
  end if;
  return events;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: Realtime authorization
-- ---------------------------------------------------------------------------

-- Whether the caller may receive on `topic`: user:<id> only as that user;
-- conversation:<id>:<epoch> and live:<id>:<epoch> as a member, for the current epoch only.
-- Security definer: one index lookup, whatever the caller's other memberships.
create or replace function private.can_receive_topic(topic text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  parts text[];
begin
  if can_receive_topic.topic like 'user:%' then
    return coalesce(can_receive_topic.topic = 'user:' || auth.uid()::text, false);
  end if;
  parts := regexp_match(can_receive_topic.topic,
    '^(conversation|live):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([1-9][0-9]{0,8})$');
  if parts is null then
    return false;
  end if;
  return exists (
    select 1
      from public.conversation_members m
      join public.conversations c on c.id = m.conversation_id
     where m.conversation_id = parts[2]::uuid
       and m.user_id = auth.uid()
       and c.topic_epoch = parts[3]::integer
  );
end
$$;

-- Whether the caller may send broadcast or presence on `topic`: only live:<id>:<epoch>,
-- as a member, for the current epoch, and not in a direct conversation with a block.
-- Server topics (conversation:, user:) accept no client writes at all.
create or replace function private.can_send_topic(topic text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  conversation_id uuid;
begin
  if can_send_topic.topic not like 'live:%' or not private.can_receive_topic(can_send_topic.topic) then
    return false;
  end if;
  conversation_id := split_part(can_send_topic.topic, ':', 2)::uuid;
  return not private.is_dm_blocked(conversation_id);
end
$$;

-- ---------------------------------------------------------------------------
-- functions: triggers
-- ---------------------------------------------------------------------------

-- Trigger (conversation_members, after insert): recounts members and emits
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
begin
  update public.conversations c
     set member_count = (select count(*) from public.conversation_members m where m.conversation_id = c.id)
   where c.id = new.conversation_id
  returning c.* into conversation;

  perform private.send_events(array[
    row(gen_random_uuid(), conversation.topic, 'member.changed',
        jsonb_build_object('operation', 'INSERT', 'conversation_id', new.conversation_id, 'user_id', new.user_id,
                           'role', new.role, 'record', to_jsonb(new), 'old_record', null)),
    row(private.preview_event_id(conversation), 'user:' || new.user_id::text, 'conversation.added',
        to_jsonb(private.inbox_entry(conversation, new)) - 'cursor' || jsonb_build_object('added_by', auth.uid()))
  ]::private.broadcast_event[]);
  return null;
end
$$;

-- Trigger (conversation_members, after delete): recounts members, moves the topic epoch
-- on (unless nobody is left), and emits, in this order:
--   member.changed {operation: 'DELETE', conversation_id, user_id, role, record: null, old_record}
--     on the old topic;
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
  old_topic text;
  conversation public.conversations;
  caller_id uuid := auth.uid();
  events private.broadcast_event[];
begin
  select c.topic into old_topic from public.conversations c where c.id = old.conversation_id;
  -- (The last member leaving empties the conversation, which is then deleted: no rotation.)
  update public.conversations c
     set member_count = remaining.members,
         topic_epoch = c.topic_epoch + case when remaining.members > 0 then 1 else 0 end
    from (select count(*)::integer as members from public.conversation_members m
           where m.conversation_id = old.conversation_id) remaining
   where c.id = old.conversation_id
  returning c.* into conversation;
  if not found then
    return null; -- the conversation itself is being deleted
  end if;

  events := array[
    row(gen_random_uuid(), old_topic, 'member.changed',
        jsonb_build_object('operation', 'DELETE', 'conversation_id', old.conversation_id, 'user_id', old.user_id,
                           'role', old.role, 'record', null, 'old_record', to_jsonb(old))),
    row(gen_random_uuid(), 'user:' || old.user_id::text, 'conversation.removed',
        jsonb_build_object('conversation_id', old.conversation_id, 'kind', conversation.kind,
                           'title', conversation.title,
                           'reason', case when caller_id = old.user_id then 'left' else 'removed' end,
                           'removed_by', caller_id))
  ]::private.broadcast_event[];
  if conversation.member_count > 0 then
    events := events || row(gen_random_uuid(), old_topic, 'conversation.rotated',
                            private.rotated_payload(conversation))::private.broadcast_event || array(
      select row(gen_random_uuid(), 'user:' || m.user_id::text, 'conversation.rotated',
                 private.rotated_payload(conversation))::private.broadcast_event
        from public.conversation_members m
       where m.conversation_id = conversation.id
       order by m.user_id);
  end if;
  perform private.send_events(events);
  return null;
end
$$;

-- Trigger (conversation_members, after update of role): emits
--   member.changed {operation: 'UPDATE', conversation_id, user_id, role, record, old_record}
--   on the conversation's topic.
create or replace function private.members_after_role_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.role is distinct from old.role then
    perform private.send_events(array[row(
      gen_random_uuid(), (select c.topic from public.conversations c where c.id = new.conversation_id),
      'member.changed',
      jsonb_build_object('operation', 'UPDATE', 'conversation_id', new.conversation_id, 'user_id', new.user_id,
                         'role', new.role, 'record', to_jsonb(new), 'old_record', to_jsonb(old)))
    ]::private.broadcast_event[]);
  end if;
  return null;
end
$$;

-- Trigger (conversation_members, after update of the read state), when a member moved
-- their read or delivered state (mark_read, mark_delivered; not a send, whose
-- message.created says it): emits
--   receipt {conversation_id, user_id, last_read_seq, last_delivered_seq} on the conversation's topic;
-- and when last_read_seq moved:
--   inbox.updated {conversation_id, last_seq, last_read_seq, unread_count, last_message_at,
--                  last_message} on user:<member> (their other devices clear the badge).
create or replace function private.members_after_read_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
  events private.broadcast_event[];
begin
  if (new.last_read_seq, new.last_delivered_seq) is not distinct from (old.last_read_seq, old.last_delivered_seq)
     or pg_trigger_depth() > 1 then
    return null;
  end if;
  select c.* into conversation from public.conversations c where c.id = new.conversation_id;
  events := array[row(
    gen_random_uuid(), conversation.topic, 'receipt',
    jsonb_build_object('conversation_id', new.conversation_id, 'user_id', new.user_id,
                       'last_read_seq', new.last_read_seq, 'last_delivered_seq', new.last_delivered_seq)
  )::private.broadcast_event];
  if new.last_read_seq <> old.last_read_seq then
    events := events || row(private.preview_event_id(conversation), 'user:' || new.user_id::text, 'inbox.updated',
                            private.inbox_payload(conversation, new.last_read_seq))::private.broadcast_event;
  end if;
  perform private.send_events(events);
  return null;
end
$$;

-- Trigger (messages, after insert): marks the message read and delivered for its
-- sender (no receipt: the message says it), then emits, in one statement,
--   message.created {record, old_record: null, operation: 'INSERT', table, schema} on the
--   conversation's topic, then inbox.updated to every member (see message_events).
create or replace function private.messages_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
begin
  if new.sender_id is not null then
    update public.conversation_members m
       set last_read_seq = greatest(m.last_read_seq, new.seq),
           last_delivered_seq = greatest(m.last_delivered_seq, new.seq)
     where m.conversation_id = new.conversation_id and m.user_id = new.sender_id;
  end if;
  select c.* into conversation from public.conversations c where c.id = new.conversation_id;
  perform private.send_events(private.message_events(conversation, new, 'message.created', null, true));
  return null;
end
$$;

-- Trigger (messages, after update): on an edit or delete, first deletes the stored
-- events that carry the message's previous content (see forget_message_content), then emits
--   message.updated {record, old_record, operation: 'UPDATE', table, schema} on the
--   conversation's topic (old_record never carries the previous body or metadata),
-- and, when it is the conversation's newest message, inbox.updated to every member.
-- Reaction-summary changes are announced by reaction.changed instead.
create or replace function private.messages_after_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
  previous public.messages;
begin
  if (new.body, new.metadata, new.deleted_at) is not distinct from (old.body, old.metadata, old.deleted_at) then
    return null;
  end if;
  perform private.forget_message_content(new.id);
  previous := old;
  previous.body := null;
  previous.metadata := null;
  select c.* into conversation from public.conversations c where c.id = new.conversation_id;
  perform private.send_events(private.message_events(conversation, new, 'message.updated', to_jsonb(previous),
                                                     conversation.last_message_id = new.id));
  return null;
end
$$;

-- Trigger (message_reactions, after insert or delete): recomputes the message's
-- reaction summary {"<emoji>": ["<user id>", ...]} (which moves its change_seq) and emits
--   reaction.changed {conversation_id, message_id, seq, change_seq, user_id, emoji,
--                     action: 'added' | 'removed', reactions} on the conversation's topic.
create or replace function private.reactions_after_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  changed public.message_reactions;
  summary jsonb;
  target public.messages;
begin
  if tg_op = 'INSERT' then
    changed := new;
  else
    changed := old;
  end if;

  select coalesce(jsonb_object_agg(e.emoji, e.user_ids), '{}'::jsonb) into summary
    from (select r.emoji, jsonb_agg(r.user_id order by r.created_at, r.user_id) as user_ids
            from public.message_reactions r
           where r.message_id = changed.message_id
           group by r.emoji) e;

  update public.messages m set reactions = summary where m.id = changed.message_id
  returning m.* into target;
  if not found then
    return null; -- the message itself is being deleted
  end if;

  perform private.send_events(array[row(
    gen_random_uuid(), (select c.topic from public.conversations c where c.id = target.conversation_id),
    'reaction.changed',
    jsonb_build_object(
      'conversation_id', target.conversation_id,
      'message_id', target.id,
      'seq', target.seq,
      'change_seq', target.change_seq,
      'user_id', changed.user_id,
      'emoji', changed.emoji,
      'action', case when tg_op = 'INSERT' then 'added' else 'removed' end,
      'reactions', target.reactions))
  ]::private.broadcast_event[]);
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: the API (security invoker)
-- ---------------------------------------------------------------------------

-- The caller's conversations, most recent message first, keyset-paginated.
-- Args: before (null for the first page, else the `cursor` of the last entry of the
-- previous page), max_rows (1..200, default 50).
-- Returns setof inbox_entry (with each conversation's current topic and live_topic)
-- ordered by (last_message_at, conversation_id) descending.
-- Errors: 400 invalid_argument (max_rows) / invalid_cursor, 401 not_authenticated.
create or replace function public.list_inbox(before text default null, max_rows integer default 50)
returns setof public.inbox_entry
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
declare
  caller_id uuid := private.require_user();
  before_at timestamptz := 'infinity'::timestamptz;
  before_id uuid := 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;
begin
  perform private.check_max_rows(list_inbox.max_rows, 200);
  if list_inbox.before is not null then
    begin
      before_at := split_part(list_inbox.before, ',', 1)::timestamptz;
      before_id := split_part(list_inbox.before, ',', 2)::uuid;
    exception when data_exception then
      perform private.raise_error(400, 'invalid_cursor', 'before must be a cursor returned by list_inbox.');
    end;
  end if;
  return query
    select entry.*
      from (select m as membership, found.conversation
              from public.conversation_members m
              -- One primary-key lookup per membership. (The LIMIT keeps the planner from turning this
              -- into a join over all conversations: it cannot estimate how few rows the policy keeps.)
              cross join lateral (
                select c as conversation from public.conversations c where c.id = m.conversation_id limit 1
              ) found
             where m.user_id = caller_id
               and ((found.conversation).last_message_at, (found.conversation).id) < (before_at, before_id)
             order by (found.conversation).last_message_at desc, (found.conversation).id desc
             limit list_inbox.max_rows) page
      cross join lateral private.inbox_entry(page.conversation, page.membership) entry
     order by entry.last_message_at desc, entry.conversation_id desc;
end
$$;

-- One conversation of the caller's inbox, as list_inbox gives it: to open a
-- conversation by id, or to learn its current topics after a refused join.
-- Args: conversation_id. Returns the inbox_entry.
-- Errors: 400 invalid_argument, 401 not_authenticated, 404 conversation_not_found,
-- 403 not_a_member (also for a former member).
create function public.get_conversation(conversation_id uuid)
returns public.inbox_entry
language plpgsql
stable
set search_path = ''
as $$
declare
  membership public.conversation_members;
  conversation public.conversations;
begin
  perform private.require_user();
  membership := private.require_member(get_conversation.conversation_id);
  select c.* into conversation from public.conversations c where c.id = membership.conversation_id;
  return private.inbox_entry(conversation, membership);
end
$$;

-- The members of a conversation with their profiles and read state, for names,
-- avatars, "seen by" and who may be typing.
-- Args: conversation_id. Returns rows ordered by joined_at, user_id.
-- Errors: 400 invalid_argument, 401 not_authenticated, 404 conversation_not_found, 403 not_a_member.
create function public.list_members(conversation_id uuid)
returns table (
  user_id uuid,
  role text,
  display_name text,
  avatar_url text,
  joined_at timestamptz,
  last_read_seq bigint,
  last_delivered_seq bigint
)
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_user();
  perform private.require_member(list_members.conversation_id);
  return query
    select m.user_id, m.role, p.display_name, p.avatar_url, m.joined_at, m.last_read_seq, m.last_delivered_seq
      from public.conversation_members m
      left join public.profiles p on p.id = m.user_id
     where m.conversation_id = list_members.conversation_id
     order by m.joined_at, m.user_id;
end
$$;

-- ---------------------------------------------------------------------------
-- what v2 replaces
-- ---------------------------------------------------------------------------

drop function private.broadcast_inbox_updates(uuid);
drop function private.topic_conversation_id(text);

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.send_events(private.broadcast_event[]) from public, anon, authenticated;
revoke all on function private.content_event_id(uuid) from public, anon, authenticated;
revoke all on function private.preview_event_id(public.conversations) from public, anon, authenticated;
revoke all on function private.forget_message_content(uuid) from public, anon, authenticated;
revoke all on function private.rotated_payload(public.conversations) from public, anon, authenticated;
revoke all on function private.message_events(public.conversations, public.messages, text, jsonb, boolean)
  from public, anon, authenticated;

revoke all on function private.inbox_entry(public.conversations, public.conversation_members) from public, anon;
grant execute on function private.inbox_entry(public.conversations, public.conversation_members) to authenticated;

revoke all on function public.get_conversation(uuid) from public, anon;
revoke all on function public.list_members(uuid) from public, anon;
grant execute on function public.get_conversation(uuid) to authenticated;
grant execute on function public.list_members(uuid) to authenticated;
