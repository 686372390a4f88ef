-- Rate limiting in SQL: a token bucket per user and action. Every write path
-- takes a token (the RPCs, and the row triggers for writes a client can also
-- make through table routes), so no path is unlimited. Running out raises
-- 429 rate_limited with the seconds to wait.

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

create table private.rate_limit_rules (
  action text primary key,
  capacity integer not null check (capacity > 0),
  refill_per_second numeric not null check (refill_per_second > 0),
  description text not null
);
comment on table private.rate_limit_rules is
  'Token-bucket rules per action: a full bucket holds `capacity` tokens (the burst), refilled at '
  '`refill_per_second` (the sustained rate). Operators may tune these rows.';

create table private.rate_limit_buckets (
  user_id uuid not null references auth.users (id) on delete cascade,
  action text not null references private.rate_limit_rules (action) on delete cascade on update cascade,
  tokens double precision not null,
  refreshed_at timestamptz not null,
  primary key (user_id, action)
);
comment on table private.rate_limit_buckets is
  'Each user''s bucket per action: tokens left at refreshed_at (refill is computed lazily).';

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------

create index rate_limit_buckets_action_idx on private.rate_limit_buckets (action);

-- ---------------------------------------------------------------------------
-- data
-- ---------------------------------------------------------------------------

insert into private.rate_limit_rules (action, capacity, refill_per_second, description) values
  ('send_message', 30, 2, 'send_message and inserts into messages'),
  ('edit_message', 20, 1, 'edit_message, delete_message and updates of messages'),
  ('reaction', 30, 2, 'add_reaction, remove_reaction and writes of message_reactions'),
  ('receipt', 120, 10, 'mark_read, mark_delivered and updates of one''s read state that move it'),
  ('create_conversation', 10, 0.2, 'creating a direct conversation or a group'),
  ('manage_members', 30, 0.5, 'add_conversation_members, remove_conversation_member, leave_conversation'),
  ('block', 20, 0.2, 'block_user and unblock_user'),
  ('search', 30, 1, 'search_messages and search_profiles'),
  ('profile', 10, 0.1, 'update_profile and updates of one''s profile');

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- Takes `cost` tokens from the caller's bucket for `action`.
-- Args: action (a private.rate_limit_rules row), cost (tokens, default 1).
-- Returns nothing; raises 429 rate_limited with details {action, retry_after_seconds}
-- and the Retry-After header when the bucket is short. No-op without a signed-in
-- user (service_role, migrations). Uses the transaction's time, so one
-- transaction never refills its own bucket.
create function private.take_token(action text, cost integer default 1)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_id uuid := auth.uid();
  limit_rule private.rate_limit_rules;
  bucket private.rate_limit_buckets;
  available double precision;
  wait_seconds integer;
begin
  if caller_id is null then
    return;
  end if;
  select r.* into limit_rule from private.rate_limit_rules r where r.action = take_token.action;
  if not found then
    raise exception 'private.take_token: no rate limit rule for action %', take_token.action;
  end if;

  insert into private.rate_limit_buckets as b (user_id, action, tokens, refreshed_at)
  values (caller_id, take_token.action, limit_rule.capacity - take_token.cost, now())
  on conflict on constraint rate_limit_buckets_pkey do update
     set tokens = least(limit_rule.capacity::double precision,
                        b.tokens + greatest(0, extract(epoch from now() - b.refreshed_at)::double precision)
                                   * limit_rule.refill_per_second::double precision) - take_token.cost,
         refreshed_at = greatest(b.refreshed_at, now())
   where least(limit_rule.capacity::double precision,
               b.tokens + greatest(0, extract(epoch from now() - b.refreshed_at)::double precision)
                          * limit_rule.refill_per_second::double precision) >= take_token.cost
  returning b.* into bucket;

  if not found then
    select b.* into bucket from private.rate_limit_buckets b
     where b.user_id = caller_id and b.action = take_token.action;
    available := least(limit_rule.capacity::double precision,
                       bucket.tokens + greatest(0, extract(epoch from now() - bucket.refreshed_at)::double precision)
                                       * limit_rule.refill_per_second::double precision);
    wait_seconds := greatest(1, ceil((take_token.cost - available) / limit_rule.refill_per_second::double precision)::integer);
    perform private.raise_error(
      429, 'rate_limited',
      format('Too many %s requests; try again in %s s.', take_token.action, wait_seconds),
      null,
      jsonb_build_object('action', take_token.action, 'retry_after_seconds', wait_seconds),
      jsonb_build_object('Retry-After', wait_seconds::text)
    );
  end if;
end
$$;
comment on function private.take_token(text, integer) is
  'Token bucket per (auth.uid(), action); raises 429 rate_limited with Retry-After when empty.';

-- ---------------------------------------------------------------------------
-- policies (RLS on, no policy: only security definer functions touch these)
-- ---------------------------------------------------------------------------

alter table private.rate_limit_rules enable row level security;
alter table private.rate_limit_buckets enable row level security;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on private.rate_limit_rules, private.rate_limit_buckets from public, anon, authenticated;
revoke all on function private.take_token(text, integer) from public, anon;
grant execute on function private.take_token(text, integer) to authenticated;
