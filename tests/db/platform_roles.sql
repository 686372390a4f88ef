-- The platform stand-in's roles, database and extensions match a current hosted Supabase project's.
begin;
select plan(31);

select isnt_superuser('postgres', 'postgres is not a superuser, as on the platform');
select ok(rolcanlogin and rolcreaterole and rolcreatedb and rolreplication and rolbypassrls,
          'postgres can log in, create roles and databases, replicate and bypass RLS')
  from pg_roles where rolname = 'postgres';
select ok(not rolcanlogin and rolinherit, 'anon cannot log in and inherits') from pg_roles where rolname = 'anon';
select ok(not rolcanlogin and rolinherit, 'authenticated cannot log in and inherits')
  from pg_roles where rolname = 'authenticated';
select ok(not rolcanlogin and rolinherit and rolbypassrls, 'service_role cannot log in, inherits and bypasses RLS')
  from pg_roles where rolname = 'service_role';
select ok(not rolbypassrls, 'authenticated does not bypass RLS') from pg_roles where rolname = 'authenticated';
select ok(not rolbypassrls, 'anon does not bypass RLS') from pg_roles where rolname = 'anon';
select ok(rolcanlogin and not rolinherit, 'authenticator logs in and does not inherit')
  from pg_roles where rolname = 'authenticator';
select ok(not rolcanlogin and not rolreplication,
          'supabase_realtime_admin can neither log in nor replicate (the Realtime server connects as supabase_admin)')
  from pg_roles where rolname = 'supabase_realtime_admin';
select ok(rolcanlogin and not rolsuper, 'supabase_auth_admin logs in (Supabase Auth does) and is not a superuser')
  from pg_roles where rolname = 'supabase_auth_admin';
select has_role('dashboard_user', 'dashboard_user exists');
select ok(rolsuper, 'supabase_admin is the superuser') from pg_roles where rolname = 'supabase_admin';

select is_member_of('anon', array['authenticator', 'postgres'], 'authenticator and postgres may act as anon');
select is_member_of('authenticated', array['authenticator', 'postgres'], 'authenticator and postgres may act as authenticated');
select is_member_of('service_role', array['authenticator', 'postgres'], 'authenticator and postgres may act as service_role');
select is_member_of('pg_monitor', array['postgres'], 'postgres is a member of pg_monitor');
select is_member_of('pg_read_all_data', array['postgres'], 'postgres is a member of pg_read_all_data');
select is_member_of('pg_signal_backend', array['postgres'], 'postgres is a member of pg_signal_backend');
select is_empty(
  $$ select rolname from pg_roles where rolname like 'supabase%admin' and pg_has_role('postgres', oid, 'member') $$,
  'postgres is a member of no supabase_*_admin role, as on current projects');

select ok('statement_timeout=3s' = any(s.setconfig), 'anon statements time out after 3 s')
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = 'anon';
select ok('statement_timeout=8s' = any(s.setconfig), 'authenticated statements time out after 8 s')
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = 'authenticated';
select ok(array['statement_timeout=8s', 'lock_timeout=8s'] <@ s.setconfig,
          'authenticator statements and lock waits time out after 8 s')
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = 'authenticator';

select is((select pg_get_userbyid(datdba)::text from pg_database where datname = current_database()), 'postgres',
          'postgres owns the database');
select has_schema('extensions', 'the extensions schema exists');
select is((select extnamespace::regnamespace::text from pg_extension where extname = 'pgcrypto'), 'extensions',
          'pgcrypto is installed in the extensions schema');
select ok(has_schema_privilege('authenticated', 'extensions', 'usage'), 'authenticated may use the extensions schema');
select ok(has_schema_privilege('anon', 'public', 'usage'), 'anon may use the public schema');

-- A migration running as postgres cannot do what needs a superuser or another role's membership.
set local role postgres;
select throws_ok($$copy (select 1) to program 'cat'$$, '42501', null, 'postgres cannot run server programs');
select throws_ok('alter role postgres superuser', '42501', null, 'postgres cannot make itself a superuser');
select throws_ok('set role supabase_realtime_admin', '42501', null, 'postgres cannot act as supabase_realtime_admin');
select throws_ok('set role supabase_auth_admin', '42501', null, 'postgres cannot act as supabase_auth_admin');

select * from finish();
rollback;
