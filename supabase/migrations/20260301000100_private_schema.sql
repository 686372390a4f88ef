-- The `private` schema: machinery the API does not expose (helpers, trigger
-- functions, every security definer function, private tables), the one error
-- helper every API error goes through, and the product's limits.

-- ---------------------------------------------------------------------------
-- schema and privileges
-- ---------------------------------------------------------------------------

create schema if not exists private;
comment on schema private is
  'Chat machinery that the API does not expose: helpers, trigger functions, security definer '
  'functions, rate-limit buckets and blocked users. Signed-in users may only execute the few '
  'functions granted to them one by one.';

revoke all on schema private from public, anon, authenticated;
-- Policies and the public RPCs call a few private helpers as the caller.
grant usage on schema private to authenticated;

-- Functions created here later are not executable by everyone by default.
alter default privileges in schema private revoke execute on functions from public;
alter default privileges in schema private revoke all on tables from public;

-- ---------------------------------------------------------------------------
-- functions: errors
-- ---------------------------------------------------------------------------

-- Raises a deliberate API error with PostgREST's custom-error mechanism, so
-- supabase.rpc() callers and the Edge Functions both get
--   HTTP <status>, body {"code", "message", "details", "hint"}, extra <headers>.
-- Args: status (HTTP status), code (snake_case, machine-readable), message (a
-- sentence for people), hint, details (json), headers (json object of strings).
-- Returns: never; always raises SQLSTATE 'PGRST'.
--
-- The codes (documented in docs/data-model.md):
--   400 invalid_argument (details.argument names it), invalid_body, invalid_client_id,
--       invalid_metadata, invalid_reply_to, invalid_seq, invalid_cursor, invalid_emoji,
--       invalid_title, invalid_query, invalid_display_name, invalid_avatar_url,
--       too_many_members
--   401 not_authenticated (no user in the JWT)
--   403 not_a_member (the conversation exists, the caller is not in it), blocked,
--       not_allowed (the caller's role or the conversation kind forbids it)
--   404 conversation_not_found, message_not_found, user_not_found, member_not_found
--   409 client_id_conflict, message_deleted, too_many_reactions
--   413 body_too_long, metadata_too_large
--   429 rate_limited (details.retry_after_seconds, header Retry-After)
create function private.raise_error(
  status integer,
  code text,
  message text,
  hint text default null,
  details jsonb default null,
  headers jsonb default '{}'
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  raise sqlstate 'PGRST' using
    message = json_build_object(
      'code', raise_error.code,
      'message', raise_error.message,
      'details', raise_error.details,
      'hint', raise_error.hint
    )::text,
    detail = json_build_object(
      'status', raise_error.status,
      'headers', coalesce(raise_error.headers, '{}'::jsonb)
    )::text;
end
$$;
comment on function private.raise_error(integer, text, text, text, jsonb, jsonb) is
  'Raises an API error (SQLSTATE PGRST) carrying HTTP status, code, message, details, hint and headers.';

-- The signed-in caller's id.
-- Returns: auth.uid(); raises 401 not_authenticated when the JWT names no user.
create function private.require_user()
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  caller_id uuid := auth.uid();
begin
  if caller_id is null then
    perform private.raise_error(401, 'not_authenticated', 'Sign in to use the chat API.');
  end if;
  return caller_id;
end
$$;

-- Raises 400 invalid_argument naming `argument` when `is_missing` is true.
-- Args: argument (the parameter's name), is_missing (usually `x is null`).
create function private.require_argument(argument text, is_missing boolean)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if is_missing then
    perform private.raise_error(400, 'invalid_argument', format('%s is required.', argument),
                                null, jsonb_build_object('argument', argument));
  end if;
end
$$;

-- Raises 400 invalid_argument when max_rows is null or outside 1..upper_bound.
create function private.check_max_rows(max_rows integer, upper_bound integer)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if max_rows is null or max_rows < 1 or max_rows > upper_bound then
    perform private.raise_error(400, 'invalid_argument',
                                format('max_rows must be between 1 and %s.', upper_bound),
                                null, jsonb_build_object('argument', 'max_rows'));
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: limits (one place for the numbers docs/data-model.md quotes)
-- ---------------------------------------------------------------------------

-- Longest message body, in characters.
create function private.max_body_length() returns integer
language sql immutable set search_path = '' as $$ select 4000 $$;

-- Largest message metadata, in bytes of its JSON text.
create function private.max_metadata_bytes() returns integer
language sql immutable set search_path = '' as $$ select 4096 $$;

-- Conversations with more members than this skip the per-member inbox.updated fan-out.
create function private.inbox_fanout_limit() returns integer
language sql immutable set search_path = '' as $$ select 100 $$;

-- Most members a group may have.
create function private.max_group_members() returns integer
language sql immutable set search_path = '' as $$ select 1000 $$;

-- Most user ids one create_group_conversation / add_conversation_members call may name.
create function private.max_members_per_call() returns integer
language sql immutable set search_path = '' as $$ select 100 $$;

-- Most distinct emojis one message may carry.
create function private.max_reaction_kinds() returns integer
language sql immutable set search_path = '' as $$ select 20 $$;

-- Characters of a message kept as the inbox preview.
create function private.preview_length() returns integer
language sql immutable set search_path = '' as $$ select 140 $$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on all functions in schema private from public, anon, authenticated;
grant execute on function private.raise_error(integer, text, text, text, jsonb, jsonb) to authenticated;
grant execute on function private.require_user() to authenticated;
grant execute on function private.require_argument(text, boolean) to authenticated;
grant execute on function private.check_max_rows(integer, integer) to authenticated;
grant execute on function private.max_body_length() to authenticated;
grant execute on function private.max_metadata_bytes() to authenticated;
grant execute on function private.inbox_fanout_limit() to authenticated;
grant execute on function private.max_group_members() to authenticated;
grant execute on function private.max_members_per_call() to authenticated;
grant execute on function private.max_reaction_kinds() to authenticated;
grant execute on function private.preview_length() to authenticated;
