-- WebRTC signaling relay: an offer, answer, ICE candidate or bye from one
-- member of a conversation to another, delivered as the event `signal` on the
-- recipient's private user:<id> topic. Nothing is stored beyond the transient
-- realtime.messages row; the `signal` Edge Function is the HTTP entry point.

-- ---------------------------------------------------------------------------
-- data
-- ---------------------------------------------------------------------------

-- ICE gathering sends bursts of candidates: a large bucket, quickly refilled.
insert into private.rate_limit_rules (action, capacity, refill_per_second, description) values
  ('signal', 120, 20, 'send_signal: WebRTC offers, answers, ICE candidates and byes');

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Largest signal payload, in bytes of its JSON text (an SDP offer with many candidates fits).
create function private.max_signal_bytes() returns integer
language sql immutable set search_path = '' as $$ select 16384 $$;

-- send_signal's work (see the public function). Security definer: the caller may
-- not write to another user's topic, so the event is sent with the owner's rights
-- after these checks.
create function private.send_signal(conversation_id uuid, to_user uuid, signal_type text, payload jsonb)
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

-- Relays a WebRTC signal to another member of a conversation.
-- Args: conversation_id, to_user (the recipient, a member), signal_type
-- ('offer' | 'answer' | 'ice' | 'bye'), payload (JSON: the SDP or candidate).
-- Emits signal {from, conversation_id, type, payload} on user:<to_user> only.
-- Errors: 400 invalid_argument / invalid_signal_type, 413 signal_too_large,
-- 404 conversation_not_found / member_not_found, 403 not_a_member / blocked, 429 rate_limited.
create function public.send_signal(conversation_id uuid, to_user uuid, signal_type text, payload jsonb default null)
returns void
language sql
set search_path = ''
as $$
  select private.send_signal(conversation_id, to_user, signal_type, payload)
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.max_signal_bytes() from public, anon;
revoke all on function private.send_signal(uuid, uuid, text, jsonb) from public, anon;
grant execute on function private.send_signal(uuid, uuid, text, jsonb) to authenticated;
revoke all on function public.send_signal(uuid, uuid, text, jsonb) from public, anon;
grant execute on function public.send_signal(uuid, uuid, text, jsonb) to authenticated;
