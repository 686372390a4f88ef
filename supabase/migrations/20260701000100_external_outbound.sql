-- External channels both ways: what a member writes in an external conversation (an SMS
-- or WhatsApp contact's) goes out to the contact through Twilio, Twilio's status
-- callbacks come back as the message's delivery state, and operators manage the team,
-- the sending numbers and the sender without SQL.
--
-- * Outbox. A member's text message in an external conversation is queued in
--   private.external_outbox by a trigger, in the message's own transaction: it is
--   queued if and only if it is stored. Its `external_delivery` starts 'pending'.
-- * Sender. The twilio-send Edge Function claims due rows (`for update skip locked`,
--   then a lease), posts them to Twilio's Messages API and records Twilio's sid. The
--   database wakes it through pg_net: after each queued message's commit, and every
--   10 seconds (pg_cron) while anything is due (retries with backoff, and recovery
--   after a crash). A claimed attempt is "in doubt" until its outcome is recorded; the
--   next claim of such a row looks the message up at Twilio before sending again.
-- * Delivery state. `messages.external_delivery` = {channel, status, sid, error,
--   updated_at}, status pending < queued < sending < sent < delivered < read, or one of
--   the terminal failed / undelivered / canceled. It only moves forward; each move takes
--   the next change_seq (so sync_conversation returns it) and is announced as
--   delivery.changed on the conversation's topic, and, on failure, on the sender's
--   user:<id> topic too.

create extension if not exists pg_net with schema extensions;
create extension if not exists pg_cron with schema pg_catalog;

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

alter table public.messages
  add column external_delivery jsonb
    constraint messages_external_delivery_is_object
      check (external_delivery is null or jsonb_typeof(external_delivery) = 'object');
comment on column public.messages.external_delivery is
  'For a message that goes out to an external contact (SMS / WhatsApp): {channel, status, sid, error, updated_at}, '
  'status pending, queued, sending, sent, delivered, read, or failed / undelivered / canceled (final); null otherwise. '
  'Written by the server only; it never moves backwards.';

create table private.external_channels (
  channel text primary key
    constraint external_channels_channel_check check (channel in ('sms', 'whatsapp')),
  sending_number text not null
    constraint external_channels_sending_number_e164 check (sending_number ~ '^\+[1-9][0-9]{6,14}$'),
  updated_at timestamptz not null default now()
);
comment on table private.external_channels is
  'The number the team sends from on each channel (set_external_channel); WhatsApp numbers are sent as whatsapp:<number>.';

create table private.external_settings (
  singleton boolean primary key default true constraint external_settings_singleton check (singleton),
  sender_url text,
  updated_at timestamptz not null default now()
);
comment on table private.external_settings is
  'One row: sender_url, the URL of the twilio-send Edge Function, which the database calls (pg_net) to wake it '
  '(set_external_sender_url).';
insert into private.external_settings default values;

create table private.external_outbox (
  message_id uuid primary key references public.messages (id) on delete cascade,
  channel text not null,
  to_address text not null,
  from_address text,
  state text not null default 'pending'
    constraint external_outbox_state_check check (state in ('pending', 'sent', 'failed', 'canceled')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  in_doubt_since timestamptz,
  body text,
  sid text constraint external_outbox_sid_key unique,
  last_error jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table private.external_outbox is
  'One row per message that goes out through Twilio: queued with the message, sent once by twilio-send.';
comment on column private.external_outbox.to_address is 'Twilio''s To: +<number>, or whatsapp:+<number>.';
comment on column private.external_outbox.from_address is
  'Twilio''s From: the channel''s sending number when the message was queued (null: none was set; it fails).';
comment on column private.external_outbox.state is
  'pending (to send, at next_attempt_at), sent (Twilio has it: sid), failed (error in last_error), canceled (deleted first).';
comment on column private.external_outbox.next_attempt_at is
  'When the row may be claimed: the retry time, or, while an attempt runs, the end of its lease.';
comment on column private.external_outbox.in_doubt_since is
  'Set when an attempt is claimed, cleared once its outcome is known: while set, Twilio may have the message, '
  'so the next attempt looks it up (To, From, date sent, body) before posting again.';
comment on column private.external_outbox.body is 'The text the attempts send (fixed at the first one; cleared when done).';

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------

create index external_outbox_due_idx on private.external_outbox (next_attempt_at) where state = 'pending';

-- ---------------------------------------------------------------------------
-- functions: delivery state
-- ---------------------------------------------------------------------------

-- The order of delivery states: a state moves only to a higher one; 9 is final.
create function private.delivery_rank(status text)
returns integer
language sql
immutable
set search_path = ''
as $$
  select case status
    when 'pending' then 0 when 'queued' then 1 when 'sending' then 2 when 'sent' then 3
    when 'delivered' then 4 when 'read' then 5
    when 'failed' then 9 when 'undelivered' then 9 when 'canceled' then 9
  end
$$;

-- Our delivery state for a status Twilio reports (MessageStatus, or `status` of the API),
-- or null for one that says nothing about an outbound message.
create function private.delivery_status_of(twilio_status text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case lower(twilio_status)
    when 'accepted' then 'queued' when 'scheduled' then 'queued' when 'queued' then 'queued'
    when 'sending' then 'sending' when 'sent' then 'sent' when 'delivered' then 'delivered' when 'read' then 'read'
    when 'failed' then 'failed' when 'undelivered' then 'undelivered' when 'canceled' then 'canceled'
  end
$$;

-- Moves a message's external delivery state to `status` if that is a step forward (see
-- delivery_rank), keeping its sid unless a new one is given; `error` ({code, message})
-- goes with a failure. Returns whether it moved. Its triggers number and announce it.
create function private.set_external_delivery(message_id uuid, status text, sid text, error jsonb)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  update public.messages m
     set external_delivery = jsonb_build_object(
           'channel', m.external_delivery ->> 'channel',
           'status', set_external_delivery.status,
           'sid', coalesce(set_external_delivery.sid, m.external_delivery ->> 'sid'),
           'error', set_external_delivery.error,
           'updated_at', clock_timestamp())
   where m.id = set_external_delivery.message_id
     and m.external_delivery is not null
     and private.delivery_rank(m.external_delivery ->> 'status') < 9
     and private.delivery_rank(set_external_delivery.status) > private.delivery_rank(m.external_delivery ->> 'status');
  return found;
end
$$;

-- Calls the twilio-send function (through pg_net, after commit) if the sender's URL is
-- set and any outbound message is due. Called after each queued message and by pg_cron.
create function private.wake_external_sender()
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  url text;
begin
  select s.sender_url into url from private.external_settings s;
  if url is not null
     and exists (select 1 from private.external_outbox o where o.state = 'pending' and o.next_attempt_at <= now()) then
    perform net.http_post(url := url, body := '{}'::jsonb, timeout_milliseconds := 30000);
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: triggers
-- ---------------------------------------------------------------------------

-- Trigger (messages, before insert, after messages_before_insert; a member's text message):
-- in an external conversation, the message starts its way out: external_delivery pending.
create function private.messages_before_insert_outbound()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  contact_channel text;
begin
  select x.channel into contact_channel from private.external_contacts x where x.conversation_id = new.conversation_id;
  new.external_delivery := case when contact_channel is not null then jsonb_build_object(
    'channel', contact_channel, 'status', 'pending', 'sid', null, 'error', null, 'updated_at', new.created_at) end;
  return new;
end
$$;

-- Trigger (messages, after insert, when external_delivery is set): queues the message in
-- the outbox, from the channel's sending number to the contact, and wakes the sender.
create function private.messages_after_insert_outbound()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into private.external_outbox (message_id, channel, to_address, from_address)
  select new.id, x.channel, prefix.value || x.address, prefix.value || c.sending_number
    from private.external_contacts x
   cross join lateral (select case x.channel when 'whatsapp' then 'whatsapp:' else '' end as value) prefix
    left join private.external_channels c on c.channel = x.channel
   where x.conversation_id = new.conversation_id;
  perform private.wake_external_sender();
  return null;
end
$$;

-- Trigger (messages, before update of external_delivery, after messages_before_update):
-- a delivery state change takes the conversation's next change_seq (under its row lock),
-- unless the same update already took one, so that sync_conversation returns it.
create function private.messages_before_update_delivery()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.change_seq = old.change_seq then
    update public.conversations c set last_change = c.last_change + 1
     where c.id = new.conversation_id
    returning c.last_change into new.change_seq;
  end if;
  return new;
end
$$;

-- Trigger (messages, after update of external_delivery): emits
--   delivery.changed {conversation_id, message_id, seq, change_seq, sender_id, external_delivery}
-- on the conversation's topic, and, when it failed (failed / undelivered), also on the
-- sender's user:<id> topic, so they learn it wherever they are.
create function private.messages_after_update_delivery()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  payload jsonb := jsonb_build_object(
    'conversation_id', new.conversation_id, 'message_id', new.id, 'seq', new.seq, 'change_seq', new.change_seq,
    'sender_id', new.sender_id, 'external_delivery', new.external_delivery);
  events private.broadcast_event[];
begin
  events := array[row(gen_random_uuid(), (select c.topic from public.conversations c where c.id = new.conversation_id),
                      'delivery.changed', payload)::private.broadcast_event];
  if new.external_delivery ->> 'status' in ('failed', 'undelivered') and new.sender_id is not null then
    events := events || row(gen_random_uuid(), 'user:' || new.sender_id::text, 'delivery.changed',
                            payload)::private.broadcast_event;
  end if;
  perform private.send_events(events);
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: the sender (twilio-send, on the server's connection; not for API roles)
-- ---------------------------------------------------------------------------

-- Claims up to max_rows due outbound messages for one attempt each: locks them (skipping
-- rows another sender holds), counts the attempt, leases them for lease_seconds (no other
-- sender claims them meanwhile), marks the attempt in doubt and fixes the text to send.
-- Returns per row: message_id, channel, to_address, from_address, body, attempts, deleted (the
-- message was deleted meanwhile), and look_up_since: when set, an earlier attempt's
-- outcome is unknown, so Twilio may have the message already: look it up before sending.
create function private.claim_external_sends(max_rows integer, lease_seconds integer)
returns table (
  message_id uuid,
  channel text,
  to_address text,
  from_address text,
  body text,
  attempts integer,
  deleted boolean,
  look_up_since timestamptz
)
language plpgsql
security definer
set search_path = ''
as $$
begin
  return query
    with due as (
      select o.message_id, o.in_doubt_since
        from private.external_outbox o
       where o.state = 'pending' and o.next_attempt_at <= now()
       order by o.next_attempt_at
       limit claim_external_sends.max_rows
         for update skip locked
    )
    update private.external_outbox o
       set attempts = o.attempts + 1,
           next_attempt_at = now() + make_interval(secs => claim_external_sends.lease_seconds),
           in_doubt_since = coalesce(o.in_doubt_since, now()),
           body = coalesce(o.body, m.body),
           updated_at = now()
      from due
      join public.messages m on m.id = due.message_id
     where o.message_id = due.message_id
    returning o.message_id, o.channel, o.to_address, o.from_address, o.body, o.attempts, m.deleted_at is not null,
              due.in_doubt_since;
end
$$;

-- Records that Twilio has the message: its sid and the status Twilio gave. Returns false
-- when the row was no longer pending (e.g. a status callback recorded it first).
create function private.record_external_send(message_id uuid, sid text, twilio_status text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  update private.external_outbox o
     set state = 'sent', sid = record_external_send.sid, in_doubt_since = null, body = null, last_error = null,
         updated_at = now()
   where o.message_id = record_external_send.message_id and o.state = 'pending';
  if not found then
    return false;
  end if;
  perform private.set_external_delivery(record_external_send.message_id,
                                        coalesce(private.delivery_status_of(twilio_status), 'queued'),
                                        record_external_send.sid, null);
  return true;
end
$$;

-- Ends a message's way out without sending: 'failed' with `error` ({code, message, ...},
-- kept on the message and announced to the sender), or 'canceled' (deleted before it went).
create function private.end_external_send(message_id uuid, state text, error jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update private.external_outbox o
     set state = end_external_send.state, in_doubt_since = null, body = null, last_error = end_external_send.error,
         updated_at = now()
   where o.message_id = end_external_send.message_id and o.state = 'pending';
  if found then
    perform private.set_external_delivery(end_external_send.message_id, end_external_send.state, null,
                                          end_external_send.error);
  end if;
end
$$;

-- Schedules the next attempt in delay_seconds, keeping `error` as the last one. in_doubt:
-- whether Twilio may have created the message anyway (a 5xx, a timeout, a lost
-- connection), so the next attempt looks it up first; false when it surely did not (429).
-- After max_attempts the message fails with retries_exhausted. Returns 'retrying' or 'failed'.
create function private.retry_external_send(
  message_id uuid,
  delay_seconds numeric,
  error jsonb,
  in_doubt boolean,
  max_attempts integer
)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  box private.external_outbox;
begin
  update private.external_outbox o
     set next_attempt_at = now() + make_interval(secs => retry_external_send.delay_seconds::double precision),
         in_doubt_since = case when retry_external_send.in_doubt then o.in_doubt_since end,
         last_error = retry_external_send.error,
         updated_at = now()
   where o.message_id = retry_external_send.message_id and o.state = 'pending'
  returning o.* into box;
  if found and box.attempts >= retry_external_send.max_attempts then
    perform private.end_external_send(
      retry_external_send.message_id, 'failed',
      jsonb_build_object('code', 'retries_exhausted',
                         'message', format('Twilio did not take the message after %s attempts.', box.attempts),
                         'last_error', retry_external_send.error));
    return 'failed';
  end if;
  return 'retrying';
end
$$;

-- Applies a Twilio status callback for our message `message_id` (from the callback's URL,
-- which Twilio signs): a sid for a message still pending is adopted (the sender crashed,
-- or has not recorded it yet); a callback for another sid is ignored; the state moves
-- only forward. Returns 'applied', 'unchanged' (not a step forward) or 'ignored'.
create function private.apply_external_status(message_id uuid, sid text, twilio_status text, error_code text)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  box private.external_outbox;
  status text := private.delivery_status_of(twilio_status);
begin
  select o.* into box from private.external_outbox o where o.message_id = apply_external_status.message_id for update;
  if not found or status is null then
    return 'ignored';
  end if;
  if box.sid is null and box.state = 'pending' then
    update private.external_outbox o
       set state = 'sent', sid = apply_external_status.sid, in_doubt_since = null, body = null, last_error = null,
           updated_at = now()
     where o.message_id = box.message_id;
  elsif box.sid is distinct from apply_external_status.sid then
    return 'ignored';
  end if;
  if private.set_external_delivery(
       box.message_id, status, apply_external_status.sid,
       case when status in ('failed', 'undelivered') then
         jsonb_build_object('code', apply_external_status.error_code,
                            'message', coalesce('Twilio error ' || apply_external_status.error_code,
                                                'Twilio could not deliver the message.'))
       end) then
    return 'applied';
  end if;
  return 'unchanged';
end
$$;

-- ---------------------------------------------------------------------------
-- functions: operators (service role)
-- ---------------------------------------------------------------------------

-- Raises 403 not_allowed unless the caller is the service role (or a database role
-- calling without a JWT, such as an operator in the SQL editor).
create function private.require_operator()
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if coalesce(auth.role(), 'service_role') <> 'service_role' then
    perform private.raise_error(403, 'not_allowed', 'Only the service role may manage external channels.',
                                'Call this with the service_role key, from a server.');
  end if;
end
$$;

-- Makes a user a member of the team that answers external contacts: an admin of every
-- external conversation, existing and future. Idempotent.
-- Returns {user_id, added_at, conversations_joined}. Emits conversation.added / member.changed.
-- Errors: 403 not_allowed, 400 invalid_argument, 404 user_not_found.
create function private.add_team_member(user_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  member private.external_team_members;
  joined integer;
begin
  perform private.require_operator();
  perform private.require_argument('user_id', add_team_member.user_id is null);
  perform private.require_users_exist(array[add_team_member.user_id]);
  insert into private.external_team_members (user_id) values (add_team_member.user_id) on conflict do nothing;
  select t.* into member from private.external_team_members t where t.user_id = add_team_member.user_id;
  insert into public.conversation_members (conversation_id, user_id, role)
  select x.conversation_id, add_team_member.user_id, 'admin'
    from private.external_contacts x
   order by x.conversation_id
  on conflict do nothing;
  get diagnostics joined = row_count;
  return jsonb_build_object('user_id', member.user_id, 'added_at', member.added_at, 'conversations_joined', joined);
end
$$;

-- Takes a user off the team and out of every external conversation (the conversations
-- stay, for the rest of the team). Returns {user_id, removed, conversations_left}.
-- Emits member.changed / conversation.removed / conversation.rotated.
-- Errors: 403 not_allowed, 400 invalid_argument.
create function private.remove_team_member(user_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  removed boolean;
  left_count integer;
begin
  perform private.require_operator();
  perform private.require_argument('user_id', remove_team_member.user_id is null);
  delete from private.external_team_members t where t.user_id = remove_team_member.user_id;
  removed := found;
  delete from public.conversation_members m
   using private.external_contacts x
   where m.conversation_id = x.conversation_id and m.user_id = remove_team_member.user_id;
  get diagnostics left_count = row_count;
  return jsonb_build_object('user_id', remove_team_member.user_id, 'removed', removed,
                            'conversations_left', left_count);
end
$$;

-- The team, oldest member first: {user_id, display_name, added_at}.
create function private.list_team_members()
returns table (user_id uuid, display_name text, added_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform private.require_operator();
  return query
    select t.user_id, p.display_name, t.added_at
      from private.external_team_members t
      left join public.profiles p on p.id = t.user_id
     order by t.added_at, t.user_id;
end
$$;

-- Sets the number the team sends from on a channel ('sms' | 'whatsapp'), in E.164 form;
-- null removes it. Messages queued later use it. Returns {channel, sending_number}.
-- Errors: 403 not_allowed, 400 invalid_argument.
create function private.set_external_channel(channel text, sending_number text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_operator();
  if channel is null or channel not in ('sms', 'whatsapp') then
    perform private.raise_error(400, 'invalid_argument', 'channel must be sms or whatsapp.',
                                null, jsonb_build_object('argument', 'channel'));
  end if;
  if sending_number is null then
    delete from private.external_channels c where c.channel = set_external_channel.channel;
  elsif sending_number !~ '^\+[1-9][0-9]{6,14}$' then
    perform private.raise_error(400, 'invalid_argument', 'sending_number must be a phone number in E.164 form.',
                                'For example +14155550123, without the whatsapp: prefix.',
                                jsonb_build_object('argument', 'sending_number'));
  else
    insert into private.external_channels (channel, sending_number)
    values (set_external_channel.channel, set_external_channel.sending_number)
    on conflict on constraint external_channels_pkey
    do update set sending_number = excluded.sending_number, updated_at = now();
  end if;
  return jsonb_build_object('channel', channel, 'sending_number', sending_number);
end
$$;

-- Sets the URL of the twilio-send Edge Function (https://<project>.supabase.co/functions/v1/twilio-send),
-- which the database calls to wake it; null stops the calls. Returns {sender_url}.
-- Errors: 403 not_allowed, 400 invalid_argument.
create function private.set_external_sender_url(url text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_operator();
  if url is not null and url !~ '^https?://[^[:space:]/]+(/[^[:space:]]*)?$' then
    perform private.raise_error(400, 'invalid_argument', 'url must be an http(s) URL.',
                                null, jsonb_build_object('argument', 'url'));
  end if;
  update private.external_settings s set sender_url = set_external_sender_url.url, updated_at = now();
  return jsonb_build_object('sender_url', url);
end
$$;

-- What is configured, and how the outbox stands:
-- {sender_url, channels: {<channel>: <sending number>}, team_size, outbox: {pending, failed}}.
create function private.get_external_settings()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform private.require_operator();
  return jsonb_build_object(
    'sender_url', (select s.sender_url from private.external_settings s),
    'channels', (select coalesce(jsonb_object_agg(c.channel, c.sending_number), '{}') from private.external_channels c),
    'team_size', (select count(*) from private.external_team_members),
    'outbox', (select jsonb_build_object('pending', count(*) filter (where o.state = 'pending'),
                                         'failed', count(*) filter (where o.state = 'failed'))
                 from private.external_outbox o));
end
$$;

-- ---------------------------------------------------------------------------
-- functions: the API for operators (security invoker; with the service_role key)
-- ---------------------------------------------------------------------------

create function public.add_team_member(user_id uuid)
returns jsonb
language sql
set search_path = ''
as $$
  select private.add_team_member(user_id)
$$;

create function public.remove_team_member(user_id uuid)
returns jsonb
language sql
set search_path = ''
as $$
  select private.remove_team_member(user_id)
$$;

create function public.list_team_members()
returns table (user_id uuid, display_name text, added_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select * from private.list_team_members()
$$;

create function public.set_external_channel(channel text, sending_number text)
returns jsonb
language sql
set search_path = ''
as $$
  select private.set_external_channel(channel, sending_number)
$$;

create function public.set_external_sender_url(url text)
returns jsonb
language sql
set search_path = ''
as $$
  select private.set_external_sender_url(url)
$$;

create function public.get_external_settings()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select private.get_external_settings()
$$;

-- ---------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------

-- Trigger names sort after the chat triggers of the same timing, so these run after them.
create trigger messages_before_insert_outbound
  before insert on public.messages
  for each row when (new.sender_id is not null and new.kind = 'text')
  execute function private.messages_before_insert_outbound();

create trigger messages_after_insert_outbound
  after insert on public.messages
  for each row when (new.external_delivery is not null)
  execute function private.messages_after_insert_outbound();

create trigger messages_before_update_delivery
  before update of external_delivery on public.messages
  for each row when (new.external_delivery is distinct from old.external_delivery)
  execute function private.messages_before_update_delivery();

create trigger messages_after_update_delivery
  after update of external_delivery on public.messages
  for each row when (new.external_delivery is distinct from old.external_delivery)
  execute function private.messages_after_update_delivery();

-- ---------------------------------------------------------------------------
-- policies (RLS on, no policy: only security definer functions touch these)
-- ---------------------------------------------------------------------------

alter table private.external_channels enable row level security;
alter table private.external_settings enable row level security;
alter table private.external_outbox enable row level security;

-- ---------------------------------------------------------------------------
-- schedule
-- ---------------------------------------------------------------------------

-- Retries and recovery: every 10 seconds, wake the sender if anything is due.
select cron.schedule('wake-external-sender', '10 seconds', 'select private.wake_external_sender()');

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on private.external_channels, private.external_settings, private.external_outbox
  from public, anon, authenticated, service_role;

revoke all on function private.delivery_rank(text) from public, anon, authenticated, service_role;
revoke all on function private.delivery_status_of(text) from public, anon, authenticated, service_role;
revoke all on function private.set_external_delivery(uuid, text, text, jsonb) from public, anon, authenticated, service_role;
revoke all on function private.wake_external_sender() from public, anon, authenticated, service_role;
revoke all on function private.messages_before_insert_outbound() from public, anon, authenticated, service_role;
revoke all on function private.messages_after_insert_outbound() from public, anon, authenticated, service_role;
revoke all on function private.messages_before_update_delivery() from public, anon, authenticated, service_role;
revoke all on function private.messages_after_update_delivery() from public, anon, authenticated, service_role;
revoke all on function private.claim_external_sends(integer, integer) from public, anon, authenticated, service_role;
revoke all on function private.record_external_send(uuid, text, text) from public, anon, authenticated, service_role;
revoke all on function private.end_external_send(uuid, text, jsonb) from public, anon, authenticated, service_role;
revoke all on function private.retry_external_send(uuid, numeric, jsonb, boolean, integer)
  from public, anon, authenticated, service_role;
revoke all on function private.apply_external_status(uuid, text, text, text) from public, anon, authenticated, service_role;

-- Operators' RPCs: callable with a user's token too, which gets 403 not_allowed.
revoke all on function private.require_operator() from public, anon;
revoke all on function private.add_team_member(uuid) from public, anon;
revoke all on function private.remove_team_member(uuid) from public, anon;
revoke all on function private.list_team_members() from public, anon;
revoke all on function private.set_external_channel(text, text) from public, anon;
revoke all on function private.set_external_sender_url(text) from public, anon;
revoke all on function private.get_external_settings() from public, anon;
revoke all on function public.add_team_member(uuid) from public, anon;
revoke all on function public.remove_team_member(uuid) from public, anon;
revoke all on function public.list_team_members() from public, anon;
revoke all on function public.set_external_channel(text, text) from public, anon;
revoke all on function public.set_external_sender_url(text) from public, anon;
revoke all on function public.get_external_settings() from public, anon;
grant execute on function private.require_operator() to authenticated, service_role;
grant execute on function private.add_team_member(uuid) to authenticated, service_role;
grant execute on function private.remove_team_member(uuid) to authenticated, service_role;
grant execute on function private.list_team_members() to authenticated, service_role;
grant execute on function private.set_external_channel(text, text) to authenticated, service_role;
grant execute on function private.set_external_sender_url(text) to authenticated, service_role;
grant execute on function private.get_external_settings() to authenticated, service_role;
grant execute on function public.add_team_member(uuid) to authenticated, service_role;
grant execute on function public.remove_team_member(uuid) to authenticated, service_role;
grant execute on function public.list_team_members() to authenticated, service_role;
grant execute on function public.set_external_channel(text, text) to authenticated, service_role;
grant execute on function public.set_external_sender_url(text) to authenticated, service_role;
grant execute on function public.get_external_settings() to authenticated, service_role;
