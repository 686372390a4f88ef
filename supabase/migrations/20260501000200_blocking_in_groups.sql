-- Blocking holds in groups too: nobody can put into a group a user who blocked
-- them or whom they blocked (create_group_conversation, add_conversation_members).
-- The caller gets 403 blocked naming those users, and nothing is written — the
-- same answer get_or_create_direct_conversation gives for a blocked pair.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Raises 403 blocked when the caller and any of `user_ids` blocked one another (either
-- way); details.user_ids lists them.
create function private.require_not_blocked(user_ids uuid[])
returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  blocked uuid[];
begin
  select array_agg(requested.id order by requested.id) into blocked
    from unnest(require_not_blocked.user_ids) as requested (id)
   where private.is_blocked_between(auth.uid(), requested.id);
  if blocked is not null then
    perform private.raise_error(403, 'blocked',
                                case when cardinality(blocked) = 1 then 'You cannot add this user.'
                                     else 'You cannot add some of these users.' end,
                                null, jsonb_build_object('user_ids', to_jsonb(blocked)));
  end if;
end
$$;

-- create_group_conversation's work (see the public function); now also 403 blocked.
create or replace function private.create_group_conversation(title text, member_ids uuid[])
returns public.conversations
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  clean_title text := btrim(create_group_conversation.title);
  invitees uuid[];
  conversation public.conversations;
begin
  if clean_title is null or char_length(clean_title) not between 1 and 100 then
    perform private.raise_error(400, 'invalid_title', 'The title must have 1 to 100 characters.');
  end if;
  invitees := private.clean_user_ids('member_ids', member_ids);
  if cardinality(invitees) + 1 > private.max_group_members() then
    perform private.raise_error(400, 'too_many_members',
                                format('A group has at most %s members.', private.max_group_members()),
                                null, jsonb_build_object('limit', private.max_group_members()));
  end if;
  perform private.require_users_exist(invitees);
  perform private.require_not_blocked(invitees);
  perform private.take_token('create_conversation');

  insert into public.conversations (kind, title, created_by)
  values ('group', clean_title, caller_id)
  returning * into conversation;
  -- One statement, so that every member's conversation.added carries the final member count.
  insert into public.conversation_members (conversation_id, user_id, role)
  select conversation.id, caller_id, 'owner'
  union all
  select conversation.id, invitee.id, 'member' from unnest(invitees) as invitee (id);

  select c.* into conversation from public.conversations c where c.id = conversation.id;
  return conversation;
end
$$;

-- add_conversation_members's work (see the public function); now also 403 blocked.
create or replace function private.add_conversation_members(conversation_id uuid, user_ids uuid[])
returns setof public.conversation_members
language plpgsql
security definer
set search_path = ''
as $$
declare
  membership public.conversation_members;
  conversation public.conversations;
  invitees uuid[];
begin
  perform private.require_user();
  membership := private.require_member(add_conversation_members.conversation_id);
  invitees := private.clean_user_ids('user_ids', user_ids);
  select c.* into conversation from public.conversations c
   where c.id = add_conversation_members.conversation_id
     for update;
  if conversation.kind = 'direct' then
    perform private.raise_error(403, 'not_allowed', 'Members cannot be added to a direct conversation.');
  end if;
  if membership.role not in ('owner', 'admin') then
    perform private.raise_error(403, 'not_allowed', 'Only the group''s owner and admins can add members.');
  end if;
  perform private.require_users_exist(invitees);

  select coalesce(array_agg(invitee.id), '{}') into invitees
    from unnest(invitees) as invitee (id)
   where not exists (select 1 from public.conversation_members m
                      where m.conversation_id = conversation.id and m.user_id = invitee.id);
  if cardinality(invitees) = 0 then
    return;
  end if;
  perform private.require_not_blocked(invitees);
  if conversation.member_count + cardinality(invitees) > private.max_group_members() then
    perform private.raise_error(400, 'too_many_members',
                                format('A group has at most %s members.', private.max_group_members()),
                                null, jsonb_build_object('limit', private.max_group_members()));
  end if;
  perform private.take_token('manage_members');

  insert into public.conversation_members (conversation_id, user_id, role)
  select conversation.id, invitee.id, 'member' from unnest(invitees) as invitee (id);
  return query
    select m.* from public.conversation_members m
     where m.conversation_id = conversation.id and m.user_id = any (invitees)
     order by m.user_id;
end
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.require_not_blocked(uuid[]) from public, anon;
grant execute on function private.require_not_blocked(uuid[]) to authenticated;
