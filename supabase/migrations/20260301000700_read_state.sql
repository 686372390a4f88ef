-- Read state: each member's last_read_seq and last_delivered_seq only move
-- forward and never past the conversation's last_seq. A move emits `receipt`
-- on conversation:<id>; a member's own mark_read also refreshes their badge on
-- their other devices with inbox.updated on user:<id>.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Trigger (conversation_members, before update): keeps read state monotonic
-- (a lower value is ignored), delivered >= read, and both <= last_seq
-- (400 invalid_seq); rate-limits moves a client makes (receipt).
create function private.members_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  current_last_seq bigint;
begin
  if new.last_read_seq < old.last_read_seq then
    new.last_read_seq := old.last_read_seq;
  end if;
  if new.last_delivered_seq < old.last_delivered_seq then
    new.last_delivered_seq := old.last_delivered_seq;
  end if;
  new.last_delivered_seq := greatest(new.last_delivered_seq, new.last_read_seq);
  if (new.last_read_seq, new.last_delivered_seq) is not distinct from (old.last_read_seq, old.last_delivered_seq) then
    return new;
  end if;

  select c.last_seq into current_last_seq from public.conversations c where c.id = new.conversation_id;
  if new.last_delivered_seq > current_last_seq then
    perform private.raise_error(
      400, 'invalid_seq',
      format('seq %s is beyond the last message of the conversation (%s).', new.last_delivered_seq, current_last_seq),
      null, jsonb_build_object('last_seq', current_last_seq));
  end if;
  if pg_trigger_depth() = 1 and auth.uid() is not null then
    perform private.take_token('receipt');
  end if;
  return new;
end
$$;

-- Trigger (conversation_members, after update of the read state): emits
--   receipt {conversation_id, user_id, last_read_seq, last_delivered_seq} on conversation:<id>;
-- and when the member moved their own last_read_seq (mark_read, not a send):
--   inbox.updated {conversation_id, last_seq, last_read_seq, unread_count, last_message_at,
--                  last_message} on user:<member>.
create function private.members_after_read_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
begin
  if (new.last_read_seq, new.last_delivered_seq) is not distinct from (old.last_read_seq, old.last_delivered_seq) then
    return null;
  end if;
  perform realtime.send(
    jsonb_build_object('conversation_id', new.conversation_id, 'user_id', new.user_id,
                       'last_read_seq', new.last_read_seq, 'last_delivered_seq', new.last_delivered_seq),
    'receipt', 'conversation:' || new.conversation_id::text, true);
  if new.last_read_seq <> old.last_read_seq and pg_trigger_depth() = 1 then
    select c.* into conversation from public.conversations c where c.id = new.conversation_id;
    perform realtime.send(private.inbox_payload(conversation, new.last_read_seq), 'inbox.updated',
                          'user:' || new.user_id::text, true);
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------

create trigger members_before_update
  before update on public.conversation_members
  for each row execute function private.members_before_update();

create trigger members_after_read_update
  after update of last_read_seq, last_delivered_seq on public.conversation_members
  for each row execute function private.members_after_read_update();

-- ---------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------

create policy conversation_members_update_own on public.conversation_members
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

grant update (last_read_seq, last_delivered_seq, muted_until) on public.conversation_members to authenticated;

revoke all on function private.members_before_update() from public, anon, authenticated;
revoke all on function private.members_after_read_update() from public, anon, authenticated;
