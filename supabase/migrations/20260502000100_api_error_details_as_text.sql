-- API errors that PostgREST can read, and JSON that cannot nest without end.
--
-- PostgREST takes a `raise sqlstate 'PGRST'` message's `details` and `hint` as text
-- only: an object there makes it answer 500 PGRST121 ("Could not parse JSON in the
-- RAISE SQLSTATE 'PGRST' error") instead of our error. So `details` is now the JSON
-- text of the details object (e.g. "{\"argument\": \"seq\", \"last_seq\": 5}"), the
-- same through supabase.rpc() and the Edge Functions; clients JSON.parse it.
--
-- And message metadata and signal payloads may nest at most 32 levels, so that a
-- deeply nested value is refused with the same 400 whichever route it takes.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Raises a deliberate API error with PostgREST's custom-error mechanism, so
-- supabase.rpc() callers and the Edge Functions both get
--   HTTP <status>, body {"code", "message", "details", "hint"}, extra <headers>.
-- Args: status (HTTP status), code (snake_case, machine-readable), message (a
-- sentence for people), hint, details (json: sent as its JSON text, since PostgREST
-- reads details as text only), headers (json object of strings).
-- Returns: never; always raises SQLSTATE 'PGRST'.
create or replace function private.raise_error(
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
      'details', raise_error.details::text,
      'hint', raise_error.hint
    )::text,
    detail = json_build_object(
      'status', raise_error.status,
      'headers', coalesce(raise_error.headers, '{}'::jsonb)
    )::text;
end
$$;

-- How deep client JSON (message metadata, signal payloads) may nest.
create function private.max_json_depth() returns integer
language sql immutable set search_path = '' as $$ select 32 $$;

-- Whether `value` nests objects and arrays deeper than max_json_depth().
create function private.nests_too_deep(value jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select jsonb_path_exists(value, format('strict $.**{%s}', private.max_json_depth())::jsonpath)
$$;

-- Validates a message's body and metadata.
-- Raises 400 invalid_body (null or blank), 413 body_too_long (over max_body_length()),
-- 400 invalid_metadata (not a JSON object, or nested deeper than max_json_depth()),
-- 413 metadata_too_large (over max_metadata_bytes()).
create or replace function private.check_message_content(body text, metadata jsonb)
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
  if private.nests_too_deep(metadata) then
    perform private.raise_error(400, 'invalid_metadata',
                                format('metadata may nest at most %s levels.', private.max_json_depth()),
                                null, jsonb_build_object('max_depth', private.max_json_depth()));
  end if;
end
$$;

-- send_signal's work (see the public function). Security definer: the caller may
-- not write to another user's topic, so the event is sent with the owner's rights
-- after these checks. Now also 400 invalid_argument for a payload nested too deep.
create or replace function private.send_signal(conversation_id uuid, to_user uuid, signal_type text, payload jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
begin
  perform private.require_argument('conversation_id', send_signal.conversation_id is null);
  perform private.require_argument('to_user', send_signal.to_user is null);
  perform private.require_argument('signal_type', send_signal.signal_type is null);
  if send_signal.signal_type not in ('offer', 'answer', 'ice', 'bye') then
    perform private.raise_error(400, 'invalid_signal_type', 'signal_type must be offer, answer, ice or bye.');
  end if;
  if send_signal.to_user = caller_id then
    perform private.raise_error(400, 'invalid_argument', 'A signal goes to another member, not to yourself.',
                                null, jsonb_build_object('argument', 'to_user'));
  end if;
  if octet_length(coalesce(send_signal.payload, 'null'::jsonb)::text) > private.max_signal_bytes() then
    perform private.raise_error(
      413, 'signal_too_large',
      format('The signal payload exceeds %s bytes.', private.max_signal_bytes()),
      null, jsonb_build_object('max_bytes', private.max_signal_bytes()));
  end if;
  if private.nests_too_deep(coalesce(send_signal.payload, 'null'::jsonb)) then
    perform private.raise_error(400, 'invalid_argument',
                                format('payload may nest at most %s levels.', private.max_json_depth()),
                                null, jsonb_build_object('argument', 'payload', 'max_depth', private.max_json_depth()));
  end if;
  perform private.require_member(send_signal.conversation_id);
  if not exists (
    select 1 from public.conversation_members m
     where m.conversation_id = send_signal.conversation_id and m.user_id = send_signal.to_user
  ) then
    perform private.raise_error(404, 'member_not_found', 'The recipient is not a member of this conversation.');
  end if;
  if private.is_blocked_between(caller_id, send_signal.to_user) then
    perform private.raise_error(403, 'blocked', 'You cannot signal this user.');
  end if;
  perform private.take_token('signal');
  perform realtime.send(
    jsonb_build_object('from', caller_id, 'conversation_id', send_signal.conversation_id,
                       'type', send_signal.signal_type, 'payload', send_signal.payload),
    'signal', 'user:' || send_signal.to_user::text, true);
end
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.max_json_depth() from public, anon;
revoke all on function private.nests_too_deep(jsonb) from public, anon;
grant execute on function private.max_json_depth() to authenticated, service_role;
grant execute on function private.nests_too_deep(jsonb) to authenticated, service_role;
