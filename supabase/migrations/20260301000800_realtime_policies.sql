-- Realtime authorization for private channels, through RLS on
-- realtime.messages as the Realtime server evaluates it (it sets
-- realtime.topic, the role and the JWT claims, then probes SELECT and INSERT):
-- * receive on conversation:<id> as a member, on user:<id> only as that user;
-- * send broadcast or presence only on conversation:<id>, as a member;
-- * nothing else, for anyone (anon has no policy at all).
-- Our triggers write events as postgres (BYPASSRLS), so these policies never stop them.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- The conversation id in a topic 'conversation:<uuid>', or null for any other topic.
create function private.topic_conversation_id(topic text)
returns uuid
language sql
immutable
set search_path = ''
as $$
  select case
    when topic ~ '^conversation:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then substr(topic, 14)::uuid
  end
$$;

-- Whether the caller may receive on `topic`: conversation:<id> as a member
-- (a primary-key lookup in conversation_members), user:<id> only as that user.
create function private.can_receive_topic(topic text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select case
    when topic like 'user:%' then coalesce(topic = 'user:' || auth.uid()::text, false)
    when topic like 'conversation:%' then private.is_member(private.topic_conversation_id(topic))
    else false
  end
$$;

-- Whether the caller may send broadcast or presence on `topic`: only conversation:<id>, as a member.
create function private.can_send_topic(topic text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select topic like 'conversation:%' and private.is_member(private.topic_conversation_id(topic))
$$;

-- ---------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------

create policy realtime_messages_select_member_or_self on realtime.messages
  for select to authenticated
  using (
    realtime.messages.extension in ('broadcast', 'presence')
    and realtime.messages.topic = (select realtime.topic())
    and (select private.can_receive_topic((select realtime.topic())))
  );

create policy realtime_messages_insert_member on realtime.messages
  for insert to authenticated
  with check (
    realtime.messages.extension in ('broadcast', 'presence')
    and realtime.messages.topic = (select realtime.topic())
    and (select private.can_send_topic((select realtime.topic())))
  );

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.topic_conversation_id(text) from public, anon;
revoke all on function private.can_receive_topic(text) from public, anon;
revoke all on function private.can_send_topic(text) from public, anon;
grant execute on function private.topic_conversation_id(text) to authenticated;
grant execute on function private.can_receive_topic(text) to authenticated;
grant execute on function private.can_send_topic(text) to authenticated;
