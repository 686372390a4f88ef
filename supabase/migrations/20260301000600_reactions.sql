-- Reactions: one row per (message, user, emoji). Triggers keep the message's
-- reaction summary (messages.reactions), move its change_seq, and emit
-- reaction.changed on conversation:<id>.

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

create table public.message_reactions (
  message_id uuid not null references public.messages (id) on delete cascade,
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  emoji text not null
    constraint message_reactions_emoji_format check (char_length(emoji) between 1 and 32 and emoji !~ '[[:space:]]'),
  conversation_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (message_id, user_id, emoji)
);
comment on table public.message_reactions is
  'Who reacted to which message with which emoji. Members read them; a member adds and removes only their own.';
comment on column public.message_reactions.emoji is 'The reaction: 1..32 characters without spaces (an emoji or a short code).';
comment on column public.message_reactions.conversation_id is
  'The message''s conversation, copied by a trigger so that policies check membership without a join.';

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------

create index message_reactions_user_id_idx on public.message_reactions (user_id);
create index message_reactions_conversation_id_idx on public.message_reactions (conversation_id);

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Trigger (message_reactions, before insert or delete): locks the message row
-- first (the lock order is message, then conversation, as for edits), copies its
-- conversation_id, and for a member's new reaction checks it:
-- 409 message_deleted, 403 blocked (blocked direct conversation),
-- 409 too_many_reactions (over max_reaction_kinds() distinct emojis); rate-limits
-- a client's adds and removes (reaction). Non-members are left to the policies.
create function private.reactions_before_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := auth.uid();
  target public.messages;
begin
  if tg_op = 'DELETE' then
    if caller_id is not null and pg_trigger_depth() = 1 then
      perform private.take_token('reaction');
    end if;
    perform 1 from public.messages m where m.id = old.message_id for no key update;
    return old;
  end if;

  select m.* into target from public.messages m where m.id = new.message_id for no key update;
  if not found then
    perform private.raise_error(404, 'message_not_found', 'There is no message with this id.');
  end if;
  new.conversation_id := target.conversation_id;
  new.created_at := clock_timestamp();
  if caller_id is null or not private.is_member(target.conversation_id) then
    return new;
  end if;
  if target.deleted_at is not null then
    perform private.raise_error(409, 'message_deleted', 'This message was deleted.');
  end if;
  if private.is_dm_blocked(target.conversation_id) then
    perform private.raise_error(403, 'blocked', 'You cannot write to this conversation.');
  end if;
  if not (target.reactions ? new.emoji)
     and (select count(*) from jsonb_object_keys(target.reactions)) >= private.max_reaction_kinds() then
    perform private.raise_error(409, 'too_many_reactions',
                                format('A message can carry at most %s different reactions.', private.max_reaction_kinds()));
  end if;
  if pg_trigger_depth() = 1 then
    perform private.take_token('reaction');
  end if;
  return new;
end
$$;

-- Trigger (message_reactions, after insert or delete): recomputes the message's
-- reaction summary {"<emoji>": ["<user id>", ...]} (which moves its change_seq) and emits
--   reaction.changed {conversation_id, message_id, seq, change_seq, user_id, emoji,
--                     action: 'added' | 'removed', reactions} on conversation:<id>.
create function private.reactions_after_write()
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

  perform realtime.send(
    jsonb_build_object(
      'conversation_id', target.conversation_id,
      'message_id', target.id,
      'seq', target.seq,
      'change_seq', target.change_seq,
      'user_id', changed.user_id,
      'emoji', changed.emoji,
      'action', case when tg_op = 'INSERT' then 'added' else 'removed' end,
      'reactions', target.reactions),
    'reaction.changed', 'conversation:' || target.conversation_id::text, true);
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------

create trigger reactions_before_write
  before insert or delete on public.message_reactions
  for each row execute function private.reactions_before_write();

create trigger reactions_after_write
  after insert or delete on public.message_reactions
  for each row execute function private.reactions_after_write();

-- ---------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------

alter table public.message_reactions enable row level security;

create policy message_reactions_select_member on public.message_reactions
  for select to authenticated
  using (conversation_id in (select private.my_conversation_ids()));

create policy message_reactions_insert_member_as_self on public.message_reactions
  for insert to authenticated
  with check (user_id = (select auth.uid()) and private.can_post(conversation_id));

create policy message_reactions_delete_own on public.message_reactions
  for delete to authenticated
  using (user_id = (select auth.uid()) and conversation_id in (select private.my_conversation_ids()));

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on public.message_reactions from anon, authenticated;
grant select, delete on public.message_reactions to authenticated;
grant insert (message_id, emoji) on public.message_reactions to authenticated;

revoke all on function private.reactions_before_write() from public, anon, authenticated;
revoke all on function private.reactions_after_write() from public, anon, authenticated;
