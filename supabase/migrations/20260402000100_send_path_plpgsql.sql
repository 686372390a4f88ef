-- The send path's small helpers in PL/pgSQL instead of SQL, for their plans.
--
-- A SQL function that PostgreSQL cannot inline — these cannot: they are security
-- definer or carry `set search_path` — is parsed, analysed and planned again on its
-- first call in every statement that calls it; a PL/pgSQL function keeps the plans of
-- its statements for the session. One send_message calls these nine times (the RLS
-- check of the insert, the returned row's RLS check, the blocked check, both members'
-- inbox.updated payloads), and under a CPU profile re-planning them took about a third
-- of the backend's time. Same signatures, results, volatility, security and search_path;
-- create or replace keeps owners, grants and comments.
-- (peer_json, can_modify_message and the realtime topic helpers are not on the send path
-- and stay as they are.)

-- ---------------------------------------------------------------------------
-- functions: membership helpers (used by policies and RPCs)
-- ---------------------------------------------------------------------------

create or replace function private.my_conversation_ids()
returns setof uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return query select m.conversation_id from public.conversation_members m where m.user_id = auth.uid();
end
$$;

create or replace function private.is_member(conversation_id uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (
    select 1 from public.conversation_members m
     where m.conversation_id = is_member.conversation_id and m.user_id = auth.uid()
  );
end
$$;

create or replace function private.is_blocked_between(user_a uuid, user_b uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (
    select 1 from private.blocked_users b
     where (b.blocker_id = is_blocked_between.user_a and b.blocked_id = is_blocked_between.user_b)
        or (b.blocker_id = is_blocked_between.user_b and b.blocked_id = is_blocked_between.user_a)
  );
end
$$;

create or replace function private.is_dm_blocked(conversation_id uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  pair text;
begin
  select c.direct_key into pair
    from public.conversations c
   where c.id = is_dm_blocked.conversation_id and c.kind = 'direct';
  if pair is null then
    return false;
  end if;
  return coalesce(private.is_blocked_between(split_part(pair, ':', 1)::uuid, split_part(pair, ':', 2)::uuid), false);
end
$$;

create or replace function private.can_post(conversation_id uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return private.is_member(can_post.conversation_id) and not private.is_dm_blocked(can_post.conversation_id);
end
$$;

-- ---------------------------------------------------------------------------
-- functions: event payloads
-- ---------------------------------------------------------------------------

create or replace function private.last_message_json(c public.conversations)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  if c.last_message_id is null then
    return null;
  end if;
  return jsonb_build_object(
    'id', c.last_message_id,
    'seq', c.last_seq,
    'sender_id', c.last_message_sender_id,
    'preview', c.last_message_preview,
    'created_at', c.last_message_at,
    'deleted', c.last_message_preview is null
  );
end
$$;

create or replace function private.inbox_payload(c public.conversations, last_read_seq bigint)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return jsonb_build_object(
    'conversation_id', c.id,
    'last_seq', c.last_seq,
    'last_read_seq', inbox_payload.last_read_seq,
    'unread_count', greatest(c.last_seq - inbox_payload.last_read_seq, 0),
    'last_message_at', c.last_message_at,
    'last_message', private.last_message_json(c)
  );
end
$$;
