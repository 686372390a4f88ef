-- Inbound messages from outside the app (Twilio SMS and WhatsApp). Each
-- external sender is a contact with one conversation shared with the support
-- team; their messages are stored as kind 'external' (no sender_id) and flow
-- through the same triggers and events as any other message. The
-- twilio-webhook Edge Function calls private.receive_external_message after
-- checking Twilio's signature.

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

create table private.external_team_members (
  user_id uuid primary key references auth.users (id) on delete cascade,
  added_at timestamptz not null default now()
);
comment on table private.external_team_members is
  'The team that answers external contacts: each is made an admin of every new external conversation. '
  'Managed by operators (service role / SQL), e.g. insert into private.external_team_members (user_id) values (...).';

create table private.external_contacts (
  id uuid primary key default gen_random_uuid(),
  channel text not null
    constraint external_contacts_channel_check check (channel in ('sms', 'whatsapp')),
  address text not null
    constraint external_contacts_address_e164 check (address ~ '^\+[1-9][0-9]{6,14}$'),
  display_name text,
  conversation_id uuid not null unique references public.conversations (id) on delete cascade,
  created_at timestamptz not null default now(),
  constraint external_contacts_channel_address_key unique (channel, address)
);
comment on table private.external_contacts is
  'A person writing from outside the app: a phone number on a channel, and the conversation their messages go to.';
comment on column private.external_contacts.address is 'The sender''s phone number in E.164 form (+14155550123).';
comment on column private.external_contacts.display_name is 'The name the channel gave (WhatsApp profile name), if any.';

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------

-- An external message's client_id is the provider's message id (Twilio's
-- MessageSid): unique, so a redelivered webhook stores nothing twice.
create unique index messages_external_client_id_key on public.messages (client_id) where kind = 'external';

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Stores an inbound external message. Creates the contact and its conversation
-- (a group titled after the channel and sender, with every team member as admin)
-- on first contact. Idempotent on message_sid.
-- Args: channel ('sms' | 'whatsapp'), address (E.164), profile_name (or null),
-- message_sid (the provider's message id), body, media (JSON array of {url, contentType}).
-- Returns {message_id, conversation_id, seq, created}.
-- Emits what any message emits (message.created, inbox.updated), plus
-- conversation.added / member.changed when the conversation is new.
-- Errors: 400 invalid_argument. For the server only: not executable by API roles.
create function private.receive_external_message(
  channel text,
  address text,
  profile_name text,
  message_sid text,
  body text,
  media jsonb default '[]'
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  contact private.external_contacts;
  conversation public.conversations;
  stored public.messages;
begin
  if channel is null or channel not in ('sms', 'whatsapp') then
    perform private.raise_error(400, 'invalid_argument', 'channel must be sms or whatsapp.',
                                null, jsonb_build_object('argument', 'channel'));
  end if;
  if address is null or address !~ '^\+[1-9][0-9]{6,14}$' then
    perform private.raise_error(400, 'invalid_argument', 'address must be a phone number in E.164 form.',
                                null, jsonb_build_object('argument', 'address'));
  end if;
  perform private.require_argument('message_sid', message_sid is null or message_sid = '');

  -- One delivery at a time per contact: the first creates the conversation, a redelivery finds its message.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('external:' || channel || ':' || address, 0));

  select m.* into stored from public.messages m where m.kind = 'external' and m.client_id = message_sid;
  if found then
    return jsonb_build_object('message_id', stored.id, 'conversation_id', stored.conversation_id,
                              'seq', stored.seq, 'created', false);
  end if;

  select x.* into contact from private.external_contacts x
   where x.channel = receive_external_message.channel and x.address = receive_external_message.address;
  if not found then
    insert into public.conversations (kind, title)
    values ('group', left(format('%s %s', case channel when 'sms' then 'SMS' else 'WhatsApp' end,
                                 coalesce(nullif(btrim(profile_name), ''), address)), 100))
    returning * into conversation;
    insert into public.conversation_members (conversation_id, user_id, role)
    select conversation.id, t.user_id, 'admin' from private.external_team_members t;
    insert into private.external_contacts (channel, address, display_name, conversation_id)
    values (channel, address, nullif(btrim(profile_name), ''), conversation.id)
    returning * into contact;
  end if;

  insert into public.messages (conversation_id, sender_id, client_id, kind, body, metadata)
  values (contact.conversation_id, null, message_sid, 'external', body,
          jsonb_build_object('external', jsonb_build_object(
            'channel', channel, 'address', address, 'name', contact.display_name, 'message_sid', message_sid),
            'media', coalesce(media, '[]'::jsonb)))
  returning * into stored;
  return jsonb_build_object('message_id', stored.id, 'conversation_id', stored.conversation_id,
                            'seq', stored.seq, 'created', true);
end
$$;

-- ---------------------------------------------------------------------------
-- policies (RLS on, no policy: only security definer functions touch these)
-- ---------------------------------------------------------------------------

alter table private.external_team_members enable row level security;
alter table private.external_contacts enable row level security;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.receive_external_message(text, text, text, text, text, jsonb)
  from public, anon, authenticated;
