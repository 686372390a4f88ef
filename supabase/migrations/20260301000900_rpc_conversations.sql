-- RPC API, conversations and people: open a direct conversation, create a
-- group, add and remove members, set roles, leave, block and unblock.
-- Each public function runs as the caller and calls a security definer
-- function in `private` that checks the caller's right explicitly (they write
-- other users' membership rows and the private blocked_users table).

-- ---------------------------------------------------------------------------
-- functions: private internals
-- ---------------------------------------------------------------------------

-- Raises 404 user_not_found unless every id is a user; details.user_ids lists the unknown ones.
create function private.require_users_exist(user_ids uuid[])
returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  unknown uuid[];
begin
  select array_agg(requested.id order by requested.id) into unknown
    from unnest(user_ids) as requested (id)
   where not exists (select 1 from auth.users u where u.id = requested.id);
  if unknown is not null then
    perform private.raise_error(404, 'user_not_found',
                                case when cardinality(unknown) = 1 then 'There is no user with this id.'
                                     else 'Some of these user ids do not exist.' end,
                                null, jsonb_build_object('user_ids', to_jsonb(unknown)));
  end if;
end
$$;

-- The distinct ids of `user_ids` other than the caller's.
-- Raises 400 invalid_argument (null array or null element), 400 too_many_members (over max_members_per_call()).
create function private.clean_user_ids(argument text, user_ids uuid[])
returns uuid[]
language plpgsql
stable
set search_path = ''
as $$
declare
  cleaned uuid[];
begin
  perform private.require_argument(argument, user_ids is null);
  if array_position(user_ids, null) is not null then
    perform private.raise_error(400, 'invalid_argument', format('%s must not contain null.', argument),
                                null, jsonb_build_object('argument', argument));
  end if;
  select coalesce(array_agg(distinct requested.id), '{}') into cleaned
    from unnest(user_ids) as requested (id)
   where requested.id is distinct from auth.uid();
  if cardinality(cleaned) > private.max_members_per_call() then
    perform private.raise_error(400, 'too_many_members',
                                format('Name at most %s users per call.', private.max_members_per_call()),
                                null, jsonb_build_object('limit', private.max_members_per_call()));
  end if;
  return cleaned;
end
$$;

-- get_or_create_direct_conversation's work (see the public function).
create function private.get_or_create_direct_conversation(other_user_id uuid)
returns public.conversations
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  pair_key text;
  conversation public.conversations;
begin
  perform private.require_argument('other_user_id', other_user_id is null);
  if other_user_id = caller_id then
    perform private.raise_error(400, 'invalid_argument', 'You cannot start a direct conversation with yourself.',
                                null, jsonb_build_object('argument', 'other_user_id'));
  end if;
  perform private.require_users_exist(array[other_user_id]);
  if private.is_blocked_between(caller_id, other_user_id) then
    perform private.raise_error(403, 'blocked', 'You cannot message this user.');
  end if;

  pair_key := least(caller_id, other_user_id)::text || ':' || greatest(caller_id, other_user_id)::text;
  select c.* into conversation from public.conversations c where c.direct_key = pair_key;
  if found then
    return conversation;
  end if;

  perform private.take_token('create_conversation');
  insert into public.conversations (kind, direct_key, created_by)
  values ('direct', pair_key, caller_id)
  on conflict (direct_key) do nothing
  returning * into conversation;
  if not found then
    -- A concurrent call created it first (and its members); return that one.
    select c.* into conversation from public.conversations c where c.direct_key = pair_key;
    return conversation;
  end if;
  insert into public.conversation_members (conversation_id, user_id, role)
  values (conversation.id, caller_id, 'member'), (conversation.id, other_user_id, 'member');
  select c.* into conversation from public.conversations c where c.id = conversation.id;
  return conversation;
end
$$;

-- create_group_conversation's work (see the public function).
create function private.create_group_conversation(title text, member_ids uuid[])
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

-- add_conversation_members's work (see the public function).
create function private.add_conversation_members(conversation_id uuid, user_ids uuid[])
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

-- remove_conversation_member's work (see the public function).
create function private.remove_conversation_member(conversation_id uuid, user_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  membership public.conversation_members;
  target public.conversation_members;
  conversation public.conversations;
begin
  membership := private.require_member(remove_conversation_member.conversation_id);
  perform private.require_argument('user_id', remove_conversation_member.user_id is null);
  if remove_conversation_member.user_id = caller_id then
    perform private.raise_error(400, 'invalid_argument', 'To leave a conversation, call leave_conversation.',
                                null, jsonb_build_object('argument', 'user_id'));
  end if;
  select c.* into conversation from public.conversations c
   where c.id = remove_conversation_member.conversation_id
     for update;
  if conversation.kind = 'direct' then
    perform private.raise_error(403, 'not_allowed', 'Members cannot be removed from a direct conversation.');
  end if;
  select m.* into target from public.conversation_members m
   where m.conversation_id = conversation.id and m.user_id = remove_conversation_member.user_id;
  if not found then
    perform private.raise_error(404, 'member_not_found', 'This user is not a member of the conversation.');
  end if;
  if not (membership.role = 'owner' or (membership.role = 'admin' and target.role = 'member')) then
    perform private.raise_error(403, 'not_allowed',
                                'Only the owner removes admins; the owner and admins remove members.');
  end if;
  perform private.take_token('manage_members');
  delete from public.conversation_members m
   where m.conversation_id = conversation.id and m.user_id = target.user_id;
end
$$;

-- set_member_role's work (see the public function).
create function private.set_member_role(conversation_id uuid, user_id uuid, role text)
returns public.conversation_members
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  membership public.conversation_members;
  target public.conversation_members;
  conversation public.conversations;
begin
  membership := private.require_member(set_member_role.conversation_id);
  perform private.require_argument('user_id', set_member_role.user_id is null);
  if set_member_role.role is null or set_member_role.role not in ('admin', 'member') then
    perform private.raise_error(400, 'invalid_argument', 'role must be ''admin'' or ''member''.',
                                null, jsonb_build_object('argument', 'role'));
  end if;
  select c.* into conversation from public.conversations c
   where c.id = set_member_role.conversation_id
     for update;
  if conversation.kind = 'direct' then
    perform private.raise_error(403, 'not_allowed', 'A direct conversation has no roles.');
  end if;
  if membership.role <> 'owner' then
    perform private.raise_error(403, 'not_allowed', 'Only the group''s owner can change roles.');
  end if;
  if set_member_role.user_id = caller_id then
    perform private.raise_error(400, 'invalid_argument', 'The owner''s own role cannot be changed.',
                                null, jsonb_build_object('argument', 'user_id'));
  end if;
  select m.* into target from public.conversation_members m
   where m.conversation_id = conversation.id and m.user_id = set_member_role.user_id;
  if not found then
    perform private.raise_error(404, 'member_not_found', 'This user is not a member of the conversation.');
  end if;
  if target.role = set_member_role.role then
    return target;
  end if;
  perform private.take_token('manage_members');
  update public.conversation_members m set role = set_member_role.role
   where m.conversation_id = conversation.id and m.user_id = target.user_id
  returning * into target;
  return target;
end
$$;

-- leave_conversation's work (see the public function).
create function private.leave_conversation(conversation_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  membership public.conversation_members;
  conversation public.conversations;
  successor uuid;
begin
  membership := private.require_member(leave_conversation.conversation_id);
  select c.* into conversation from public.conversations c
   where c.id = leave_conversation.conversation_id
     for update;
  if conversation.kind = 'direct' then
    perform private.raise_error(403, 'not_allowed', 'You cannot leave a direct conversation.');
  end if;
  perform private.take_token('manage_members');

  delete from public.conversation_members m
   where m.conversation_id = conversation.id and m.user_id = caller_id;
  if membership.role = 'owner' then
    select m.user_id into successor
      from public.conversation_members m
     where m.conversation_id = conversation.id
     order by (m.role = 'admin') desc, m.joined_at, m.user_id
     limit 1;
    if successor is not null then
      update public.conversation_members m set role = 'owner'
       where m.conversation_id = conversation.id and m.user_id = successor;
    end if;
  end if;
  if not exists (select 1 from public.conversation_members m where m.conversation_id = conversation.id) then
    delete from public.conversations c where c.id = conversation.id;
  end if;
end
$$;

-- block_user's work (see the public function).
create function private.block_user(user_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
begin
  perform private.require_argument('user_id', block_user.user_id is null);
  if block_user.user_id = caller_id then
    perform private.raise_error(400, 'invalid_argument', 'You cannot block yourself.',
                                null, jsonb_build_object('argument', 'user_id'));
  end if;
  perform private.require_users_exist(array[block_user.user_id]);
  perform private.take_token('block');
  insert into private.blocked_users (blocker_id, blocked_id)
  values (caller_id, block_user.user_id)
  on conflict do nothing;
end
$$;

-- unblock_user's work (see the public function).
create function private.unblock_user(user_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
begin
  perform private.require_argument('user_id', unblock_user.user_id is null);
  perform private.require_users_exist(array[unblock_user.user_id]);
  perform private.take_token('block');
  delete from private.blocked_users b
   where b.blocker_id = caller_id and b.blocked_id = unblock_user.user_id;
end
$$;

-- ---------------------------------------------------------------------------
-- functions: the API (security invoker)
-- ---------------------------------------------------------------------------

-- Opens the direct conversation between the caller and another user, creating it
-- (and both memberships) the first time. One per pair, even under concurrent calls.
-- Args: other_user_id. Returns the conversations row.
-- Emits (on creation): conversation.added to both users, member.changed x2.
-- Errors: 400 invalid_argument (null, yourself), 404 user_not_found, 403 blocked
-- (either blocked the other), 429 rate_limited.
create function public.get_or_create_direct_conversation(other_user_id uuid)
returns public.conversations
language sql
set search_path = ''
as $$
  select * from private.get_or_create_direct_conversation(get_or_create_direct_conversation.other_user_id)
$$;

-- Creates a group owned by the caller with the given members.
-- Args: title (1..100 characters), member_ids (other users; the caller is added as owner;
-- duplicates and the caller's own id are ignored; at most 100).
-- Returns the conversations row. Emits conversation.added and member.changed per member.
-- Errors: 400 invalid_title / invalid_argument / too_many_members, 404 user_not_found, 429.
create function public.create_group_conversation(title text, member_ids uuid[])
returns public.conversations
language sql
set search_path = ''
as $$
  select * from private.create_group_conversation(create_group_conversation.title,
                                                  create_group_conversation.member_ids)
$$;

-- Adds users to a group (owner or admin only). Users already in it are skipped.
-- Args: conversation_id, user_ids (at most 100). Returns the new membership rows.
-- Emits conversation.added and member.changed per new member.
-- Errors: 400, 404 conversation_not_found / user_not_found, 403 not_a_member / not_allowed
-- (not owner/admin, direct conversation), 400 too_many_members, 429.
create function public.add_conversation_members(conversation_id uuid, user_ids uuid[])
returns setof public.conversation_members
language sql
set search_path = ''
as $$
  select * from private.add_conversation_members(add_conversation_members.conversation_id,
                                                 add_conversation_members.user_ids)
$$;

-- Removes a member from a group: the owner removes anyone, admins remove members.
-- Args: conversation_id, user_id. Emits member.changed and conversation.removed (reason 'removed').
-- Errors: 400 (null, yourself), 404 conversation_not_found / member_not_found,
-- 403 not_a_member / not_allowed, 429.
create function public.remove_conversation_member(conversation_id uuid, user_id uuid)
returns void
language sql
set search_path = ''
as $$
  select private.remove_conversation_member(remove_conversation_member.conversation_id,
                                            remove_conversation_member.user_id)
$$;

-- Makes a group member an admin or a plain member (the owner only).
-- Args: conversation_id, user_id, role ('admin' | 'member'). Returns the membership row.
-- Emits member.changed (operation 'UPDATE') when the role changes.
-- Errors: 400 invalid_argument (null, bad role, the owner themself), 404 conversation_not_found /
-- member_not_found, 403 not_a_member / not_allowed (not the owner, direct conversation), 429.
create function public.set_member_role(conversation_id uuid, user_id uuid, role text)
returns public.conversation_members
language sql
set search_path = ''
as $$
  select * from private.set_member_role(set_member_role.conversation_id, set_member_role.user_id,
                                        set_member_role.role)
$$;

-- Leaves a group. An owner who leaves hands ownership to the longest-standing admin,
-- else member; the last one out deletes the group.
-- Args: conversation_id. Emits member.changed and conversation.removed (reason 'left').
-- Errors: 400, 404 conversation_not_found, 403 not_a_member / not_allowed (direct conversation), 429.
create function public.leave_conversation(conversation_id uuid)
returns void
language sql
set search_path = ''
as $$
  select private.leave_conversation(leave_conversation.conversation_id)
$$;

-- Blocks a user: neither can open a direct conversation with the other or write
-- to the one they share. Idempotent. Args: user_id.
-- Errors: 400 invalid_argument (null, yourself), 404 user_not_found, 429.
create function public.block_user(user_id uuid)
returns void
language sql
set search_path = ''
as $$
  select private.block_user(block_user.user_id)
$$;

-- Lifts the caller's block of a user. Idempotent. Args: user_id.
-- Errors: 400 invalid_argument, 404 user_not_found, 429.
create function public.unblock_user(user_id uuid)
returns void
language sql
set search_path = ''
as $$
  select private.unblock_user(unblock_user.user_id)
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.require_users_exist(uuid[]) from public, anon, authenticated;
revoke all on function private.clean_user_ids(text, uuid[]) from public, anon, authenticated;
grant execute on function private.require_users_exist(uuid[]) to authenticated;
grant execute on function private.clean_user_ids(text, uuid[]) to authenticated;

revoke all on function private.get_or_create_direct_conversation(uuid) from public, anon;
revoke all on function private.create_group_conversation(text, uuid[]) from public, anon;
revoke all on function private.add_conversation_members(uuid, uuid[]) from public, anon;
revoke all on function private.remove_conversation_member(uuid, uuid) from public, anon;
revoke all on function private.leave_conversation(uuid) from public, anon;
revoke all on function private.set_member_role(uuid, uuid, text) from public, anon;
revoke all on function private.block_user(uuid) from public, anon;
revoke all on function private.unblock_user(uuid) from public, anon;
grant execute on function private.get_or_create_direct_conversation(uuid) to authenticated;
grant execute on function private.create_group_conversation(text, uuid[]) to authenticated;
grant execute on function private.add_conversation_members(uuid, uuid[]) to authenticated;
grant execute on function private.remove_conversation_member(uuid, uuid) to authenticated;
grant execute on function private.leave_conversation(uuid) to authenticated;
grant execute on function private.set_member_role(uuid, uuid, text) to authenticated;
grant execute on function private.block_user(uuid) to authenticated;
grant execute on function private.unblock_user(uuid) to authenticated;

revoke all on function public.get_or_create_direct_conversation(uuid) from public, anon;
revoke all on function public.create_group_conversation(text, uuid[]) from public, anon;
revoke all on function public.add_conversation_members(uuid, uuid[]) from public, anon;
revoke all on function public.remove_conversation_member(uuid, uuid) from public, anon;
revoke all on function public.leave_conversation(uuid) from public, anon;
revoke all on function public.set_member_role(uuid, uuid, text) from public, anon;
revoke all on function public.block_user(uuid) from public, anon;
revoke all on function public.unblock_user(uuid) from public, anon;
grant execute on function public.get_or_create_direct_conversation(uuid) to authenticated;
grant execute on function public.create_group_conversation(text, uuid[]) to authenticated;
grant execute on function public.add_conversation_members(uuid, uuid[]) to authenticated;
grant execute on function public.remove_conversation_member(uuid, uuid) to authenticated;
grant execute on function public.leave_conversation(uuid) to authenticated;
grant execute on function public.set_member_role(uuid, uuid, text) to authenticated;
grant execute on function public.block_user(uuid) to authenticated;
grant execute on function public.unblock_user(uuid) to authenticated;
