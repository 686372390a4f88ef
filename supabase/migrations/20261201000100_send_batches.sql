-- Group commit for send-message (docs/performance.md, "Group commit").
--
-- private.send_messages takes the sends an Edge Function gathered while its previous batch
-- was in the database and stores them in one call of one transaction: one round trip, one
-- commit, one replicated transaction for all of them instead of one each. Each send keeps its
-- own caller and its own answer: it runs as that signed-in user (auth.uid() is theirs, so
-- membership, blocking and rate limits are theirs) inside a block of its own, so a refused send
-- is undone alone and answered with its error while the others are stored.

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
  send record;
  args record;
  answers jsonb := '[]'::jsonb;
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

  for send in
    select s.value as request, s.position
      from jsonb_array_elements(send_messages.sends) with ordinality as s(value, position)
     order by s.value -> 'args' ->> 'conversation_id', s.position
  loop
    if send.request -> 'claims' ->> 'role' is distinct from 'authenticated'
       or send.request -> 'claims' ->> 'sub' is null then
      raise exception 'send_messages sends only as signed-in users (send %)', send.position
        using errcode = '22023';
    end if;
    begin
      perform set_config('request.jwt.claims', (send.request -> 'claims')::text, true),
              set_config('request.jwt.claim.sub', send.request -> 'claims' ->> 'sub', true),
              set_config('request.jwt.claim.role', 'authenticated', true);
      select a.* into args
        from jsonb_to_record(send.request -> 'args')
          as a(conversation_id uuid, client_id text, body text, reply_to uuid, metadata jsonb);
      answers := answers || jsonb_build_array(jsonb_build_object(
        'position', send.position,
        'result', private.send_message(
          args.conversation_id, args.client_id, args.body, args.reply_to,
          case when send.request -> 'args' ? 'metadata' then args.metadata else '{}'::jsonb end)));
    exception when others then
      get stacked diagnostics failed_code = returned_sqlstate, failed_message = message_text,
                              failed_detail = pg_exception_detail, failed_hint = pg_exception_hint;
      answers := answers || jsonb_build_array(jsonb_build_object(
        'position', send.position,
        'error', jsonb_build_object('code', failed_code, 'message', failed_message,
                                    'detail', nullif(failed_detail, ''), 'hint', nullif(failed_hint, ''))));
    end;
  end loop;

  perform set_config('request.jwt.claims', coalesce(outer_claims, ''), true),
          set_config('request.jwt.claim.sub', coalesce(outer_sub, ''), true),
          set_config('request.jwt.claim.role', coalesce(outer_role, ''), true);
  return (select jsonb_agg(a - 'position' order by (a ->> 'position')::bigint)
            from jsonb_array_elements(answers) a);
end
$$;

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.max_send_batch() from public, anon, authenticated;
revoke all on function private.send_messages(jsonb) from public, anon, authenticated;
grant execute on function private.max_send_batch() to service_role;
grant execute on function private.send_messages(jsonb) to service_role;
