-- The platform stand-in's roles, database and extensions match Supabase's.
begin;
select plan(22);

select isnt_superuser('postgres', 'postgres is not a superuser, as on the platform');
select ok(rolcanlogin and rolcreaterole and rolcreatedb and rolreplication and rolbypassrls,
          'postgres can log in, create roles and databases, replicate and bypass RLS')
  from pg_roles where rolname = 'postgres';
select ok(not rolcanlogin, 'anon cannot log in') from pg_roles where rolname = 'anon';
select ok(not rolcanlogin, 'authenticated cannot log in') from pg_roles where rolname = 'authenticated';
select ok(not rolcanlogin and rolbypassrls, 'service_role cannot log in and bypasses RLS')
  from pg_roles where rolname = 'service_role';
select ok(not rolbypassrls, 'authenticated does not bypass RLS') from pg_roles where rolname = 'authenticated';
select ok(not rolbypassrls, 'anon does not bypass RLS') from pg_roles where rolname = 'anon';
select ok(rolcanlogin and not rolinherit, 'authenticator logs in and does not inherit')
  from pg_roles where rolname = 'authenticator';
select ok(rolreplication, 'supabase_realtime_admin may replicate') from pg_roles where rolname = 'supabase_realtime_admin';
select ok(not rolsuper, 'supabase_auth_admin is not a superuser') from pg_roles where rolname = 'supabase_auth_admin';

select is_member_of('anon', array['authenticator', 'postgres'], 'authenticator and postgres may act as anon');
select is_member_of('authenticated', array['authenticator', 'postgres'], 'authenticator and postgres may act as authenticated');
select is_member_of('service_role', array['authenticator', 'postgres'], 'authenticator and postgres may act as service_role');

select ok('statement_timeout=3s' = any(s.setconfig), 'anon statements time out after 3 s')
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = 'anon';
select ok('statement_timeout=8s' = any(s.setconfig), 'authenticated statements time out after 8 s')
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = 'authenticated';

select is((select pg_get_userbyid(datdba)::text from pg_database where datname = current_database()), 'postgres',
          'postgres owns the database');
select has_schema('extensions', 'the extensions schema exists');
select is((select extnamespace::regnamespace::text from pg_extension where extname = 'pgcrypto'), 'extensions',
          'pgcrypto is installed in the extensions schema');
select ok(has_schema_privilege('authenticated', 'extensions', 'usage'), 'authenticated may use the extensions schema');
select ok(has_schema_privilege('anon', 'public', 'usage'), 'anon may use the public schema');

-- A migration running as postgres cannot do what needs a superuser.
set local role postgres;
select throws_ok($$copy (select 1) to program 'cat'$$, '42501', null, 'postgres cannot run server programs');
select throws_ok('alter role postgres superuser', '42501', null, 'postgres cannot make itself a superuser');

select * from finish();
rollback;
