-- The fast path of group commit (20261201000100): private.store_sends_at_once stores a batch of
-- sends that send_message would all store, and leaves the database exactly as the one-by-one
-- path leaves it; it declines (null, or an error send_messages catches) whenever any send would
-- be refused or is a retry, storing nothing.
--
-- Two worlds alike (users a, b, c; a direct conversation a–b and a group of a, b, c) get the
-- same batch: world 1 at once, world 2 one by one (send_messages with one refused send more).
-- Then everything a send writes or emits is compared, with ids and timestamps as labels.
begin;
select plan(24);

select tests.create_user(u || w) from unnest(array['a', 'b', 'c']) u, unnest(array['1', '2']) w;
select tests.create_user('mallory');

create function pg_temp.setup(w text)
returns void
language plpgsql
as $$
begin
  perform tests.authenticate_as('a' || w);
  perform tests.remember('dm' || w, (select id from public.get_or_create_direct_conversation(tests.get_user_id('b' || w))));
  perform tests.remember('group' || w, (select id from public.create_group_conversation(
    'group', array[tests.get_user_id('b' || w), tests.get_user_id('c' || w)])));
  -- A message to reply to, sent before the batch.
  perform tests.remember('earlier' || w, (public.send_message(tests.id('dm' || w), 'e', 'earlier') -> 'message' ->> 'id')::uuid);
  perform tests.clear_authentication();
end
$$;
select pg_temp.setup('1');
select pg_temp.setup('2');

create function pg_temp.send(sender text, conversation text, client_id text, body text, extra jsonb default '{}')
returns jsonb
language sql
as $$
  select jsonb_build_object(
    'claims', jsonb_build_object('sub', tests.get_user_id(sender), 'role', 'authenticated', 'aud', 'authenticated'),
    'args', jsonb_build_object('conversation_id', tests.id(conversation), 'client_id', client_id, 'body', body) || extra)
$$;

-- Seven sends over both conversations, several per conversation and per sender, a reply and metadata.
create function pg_temp.batch(w text)
returns jsonb
language sql
as $$
  select jsonb_build_array(
    pg_temp.send('a' || w, 'dm' || w, 'k1', 'hi b'),
    pg_temp.send('b' || w, 'group' || w, 'k2', 'hello all'),
    pg_temp.send('a' || w, 'dm' || w, 'k3', 'second'),
    pg_temp.send('c' || w, 'group' || w, 'k4', 'hey', '{"metadata": {"mood": "glad"}}'),
    pg_temp.send('a' || w, 'group' || w, 'k5', 'third in the group'),
    pg_temp.send('b' || w, 'dm' || w, 'k6', 'a reply', jsonb_build_object('reply_to', tests.id('earlier' || w))),
    pg_temp.send('b' || w, 'group' || w, 'k7', 'last'))
$$;

-- Each world's ids as labels, for comparing the two.
create temp table labels (id text, label text);
insert into labels
  select tests.get_user_id(u || w)::text, u from unnest(array['a', 'b', 'c']) u, unnest(array['1', '2']) w
  union all
  select tests.id(c || w)::text, c from unnest(array['dm', 'group']) c, unnest(array['1', '2']) w;

create function pg_temp.labelled(value text)
returns text
language plpgsql
as $$
declare
  known record;
begin
  for known in select * from labels loop
    value := replace(value, known.id, known.label);
  end loop;
  -- Message ids (each message as conversation:seq) and timestamps.
  for known in select m.id::text as id, l.label || ':' || m.seq as label
                 from public.messages m join labels l on l.id = m.conversation_id::text loop
    value := replace(value, known.id, known.label);
  end loop;
  return regexp_replace(value, '\d{4}-\d\d-\d\d[T ][0-9:.+]+', 'T', 'g');
end
$$;

-- Every event as it reaches realtime.messages, with its payload (tests.event_order).
select tests.track_event_order();

-- What a world holds after the batch: messages, conversations, members, rate limits, events.
create function pg_temp.world(w text)
returns table (part text, entry text)
language sql
as $$
  select 'message', pg_temp.labelled(format('%s %s %s %s %s %s %s %s %s', m.conversation_id, m.seq, m.change_seq,
                                            m.sender_id, m.client_id, m.body, m.reply_to, m.metadata, m.kind))
    from public.messages m where m.conversation_id in (tests.id('dm' || w), tests.id('group' || w))
  union all
  select 'conversation', pg_temp.labelled(format('%s %s %s %s %s %s', c.id, c.last_seq, c.last_change,
                                                 c.last_message_id, c.last_message_sender_id, c.last_message_preview))
    from public.conversations c where c.id in (tests.id('dm' || w), tests.id('group' || w))
  union all
  select 'member', pg_temp.labelled(format('%s %s %s %s', m.conversation_id, m.user_id, m.last_read_seq,
                                           m.last_delivered_seq))
    from public.conversation_members m where m.conversation_id in (tests.id('dm' || w), tests.id('group' || w))
  union all
  select 'tokens taken', pg_temp.labelled(format('%s %s', b.user_id, round((r.capacity - b.tokens)::numeric, 6)))
    from private.rate_limit_buckets b join private.rate_limit_rules r using (action)
   where b.action = 'send_message'
     and b.user_id in (select tests.get_user_id(u || w) from unnest(array['a', 'b', 'c']) u)
  union all
  -- Each topic's events per conversation in the order they came (a batch at once interleaves
  -- conversations on a user's topic that one by one would not: only each conversation's order counts).
  select 'event', pg_temp.labelled(format('%s %s %s %s', e.topic, e.conversation_id,
                                          row_number() over (partition by e.topic, e.conversation_id order by e.position),
                                          e.event || ' ' || (e.payload - 'id')))
    from (select r.*, coalesce(r.payload ->> 'conversation_id', r.payload -> 'record' ->> 'conversation_id') as conversation_id
            from tests.event_order r) e
   where e.conversation_id in (tests.id('dm' || w)::text, tests.id('group' || w)::text)
$$;

-- world 1: at once
create temp table answers (w text primary key, answers jsonb);
insert into answers values ('1', private.store_sends_at_once(pg_temp.batch('1')));
create temp table world1 as select * from pg_temp.world('1');

select isnt((select answers from answers where w = '1'), null, 'A batch of sends that would all be stored is stored at once.');
select is((select count(*)::int from jsonb_array_elements((select answers from answers where w = '1')) a
            where (a -> 'result' ->> 'created')::boolean), 7, 'Seven answers, each a new message.');
select results_eq(
  $$ select a -> 'result' -> 'message' ->> 'client_id'
       from jsonb_array_elements((select answers from answers where w = '1')) with ordinality x(a, n) order by n $$,
  $$ values ('k1'), ('k2'), ('k3'), ('k4'), ('k5'), ('k6'), ('k7') $$,
  'The answers come in the order of the sends.');
select results_eq($$ select seq, body from public.messages where conversation_id = tests.id('group1') order by seq $$,
                  $$ values (1::bigint, 'hello all'), (2, 'hey'), (3, 'third in the group'), (4, 'last') $$,
                  'A conversation''s sends are numbered without a gap, in the order they came.');

-- world 2: one by one (Mallory's refused send keeps the batch off the fast path)
create temp table batch2 as
  select pg_temp.batch('2') || jsonb_build_array(pg_temp.send('mallory', 'dm2', 'm1', 'let me in')) as sends;
grant all on answers, batch2 to service_role;
set local role service_role;
insert into answers select '2', private.send_messages(sends) from batch2;
reset role;

select is(((select answers from answers where w = '2') -> 7 -> 'error' ->> 'message')::jsonb ->> 'code', 'not_a_member',
          'World 2 went one by one (Mallory refused alone).');
select is(pg_temp.labelled((select answers from answers where w = '1')::text),
          pg_temp.labelled((select jsonb_path_query_array(answers, '$[0 to 6]') from answers where w = '2')::text),
          'At once, each send is answered as one by one.');
-- One part of world 1 against the same part of world 2.
create function pg_temp.same_in_both(part text, description text)
returns text
language sql
as $$
  select results_eq(format('select entry from world1 where part = %L order by entry', part),
                    format('select entry from pg_temp.world(''2'') where part = %L order by entry', part),
                    description)
$$;
select pg_temp.same_in_both('message', 'The same messages (numbers, senders, keys, bodies, replies, metadata).');
select pg_temp.same_in_both('conversation', 'The same conversations (last seq, last change, last message and its preview).');
select pg_temp.same_in_both('member', 'The same read and delivery state (each sender has read its own).');
select pg_temp.same_in_both('tokens taken', 'The same rate-limit tokens taken, a token a send.');
select pg_temp.same_in_both('event', 'The same events with the same payloads, in the same order on each topic.');
select ok((select count(*) from world1 where part = 'event') >= 7 * 2, 'And there are events to compare.');

-- declines: store_sends_at_once answers null or raises, and stores nothing
create temp table declines (name text primary key, sends jsonb);
select tests.authenticate_as('b1');
select public.block_user(tests.get_user_id('a1'));
select tests.clear_authentication();
insert into declines values
  ('a key twice', jsonb_build_array(pg_temp.send('a2', 'dm2', 'd1', 'x'), pg_temp.send('a2', 'group2', 'd1', 'y'))),
  ('a retry', jsonb_build_array(pg_temp.send('a2', 'dm2', 'k1', 'hi b'))),
  ('no member', jsonb_build_array(pg_temp.send('a2', 'dm2', 'd2', 'x'), pg_temp.send('mallory', 'group2', 'd3', 'x'))),
  ('blocked', jsonb_build_array(pg_temp.send('a1', 'dm1', 'd4', 'x'))),
  ('unknown reply', jsonb_build_array(pg_temp.send('a2', 'dm2', 'd5', 'x', jsonb_build_object('reply_to', gen_random_uuid())))),
  ('reply elsewhere', jsonb_build_array(pg_temp.send('a2', 'group2', 'd6', 'x', jsonb_build_object('reply_to', tests.id('earlier2'))))),
  ('blank key', jsonb_build_array(pg_temp.send('a2', 'dm2', ' ', 'x'))),
  ('blank body', jsonb_build_array(pg_temp.send('a2', 'dm2', 'd7', '  '))),
  ('not a uuid', jsonb_build_array(pg_temp.send('a2', 'dm2', 'd8', 'x') || '{"args": {"conversation_id": "nope", "client_id": "d8", "body": "x"}}'));

-- What store_sends_at_once does with a batch: declined (null), stored, or raised (an API
-- error's code, or the SQLSTATE); a raise undoes what the call wrote.
create function pg_temp.outcome(sends jsonb)
returns text
language plpgsql
as $$
declare
  state text;
  message text;
begin
  return case when private.store_sends_at_once(sends) is null then 'declined' else 'stored' end;
exception when others then
  get stacked diagnostics state = returned_sqlstate, message = message_text;
  return 'raised ' || case when state = 'PGRST' then message::jsonb ->> 'code' else state end;
end
$$;
create temp table declined as select d.name, pg_temp.outcome(d.sends) as outcome from declines d;

select results_eq($$ select name from declined where outcome = 'declined' order by name $$,
                  $$ values ('a key twice'), ('a retry'), ('blank key'), ('blocked'), ('no member'), ('reply elsewhere'),
                            ('unknown reply') $$,
                  'Declined with null: a key twice in the batch, a retry, a blank key, blocking, no member, a reply target elsewhere or unknown.');
select is((select outcome from declined where name = 'blank body'), 'raised invalid_body',
          'Declined by raising: content the checks refuse …');
select is((select outcome from declined where name = 'not a uuid'), 'raised 22P02', '… or an argument that does not convert.');

update private.rate_limit_buckets set tokens = 1
 where user_id = tests.get_user_id('c2') and action = 'send_message';
select is(pg_temp.outcome(jsonb_build_array(pg_temp.send('c2', 'group2', 'd9', 'x'), pg_temp.send('c2', 'group2', 'd10', 'y'))),
          'raised rate_limited', 'Declined by raising: a sender whose sends of the batch exceed their tokens.');
create temp table limited as
  select jsonb_build_array(pg_temp.send('c2', 'group2', 'd9', 'x'), pg_temp.send('c2', 'group2', 'd10', 'y')) as sends;
grant all on limited to service_role;
set local role service_role;
select is((select jsonb_agg(a -> 'result' ->> 'created' order by n) || jsonb_agg(a -> 'error' ->> 'code' order by n)
             from jsonb_array_elements(private.send_messages((select sends from limited))) with ordinality x(a, n)),
          '["true", null, null, "PGRST"]'::jsonb, 'One by one, the first is stored and the second is rate limited.');
reset role;
select results_eq($$ select count(*)::int from public.messages where client_id like 'd%' $$, $$ values (1) $$,
                  'The declined batches stored nothing (only the one-by-one send is stored).');

-- one by one, the sends go in the uuid order of their conversations (the order the fast path
-- locks them in), however their ids are written: here the smaller one in braces, which as text
-- would sort after every other id
create temp table braced as
  select jsonb_build_array(
           pg_temp.send('a2', 'dm2', 'o1', 'x') || jsonb_build_object('args', jsonb_build_object(
             'conversation_id', '{' || least(tests.id('dm2'), tests.id('group2')) || '}', 'client_id', 'o1', 'body', 'x')),
           pg_temp.send('a2', 'dm2', 'o2', 'y') || jsonb_build_object('args', jsonb_build_object(
             'conversation_id', greatest(tests.id('dm2'), tests.id('group2')), 'client_id', 'o2', 'body', 'y')),
           pg_temp.send('mallory', 'dm2', 'm2', 'let me in')) as sends,
         least(tests.id('dm2'), tests.id('group2')) as first;
grant all on braced to service_role;
set local role service_role;
select is((select jsonb_path_query_array(private.send_messages(sends), '$[*].result.created') from braced),
          '[true, true]'::jsonb, 'Two sends stored one by one (Mallory refused) …');
reset role;
select results_eq(
  $$ select e.payload -> 'record' ->> 'conversation_id' from tests.event_order e
      where e.event = 'message.created' and e.payload -> 'record' ->> 'client_id' in ('o1', 'o2') order by e.position $$,
  $$ select (select first from braced)::text union all
     select greatest(tests.id('dm2'), tests.id('group2'))::text $$,
  '… the one in the smaller conversation first, although its id came in braces.');

-- the numbering trigger and who may give a seq
create temp table ids as select tests.id('dm2') as dm2, tests.get_user_id('a2') as a2;
grant all on ids to service_role;
set local role service_role;
select throws_ok(format($$ insert into public.messages (conversation_id, sender_id, client_id, body, seq)
                           values (%L, %L, 'own', 'x', 99) $$, (select dm2 from ids), (select a2 from ids)),
                 '42501', null, 'service_role cannot give a message its seq …');
select throws_ok(format($$ insert into public.messages (conversation_id, sender_id, client_id, body, change_seq)
                           values (%L, %L, 'own', 'x', 99) $$, (select dm2 from ids), (select a2 from ids)),
                 '42501', null, '… nor its change_seq.');
select lives_ok(format($$ insert into public.messages (conversation_id, sender_id, client_id, body)
                          values (%L, %L, 'own', 'numbered') $$, (select dm2 from ids), (select a2 from ids)),
                '… it can insert without them,');
reset role;
select is((select seq from public.messages where client_id = 'own'),
          (select last_seq from public.conversations where id = tests.id('dm2')),
          'and the trigger numbers the row as the conversation''s newest.');

select * from finish();
rollback;
