-- RPC API, reading: the inbox, pages of messages, catch-up since a change
-- cursor, full-text search, finding people, and the caller's profile.
-- All run as the caller, so the tables' policies decide what they see.

-- ---------------------------------------------------------------------------
-- types
-- ---------------------------------------------------------------------------

create type public.inbox_entry as (
  conversation_id uuid,
  kind text,
  title text,
  peer jsonb,
  role text,
  member_count integer,
  last_seq bigint,
  last_change bigint,
  last_read_seq bigint,
  last_delivered_seq bigint,
  unread_count bigint,
  muted_until timestamptz,
  last_message jsonb,
  last_message_at timestamptz,
  cursor text
);
comment on type public.inbox_entry is
  'One conversation of the caller''s inbox (list_inbox): peer is the other member''s profile '
  '{id, display_name, avatar_url} in a direct conversation (null for groups); last_message is '
  '{id, seq, sender_id, preview, created_at, deleted} or null; unread_count = last_seq - last_read_seq; '
  'cursor is what to pass as `before` for the next page.';

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- The caller's conversations, most recent message first, keyset-paginated.
-- Args: before (null for the first page, else the `cursor` of the last entry of the
-- previous page), max_rows (1..200, default 50).
-- Returns setof inbox_entry ordered by (last_message_at, conversation_id) descending.
-- Errors: 400 invalid_argument (max_rows) / invalid_cursor, 401 not_authenticated.
create function public.list_inbox(before text default null, max_rows integer default 50)
returns setof public.inbox_entry
language plpgsql
stable
set search_path = ''
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
    select c.id, c.kind, c.title, private.peer_json(c, caller_id), m.role, c.member_count, c.last_seq,
           c.last_change, m.last_read_seq, m.last_delivered_seq, greatest(c.last_seq - m.last_read_seq, 0),
           m.muted_until, private.last_message_json(c), c.last_message_at,
           to_char(c.last_message_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ',' || c.id::text
      from public.conversation_members m
      -- One primary-key lookup per membership. (The LIMIT keeps the planner from turning this
      -- into a join over all conversations: it cannot estimate how few rows the policy keeps.)
      cross join lateral (select c1.* from public.conversations c1 where c1.id = m.conversation_id limit 1) c
     where m.user_id = caller_id
       and (c.last_message_at, c.id) < (before_at, before_id)
     order by c.last_message_at desc, c.id desc
     limit list_inbox.max_rows;
end
$$;

-- A page of a conversation's messages, in ascending seq, keyset-paginated by seq.
-- Args: conversation_id; before_seq (only seq < before_seq) and/or after_seq (only seq >
-- after_seq); max_rows (1..200, default 50). With after_seq the page starts right after it;
-- otherwise it ends right before before_seq (or at the newest message).
-- Deleted messages are included (empty body, deleted_at set) so seq has no holes.
-- Errors: 400 invalid_argument / invalid_seq, 404 conversation_not_found, 403 not_a_member.
create function public.get_messages(
  conversation_id uuid,
  before_seq bigint default null,
  after_seq bigint default null,
  max_rows integer default 50
)
returns setof public.messages
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_user();
  perform private.require_member(get_messages.conversation_id);
  perform private.check_max_rows(get_messages.max_rows, 200);
  if get_messages.before_seq < 1 or get_messages.after_seq < 0 then
    perform private.raise_error(400, 'invalid_seq', 'before_seq must be 1 or more and after_seq 0 or more.');
  end if;
  if get_messages.after_seq is not null then
    return query
      select m.* from public.messages m
       where m.conversation_id = get_messages.conversation_id
         and m.seq > get_messages.after_seq
         and m.seq < coalesce(get_messages.before_seq, 9223372036854775807)
       order by m.seq
       limit get_messages.max_rows;
  else
    return query
      select page.* from (
        select m.* from public.messages m
         where m.conversation_id = get_messages.conversation_id
           and m.seq < coalesce(get_messages.before_seq, 9223372036854775807)
         order by m.seq desc
         limit get_messages.max_rows
      ) page
      order by page.seq;
  end if;
end
$$;

-- Catch-up: every message inserted, edited, deleted or re-reacted since a change cursor.
-- Args: conversation_id; since_change (0 for everything, else the cursor of the previous
-- call); max_rows (1..1000, default 500).
-- Returns {"messages": [<messages rows>, ascending change_seq], "cursor": n,
--          "has_more": bool, "last_seq": n}. Call again with since_change = cursor while
-- has_more; the final cursor is the conversation's last_change. One snapshot: nothing
-- committed at or below the cursor can show up later.
-- Errors: 400 invalid_argument / invalid_cursor (negative or beyond last_change),
-- 404 conversation_not_found, 403 not_a_member.
create function public.sync_conversation(conversation_id uuid, since_change bigint, max_rows integer default 500)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  conversation public.conversations;
  page jsonb;
  page_size integer;
  more boolean;
  page_end bigint;
begin
  perform private.require_user();
  perform private.require_member(sync_conversation.conversation_id);
  perform private.require_argument('since_change', sync_conversation.since_change is null);
  perform private.check_max_rows(sync_conversation.max_rows, 1000);
  select c.* into conversation from public.conversations c where c.id = sync_conversation.conversation_id;
  if sync_conversation.since_change < 0 or sync_conversation.since_change > conversation.last_change then
    perform private.raise_error(
      400, 'invalid_cursor',
      format('since_change must be between 0 and the conversation''s last change (%s).', conversation.last_change),
      null, jsonb_build_object('last_change', conversation.last_change));
  end if;

  -- One row more than asked for tells whether there is more.
  select coalesce(jsonb_agg(to_jsonb(changed) - 'position' order by changed.change_seq)
                    filter (where changed.position <= sync_conversation.max_rows), '[]'::jsonb),
         count(*),
         max(changed.change_seq) filter (where changed.position <= sync_conversation.max_rows)
    into page, page_size, page_end
    from (select candidate.*, row_number() over (order by candidate.change_seq) as position
            from (select m.* from public.messages m
                   where m.conversation_id = sync_conversation.conversation_id
                     and m.change_seq > sync_conversation.since_change
                   order by m.change_seq
                   limit sync_conversation.max_rows + 1) candidate) changed;
  more := page_size > sync_conversation.max_rows;
  return jsonb_build_object(
    'messages', page,
    'cursor', case when more then page_end else conversation.last_change end,
    'has_more', more,
    'last_seq', conversation.last_seq
  );
end
$$;

-- search_messages's work. It is security definer with the membership check written
-- out (a join with the caller's memberships) because under RLS PostgreSQL must apply
-- the policy before any operator that is not leakproof, and `@@` is not: as the
-- caller the full-text index could not be used and every message would be read.
-- Planned afresh for each query (plan_cache_mode): how many rows a search matches
-- decides the plan, and a generic plan cannot know it.
-- Args: terms (a parsed query), conversation_id (null: all the caller's conversations),
-- max_rows. Returns the caller's matching, not deleted messages, newest first.
create function private.search_messages(terms tsquery, conversation_id uuid, max_rows integer)
returns setof public.messages
language plpgsql
stable
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
begin
  if search_messages.conversation_id is null then
    return query
      select m.* from public.messages m
        join public.conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = auth.uid()
       where to_tsvector('simple'::regconfig, m.body) @@ search_messages.terms
         and m.deleted_at is null
       order by m.created_at desc, m.id desc
       limit search_messages.max_rows;
  else
    return query
      select m.* from public.messages m
        join public.conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = auth.uid()
       where to_tsvector('simple'::regconfig, m.body) @@ search_messages.terms
         and m.conversation_id = search_messages.conversation_id
         and m.deleted_at is null
       order by m.created_at desc, m.id desc
       limit search_messages.max_rows;
  end if;
end
$$;

-- Full-text search over the messages the caller may read (whole words, websearch
-- syntax: "quoted phrase", or, -not), newest first. Deleted messages never match.
-- Args: query (1..200 characters), conversation_id (optional: search only there),
-- max_rows (1..50, default 20).
-- Errors: 400 invalid_query / invalid_argument, 404 conversation_not_found,
-- 403 not_a_member, 429 rate_limited (search).
create function public.search_messages(query text, conversation_id uuid default null, max_rows integer default 20)
returns setof public.messages
language plpgsql
set search_path = ''
as $$
declare
  terms tsquery;
begin
  perform private.require_user();
  if search_messages.query is null or char_length(btrim(search_messages.query)) not between 1 and 200 then
    perform private.raise_error(400, 'invalid_query', 'query must have 1 to 200 characters.');
  end if;
  perform private.check_max_rows(search_messages.max_rows, 50);
  if search_messages.conversation_id is not null then
    perform private.require_member(search_messages.conversation_id);
  end if;
  perform private.take_token('search');

  terms := websearch_to_tsquery('simple'::regconfig, search_messages.query);
  if numnode(terms) = 0 then
    return;
  end if;
  return query
    select * from private.search_messages(terms, search_messages.conversation_id, search_messages.max_rows);
end
$$;

-- Finds people to message by display name (case-insensitive substring; exact and
-- prefix matches first). The caller is left out.
-- Args: query (1..100 characters), max_rows (1..50, default 20). Returns profiles rows.
-- Errors: 400 invalid_query / invalid_argument, 429 rate_limited (search).
create function public.search_profiles(query text, max_rows integer default 20)
returns setof public.profiles
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  needle text := btrim(search_profiles.query);
  escaped text;
begin
  if needle is null or char_length(needle) not between 1 and 100 then
    perform private.raise_error(400, 'invalid_query', 'query must have 1 to 100 characters.');
  end if;
  perform private.check_max_rows(search_profiles.max_rows, 50);
  perform private.take_token('search');
  escaped := replace(replace(replace(needle, '\', '\\'), '%', '\%'), '_', '\_');
  return query
    select p.* from public.profiles p
     where p.display_name ilike '%' || escaped || '%'
       and p.id <> caller_id
     order by lower(p.display_name) = lower(needle) desc,
              p.display_name ilike escaped || '%' desc,
              p.display_name, p.id
     limit search_profiles.max_rows;
end
$$;

-- Changes the caller's display name and/or avatar; a null argument keeps the value,
-- an empty avatar_url removes the avatar.
-- Args: display_name (1..64 characters), avatar_url (http(s), at most 2048 characters).
-- Returns the profiles row.
-- Errors: 400 invalid_argument (both null) / invalid_display_name / invalid_avatar_url,
-- 404 user_not_found (no profile), 429 rate_limited (profile).
create function public.update_profile(display_name text default null, avatar_url text default null)
returns public.profiles
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  updated public.profiles;
begin
  if update_profile.display_name is null and update_profile.avatar_url is null then
    perform private.raise_error(400, 'invalid_argument', 'Give display_name, avatar_url or both.');
  end if;
  update public.profiles p
     set display_name = coalesce(update_profile.display_name, p.display_name),
         avatar_url = coalesce(update_profile.avatar_url, p.avatar_url)
   where p.id = caller_id
  returning * into updated;
  if not found then
    perform private.raise_error(404, 'user_not_found', 'You have no profile.');
  end if;
  return updated;
end
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

grant execute on function private.peer_json(public.conversations, uuid) to authenticated;
revoke all on function private.search_messages(tsquery, uuid, integer) from public, anon;
grant execute on function private.search_messages(tsquery, uuid, integer) to authenticated;
grant execute on function private.last_message_json(public.conversations) to authenticated;

revoke all on function public.list_inbox(text, integer) from public, anon;
revoke all on function public.get_messages(uuid, bigint, bigint, integer) from public, anon;
revoke all on function public.sync_conversation(uuid, bigint, integer) from public, anon;
revoke all on function public.search_messages(text, uuid, integer) from public, anon;
revoke all on function public.search_profiles(text, integer) from public, anon;
revoke all on function public.update_profile(text, text) from public, anon;
grant execute on function public.list_inbox(text, integer) to authenticated;
grant execute on function public.get_messages(uuid, bigint, bigint, integer) to authenticated;
grant execute on function public.sync_conversation(uuid, bigint, integer) to authenticated;
grant execute on function public.search_messages(text, uuid, integer) to authenticated;
grant execute on function public.search_profiles(text, integer) to authenticated;
grant execute on function public.update_profile(text, text) to authenticated;
