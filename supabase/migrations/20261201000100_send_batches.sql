-- Group commit for send-message (docs/performance.md, "Group commit").
--
-- private.send_messages takes the sends an Edge Function gathered while its previous batch
-- was in the database and stores them in one call of one transaction: one round trip, one
-- commit, one replicated transaction for all of them instead of one each. Each send keeps its
-- own caller and its own answer.
--
-- Two ways through it:
-- * at once (private.store_sends_at_once): when every send of the batch is one that
--   send_message would store, they are checked together, a statement per fact for the whole
--   batch (arguments, content, membership, retries, blocking, replies, rate limits), numbered
--   together (one update of the conversations and one insert per round, a round holding at most
--   one send per conversation), and their events come from the same AFTER trigger as always;
-- * one by one, when any send of the batch would be refused or is a retry: each runs
--   send_message as its caller in a block of its own, so a refused send is undone alone and
--   answered with its error while the others are stored.
--
-- The numbering trigger (messages_before_insert) now runs only for a row that comes without a
-- seq: every insert through the API, whose roles cannot give one. Rows given a seq are numbered
-- already, which only the tables' owner can do (send_messages, as security definer):
-- service_role loses its privilege to insert seq and change_seq.

-- The most sends one call takes (a send is a subtransaction; PostgreSQL keeps 64 of them per
-- backend in shared memory before it has to spill to pg_subtrans).
create function private.max_send_batch()
returns integer
language sql
immutable
set search_path = ''
as $$
  select 64
$$;

-- A send of a batch, as store_sends_at_once handles it.
create type private.queued_send as (
  "position" bigint,
  sender_id uuid,
  conversation_id uuid,
  client_id text,
  body text,
  reply_to uuid,
  metadata jsonb,
  round bigint,
  id uuid
);

-- private.store_sends_at_once(sends): stores every send of a batch (see send_messages for its
-- shape) as send_message would, and returns their answers in order; or returns null, storing
-- nothing, when any of them send_message would refuse or answer as a retry. It may also raise
-- for such a send (a value that does not convert, content the trigger's checks refuse, a rate
-- limit): send_messages calls it in a block of its own and then takes the sends one by one.
create function private.store_sends_at_once(sends jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  queued private.queued_send[];
  stored public.messages[] := '{}'::public.messages[];
  conversation_ids uuid[];
  round_conversations uuid[];
  sender record;
  stamp timestamptz;
begin
  select array_agg(q.send order by (q.send).conversation_id, (q.send)."position") into queued
    from (select row(s."position", (s.value -> 'claims' ->> 'sub')::uuid, a.conversation_id, a.client_id, a.body,
                     a.reply_to, case when s.value -> 'args' ? 'metadata' then a.metadata else '{}'::jsonb end,
                     row_number() over (partition by a.conversation_id order by s."position"),
                     gen_random_uuid())::private.queued_send as send
            from jsonb_array_elements(store_sends_at_once.sends) with ordinality as s(value, "position")
           cross join lateral jsonb_to_record(s.value -> 'args')
                   as a(conversation_id uuid, client_id text, body text, reply_to uuid, metadata jsonb)) q;

  -- send_message's own checks, then the content (as the trigger checks it: raises when refused).
  if exists (select 1 from unnest(queued) q
              where q.conversation_id is null or q.client_id is null
                 or char_length(q.client_id) not between 1 and 100 or q.client_id !~ '[^[:space:]]')
     or (select count(distinct (q.sender_id, q.client_id)) from unnest(queued) q) < cardinality(queued) then
    return null;
  end if;
  perform private.check_message_content(q.body, q.metadata) from unnest(queued) q;
  conversation_ids := array(select distinct q.conversation_id from unnest(queued) q order by 1);
  -- (Each lookup is a lateral subquery with a limit: an index probe per send, whatever the
  -- generic plan guesses of the batch's size.)
  if exists (select 1 from unnest(queued) q
               left join lateral (select true as found from public.conversation_members m
                                   where m.conversation_id = q.conversation_id and m.user_id = q.sender_id
                                   limit 1) member on true
              where member.found is null) then
    return null;
  end if;

  -- Retries: under the client_id locks, as in send_message.
  perform private.lock_client_id(q.sender_id, q.client_id) from unnest(queued) q order by q.sender_id, q.client_id;
  if exists (select 1 from unnest(queued) q
               cross join lateral (select 1 from public.messages m
                                    where m.sender_id = q.sender_id and m.client_id = q.client_id limit 1) retry)
     or exists (select 1 from unnest(conversation_ids) c(id) where private.is_dm_blocked(c.id))
     or exists (select 1 from unnest(queued) q
                  left join lateral (select true as found from public.messages r
                                      where r.id = q.reply_to and r.conversation_id = q.conversation_id
                                      limit 1) target on true
                 where q.reply_to is not null and target.found is null) then
    return null;
  end if;

  -- Rate limits: a sender's sends of the batch at once (take_token raises 429 for them all).
  for sender in select q.sender_id, count(*)::integer as sends from unnest(queued) q group by q.sender_id order by q.sender_id
  loop
    perform set_config('request.jwt.claim.sub', sender.sender_id::text, true);
    perform private.take_token('send_message', sender.sends);
  end loop;

  -- Numbering: the conversations locked in id order (as every batch locks them), then a round
  -- at a time, so that each message's AFTER trigger sees its conversation as of that message.
  perform 1 from public.conversations c where c.id = any(conversation_ids) order by c.id for update;
  for round_no in 1 .. (select max(q.round) from unnest(queued) q) loop
    stamp := clock_timestamp();
    round_conversations := array(select q.conversation_id from unnest(queued) q where q.round = round_no);
    with this_round as (
      select q.* from unnest(queued) q where q.round = round_no
    ), numbered as (
      update public.conversations c
         set last_seq = c.last_seq + 1,
             last_change = c.last_change + 1,
             last_message_id = r.id,
             last_message_sender_id = r.sender_id,
             last_message_preview = left(r.body, private.preview_length()),
             last_message_at = stamp
        from this_round r
       where c.id = r.conversation_id and c.id = any(round_conversations)
      returning c.id, c.last_seq, c.last_change
    ), inserted as (
      insert into public.messages as m
             (id, conversation_id, sender_id, client_id, body, reply_to, metadata, seq, change_seq, created_at)
      select r.id, r.conversation_id, r.sender_id, r.client_id, r.body, r.reply_to, r.metadata,
             n.last_seq, n.last_change, stamp
        from this_round r join numbered n on n.id = r.conversation_id
      returning m.*
    )
    select stored || array_agg(i::public.messages) into stored from inserted i;
  end loop;

  return (select jsonb_agg(jsonb_build_object('result', jsonb_build_object('message', to_jsonb(m), 'created', true))
                           order by q."position")
            from unnest(queued) q join unnest(stored) m on m.id = q.id);
end
$$;

-- private.send_messages(sends): sends is a JSON array of
--   {"claims": <the caller's verified JWT claims, role authenticated>,
--    "args": {conversation_id, client_id, body, reply_to?, metadata?}}
-- (args exactly as public.send_message takes them by name). Returns an array with an answer per
-- send, in the same order: {"result": <what public.send_message returns>} or
-- {"error": {"code": <SQLSTATE>, "message", "detail", "hint"}} (the error the send raised, as a
-- single call would have raised it). The sends are stored in the order of their conversation
-- ids (a stable sort, so one conversation's keep their order): every batch takes conversation
-- locks in the same order, so concurrent batches of different senders cannot deadlock on them.
-- Only for service_role: the caller vouches for the claims (it verified the tokens).
create function private.send_messages(sends jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  answered jsonb;
  send record;
  args record;
  -- By position: PL/pgSQL assigns an element of an array variable in place (a jsonb grown
  -- with || would be copied whole at every send).
  answers jsonb[];
  failed_code text;
  failed_message text;
  failed_detail text;
  failed_hint text;
  -- The caller's own settings, given back at the end: the sends' identities stay in here.
  outer_claims text := current_setting('request.jwt.claims', true);
  outer_sub text := current_setting('request.jwt.claim.sub', true);
  outer_role text := current_setting('request.jwt.claim.role', true);
begin
  if jsonb_typeof(send_messages.sends) is distinct from 'array'
     or jsonb_array_length(send_messages.sends) not between 1 and private.max_send_batch() then
    raise exception 'send_messages takes an array of 1 to % sends', private.max_send_batch()
      using errcode = '22023';
  end if;
  select s."position" into send
    from jsonb_array_elements(send_messages.sends) with ordinality as s(value, "position")
   where s.value -> 'claims' ->> 'role' is distinct from 'authenticated' or s.value -> 'claims' ->> 'sub' is null
   order by s."position" limit 1;
  if found then
    raise exception 'send_messages sends only as signed-in users (send %)', send."position" using errcode = '22023';
  end if;

  begin
    answered := private.store_sends_at_once(send_messages.sends);
  exception when others then
    answered := null; -- one of them is refused: see below
  end;

  if answered is null then
    answers := array_fill(null::jsonb, array[jsonb_array_length(send_messages.sends)]);
    for send in
      select s.value as request, s."position"
        from jsonb_array_elements(send_messages.sends) with ordinality as s(value, "position")
       -- In uuid order, as store_sends_at_once locks them, whichever way the id is written
       -- (upper case, braces, hyphens or none): the 32 hex digits in lower case sort like the uuid.
       order by lower(translate(s.value -> 'args' ->> 'conversation_id', '{}-', '')) collate "C", s."position"
    loop
      begin
        perform set_config('request.jwt.claims', (send.request -> 'claims')::text, true),
                set_config('request.jwt.claim.sub', send.request -> 'claims' ->> 'sub', true),
                set_config('request.jwt.claim.role', 'authenticated', true);
        select a.* into args
          from jsonb_to_record(send.request -> 'args')
            as a(conversation_id uuid, client_id text, body text, reply_to uuid, metadata jsonb);
        answers[send."position"] := jsonb_build_object(
          'result', private.send_message(
            args.conversation_id, args.client_id, args.body, args.reply_to,
            case when send.request -> 'args' ? 'metadata' then args.metadata else '{}'::jsonb end));
      exception when others then
        get stacked diagnostics failed_code = returned_sqlstate, failed_message = message_text,
                                failed_detail = pg_exception_detail, failed_hint = pg_exception_hint;
        answers[send."position"] := jsonb_build_object(
          'error', jsonb_build_object('code', failed_code, 'message', failed_message,
                                      'detail', nullif(failed_detail, ''), 'hint', nullif(failed_hint, '')));
      end;
    end loop;
    answered := to_jsonb(answers);
  end if;

  perform set_config('request.jwt.claims', coalesce(outer_claims, ''), true),
          set_config('request.jwt.claim.sub', coalesce(outer_sub, ''), true),
          set_config('request.jwt.claim.role', coalesce(outer_role, ''), true);
  return answered;
end
$$;

-- ---------------------------------------------------------------------------
-- triggers and privileges
-- ---------------------------------------------------------------------------

-- Numbering (and its checks) for rows that come without a seq: every insert but the owner's.
drop trigger messages_before_insert on public.messages;
create trigger messages_before_insert
  before insert on public.messages
  for each row when (new.seq is null)
  execute function private.messages_before_insert();

-- So that only the owner can give a seq (authenticated never could).
revoke insert on public.messages from service_role;
grant insert (id, conversation_id, sender_id, client_id, kind, body, reply_to, metadata, reactions, created_at,
              edited_at, deleted_at, external_delivery)
  on public.messages to service_role;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.max_send_batch() from public, anon, authenticated;
revoke all on function private.send_messages(jsonb) from public, anon, authenticated;
revoke all on function private.store_sends_at_once(jsonb) from public, anon, authenticated, service_role;
grant execute on function private.max_send_batch() to service_role;
grant execute on function private.send_messages(jsonb) to service_role;
