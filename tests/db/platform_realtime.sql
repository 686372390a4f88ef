-- The realtime schema stand-in: Broadcast from Database as the platform has it.
begin;
select plan(56);

-- owners and privileges
select schema_owner_is('realtime', 'supabase_admin', 'supabase_admin owns the realtime schema');
select table_owner_is('realtime', 'messages', 'supabase_realtime_admin', 'supabase_realtime_admin owns realtime.messages');
select is_empty(
  $$ select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'realtime.messages'::regclass and pg_get_userbyid(c.relowner) <> 'supabase_realtime_admin' $$,
  'supabase_realtime_admin owns every partition of realtime.messages');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'realtime'::regnamespace and pg_get_userbyid(p.proowner) <> 'supabase_realtime_admin' $$,
  'supabase_realtime_admin owns every function in realtime');
select ok(has_schema_privilege('postgres', 'realtime', 'usage with grant option'),
          'postgres may use the realtime schema, and grant that on');
select ok(not has_schema_privilege('postgres', 'realtime', 'create'), 'postgres may not create objects in realtime');
select set_has(
  $$ select privilege_type from pg_class c, aclexplode(c.relacl) a
      where c.oid = 'realtime.messages'::regclass and a.grantee = 'postgres'::regrole $$,
  $$ values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER') $$,
  'postgres holds all privileges on realtime.messages directly');
select set_has(
  $$ select privilege_type from pg_class c, aclexplode(c.relacl) a
      where c.oid = 'realtime.messages'::regclass and a.grantee = 'dashboard_user'::regrole $$,
  $$ values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER') $$,
  'dashboard_user holds all privileges on realtime.messages');

-- the table
select is((select relkind::text from pg_class where oid = 'realtime.messages'::regclass), 'p',
          'realtime.messages is partitioned');
select is((select pg_get_partkeydef('realtime.messages'::regclass)), 'RANGE (inserted_at)',
          'realtime.messages is partitioned by range of inserted_at');
select col_type_is('realtime', 'messages', 'topic', 'text', 'topic is text');
select col_not_null('realtime', 'messages', 'topic', 'topic is required');
select col_type_is('realtime', 'messages', 'extension', 'text', 'extension is text');
select col_type_is('realtime', 'messages', 'payload', 'jsonb', 'payload is jsonb');
select col_type_is('realtime', 'messages', 'private', 'boolean', 'private is a boolean');
select col_default_is('realtime', 'messages', 'private', 'false', 'private defaults to false');
select col_type_is('realtime', 'messages', 'inserted_at', 'timestamp without time zone', 'inserted_at is a timestamp');
select col_type_is('realtime', 'messages', 'binary_payload', 'bytea', 'binary_payload is bytea');
select col_is_pk('realtime', 'messages', array['id', 'inserted_at'], 'the primary key is (id, inserted_at)');
select is((select array_agg(conname::text order by conname) from pg_constraint where conrelid = 'realtime.messages'::regclass),
          array['messages_payload_exclusive', 'messages_pkey'], 'the constraints have the platform''s names');
select throws_ok(
  $$ insert into realtime.messages (topic, extension, payload, binary_payload) values ('t', 'broadcast', '{}', '\x01') $$,
  '23514', null, 'payload and binary_payload are mutually exclusive');
select ok((select relrowsecurity from pg_class where oid = 'realtime.messages'::regclass), 'RLS is enabled on realtime.messages');
select table_privs_are('realtime', 'messages', 'authenticated', array['SELECT', 'INSERT', 'UPDATE'],
                       'authenticated may select, insert and update realtime.messages');
select table_privs_are('realtime', 'messages', 'anon', array['SELECT', 'INSERT', 'UPDATE'],
                       'anon may select, insert and update realtime.messages');

-- daily partitions, yesterday .. today + 3 (UTC)
select set_eq(
  $$ select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'realtime.messages'::regclass $$,
  $$ select 'messages_' || to_char((now() at time zone 'utc')::date + d, 'YYYY_MM_DD')
       from generate_series(-1, 3) d $$,
  'partitions exist for yesterday through today + 3 days');

-- the functions
select function_returns('realtime', 'topic', array[]::text[], 'text', 'realtime.topic() returns text');
select is(realtime.topic(), null, 'realtime.topic() is null when no channel is being checked');
set local realtime.topic = 'conversation:42';
select is(realtime.topic(), 'conversation:42', 'realtime.topic() returns the topic being checked');

select function_returns('realtime', 'send', array['jsonb', 'text', 'text', 'boolean'], 'void',
                        'realtime.send(payload, event, topic, private) returns void');
select function_lang_is('realtime', 'send', array['jsonb', 'text', 'text', 'boolean'], 'plpgsql', 'realtime.send is plpgsql');
select isnt_definer('realtime', 'send', array['jsonb', 'text', 'text', 'boolean'],
                    'realtime.send runs as the caller, so RLS applies');
select function_returns('realtime', 'send_binary', array['bytea', 'text', 'text', 'boolean'], 'void',
                        'realtime.send_binary(payload, event, topic, private) returns void');
select isnt_definer('realtime', 'send_binary', array['bytea', 'text', 'text', 'boolean'],
                    'realtime.send_binary runs as the caller, so RLS applies');
select function_returns('realtime', 'broadcast_changes',
                        array['text', 'text', 'text', 'text', 'text', 'record', 'record', 'text'], 'void',
                        'realtime.broadcast_changes has the platform signature');

-- send writes one private broadcast row whose payload carries an id
select realtime.send('{"text": "hello"}', 'greeting', 'room:platform-test');
select results_eq(
  $$ select extension, event, private, payload ->> 'text', (payload ->> 'id')::uuid = id
       from realtime.messages where topic = 'room:platform-test' $$,
  $$ values ('broadcast', 'greeting', true, 'hello', true) $$,
  'realtime.send writes a private broadcast row whose payload id is the row id');
select realtime.send('{"id": "keep-me"}', 'greeting', 'room:platform-keep', false);
select results_eq(
  $$ select private, payload ->> 'id' from realtime.messages where topic = 'room:platform-keep' $$,
  $$ values (false, 'keep-me') $$,
  'realtime.send keeps a payload id and honours private = false');

select realtime.send_binary('\x0102ff', 'bytes', 'room:platform-binary');
select results_eq(
  $$ select extension, event, private, payload, binary_payload from realtime.messages where topic = 'room:platform-binary' $$,
  $$ values ('broadcast', 'bytes', true, null::jsonb, '\x0102ff'::bytea) $$,
  'realtime.send_binary writes a private broadcast row with the bytes in binary_payload');

-- send never fails its caller: a denied insert becomes a warning and nothing is written
select tests.create_user('platform_tester');
select tests.authenticate_as('platform_tester');
select lives_ok($$ select realtime.send('{}', 'denied', 'room:platform-denied') $$,
                'realtime.send does not raise when RLS denies the insert');
select tests.clear_authentication();
select is((select count(*)::int from realtime.messages where topic = 'room:platform-denied'), 0,
          'the denied broadcast wrote nothing');

-- broadcast_changes from a row trigger
create table public.platform_probe (id int primary key, note text);
create function public.platform_probe_broadcast() returns trigger language plpgsql set search_path = '' as $$
begin
  perform realtime.broadcast_changes('probe:' || coalesce(new.id, old.id), tg_op, tg_op, tg_table_name,
                                     tg_table_schema, new, old);
  return null;
end $$;
create trigger platform_probe_broadcast after insert or update or delete on public.platform_probe
  for each row execute function public.platform_probe_broadcast();
insert into public.platform_probe values (1, 'first');
update public.platform_probe set note = 'second' where id = 1;
delete from public.platform_probe where id = 1;

select results_eq(
  $$ select event, private, payload ->> 'operation', payload ->> 'table', payload ->> 'schema',
            payload -> 'record' ->> 'note', payload -> 'old_record' ->> 'note'
       from realtime.messages where topic = 'probe:1'
      order by array_position(array['INSERT', 'UPDATE', 'DELETE'], event) $$,
  $$ values ('INSERT', true, 'INSERT', 'platform_probe', 'public', 'first', null::text),
            ('UPDATE', true, 'UPDATE', 'platform_probe', 'public', 'second', 'first'),
            ('DELETE', true, 'DELETE', 'platform_probe', 'public', null, 'second') $$,
  'broadcast_changes sends {record, old_record, operation, table, schema} privately');
select ok((select bool_and(payload ? 'record' and payload ? 'old_record' and payload ? 'id')
             from realtime.messages where topic = 'probe:1'),
          'every broadcast_changes payload has record, old_record and id keys');
select is((select payload -> 'record' from realtime.messages where topic = 'probe:1' and event = 'DELETE'), 'null'::jsonb,
          'a DELETE carries a null record');
select throws_ok(
  $$ select realtime.broadcast_changes('t', 'e', 'INSERT', 'x', 'public', null::record, null::record, 'STATEMENT') $$,
  'P0001', 'Failed to process the row: function can only be triggered for each row, not for each statement',
  'broadcast_changes refuses statement-level triggers');
select throws_ok(
  $$ select realtime.broadcast_changes('t', 'e', 'TRUNCATE', 'x', 'public', null::record, null::record) $$,
  'P0001', 'Failed to process the row: Unexpected operation type: TRUNCATE',
  'broadcast_changes rejects an unknown operation, in the platform''s words');

-- the publication, as the Realtime server creates it
select is((select pg_get_userbyid(pubowner)::text from pg_publication where pubname = 'supabase_realtime_messages_publication'),
          'supabase_admin', 'supabase_admin owns supabase_realtime_messages_publication');
select is((select pubviaroot from pg_publication where pubname = 'supabase_realtime_messages_publication'), false,
          'the publication does not publish via the partition root');
select set_eq(
  $$ select tablename::text from pg_publication_tables
      where pubname = 'supabase_realtime_messages_publication' and schemaname = 'realtime' $$,
  $$ select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'realtime.messages'::regclass $$,
  'the publication lists the daily partitions of realtime.messages (so rows arrive named by their partition)');

-- policies: postgres manages those of realtime.messages (supautils allows it on the
-- platform), but owns neither the table nor its partitions
set local role postgres;
select lives_ok($$ create policy platform_test_policy on realtime.messages for select to authenticated using (false) $$,
                'postgres may create a policy on realtime.messages');
select lives_ok($$ alter policy platform_test_policy on realtime.messages using (true) $$,
                'postgres may alter a policy on realtime.messages');
select lives_ok($$ drop policy platform_test_policy on realtime.messages $$,
                'postgres may drop a policy on realtime.messages');
select is_empty(
  $$ select rolname from pg_roles where rolname like 'supabase%admin' and pg_has_role('postgres', oid, 'member') $$,
  'managing those policies left postgres a member of no supabase_*_admin role');
select throws_ok(
  format('create policy platform_test_policy on realtime.%I using (true)',
         'messages_' || to_char((now() at time zone 'utc')::date, 'YYYY_MM_DD')),
  '42501', format('must be owner of table %s', 'messages_' || to_char((now() at time zone 'utc')::date, 'YYYY_MM_DD')),
  'postgres may not create a policy on a partition');
select throws_ok(
  format('drop table realtime.%I', 'messages_' || to_char((now() at time zone 'utc')::date, 'YYYY_MM_DD')),
  '42501', null, 'postgres may not drop a partition (only the platform''s Realtime server does)');
select throws_ok('alter table realtime.messages disable row level security', '42501', null,
                 'postgres may not alter realtime.messages');
reset role;

-- a missing partition loses the event silently, as on the platform. Only the partitions'
-- owner can take today's away, so this needs the tests' superuser helper.
select realtime.send('{}', 'before', 'room:partition-test');
select to_regprocedure('tests.drop_todays_realtime_partition()') is not null as superuser_helpers \gset
\if :superuser_helpers
select tests.drop_todays_realtime_partition();
select lives_ok($$ select realtime.send('{}', 'lost', 'room:partition-test') $$,
                'realtime.send does not raise when today''s partition is missing');
select is((select count(*)::int from realtime.messages where topic = 'room:partition-test'), 0,
          'without today''s partition the event is lost');
\else
select skip('dropping a partition needs the superuser, which a Supabase project does not give: '
            'the lost-partition tests run on the emulator only', 2);
\endif

select * from finish();
rollback;
