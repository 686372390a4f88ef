-- The auth schema stand-in: the users table apps rely on and the claim helpers.
begin;
select plan(24);

select schema_owner_is('auth', 'supabase_admin', 'supabase_admin owns the auth schema');
select table_owner_is('auth', 'users', 'supabase_auth_admin', 'supabase_auth_admin owns auth.users');
select function_owner_is('auth', 'uid', array[]::text[], 'supabase_auth_admin', 'supabase_auth_admin owns auth.uid()');
select ok(has_schema_privilege('postgres', 'auth', 'usage') and not has_schema_privilege('postgres', 'auth', 'create'),
          'postgres may use the auth schema but not create objects in it');
select ok(has_table_privilege('postgres', 'auth.users', 'select') and has_table_privilege('postgres', 'auth.users', 'trigger'),
          'postgres may read auth.users and hang triggers on it');
select col_type_is('auth', 'users', 'id', 'uuid', 'auth.users.id is a uuid');
select col_is_pk('auth', 'users', 'id', 'auth.users.id is the primary key');
select col_type_is('auth', 'users', 'email', 'character varying(255)', 'auth.users.email is varchar(255)');
select col_type_is('auth', 'users', 'raw_user_meta_data', 'jsonb', 'auth.users.raw_user_meta_data is jsonb');
select col_type_is('auth', 'users', 'raw_app_meta_data', 'jsonb', 'auth.users.raw_app_meta_data is jsonb');
select col_type_is('auth', 'users', 'is_anonymous', 'boolean', 'auth.users.is_anonymous is a boolean');
select col_type_is('auth', 'users', 'created_at', 'timestamp with time zone', 'auth.users.created_at is a timestamptz');

select function_returns('auth', 'uid', array[]::text[], 'uuid', 'auth.uid() returns uuid');
select function_returns('auth', 'role', array[]::text[], 'text', 'auth.role() returns text');
select function_returns('auth', 'email', array[]::text[], 'text', 'auth.email() returns text');
select function_returns('auth', 'jwt', array[]::text[], 'jsonb', 'auth.jwt() returns jsonb');
select volatility_is('auth', 'uid', array[]::text[], 'stable', 'auth.uid() is stable');
select isnt_definer('auth', 'uid', array[]::text[], 'auth.uid() runs as the caller');

select is(auth.uid(), null, 'auth.uid() is null without claims');

set local request.jwt.claims to
  '{"sub": "8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e", "role": "authenticated", "email": "ann@example.test"}';
select is(auth.uid(), '8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e'::uuid, 'auth.uid() reads sub from request.jwt.claims');
select is(auth.role(), 'authenticated', 'auth.role() reads role from request.jwt.claims');
select is(auth.email(), 'ann@example.test', 'auth.email() reads email from request.jwt.claims');
select is(auth.jwt() ->> 'role', 'authenticated', 'auth.jwt() returns the whole claims object');

set local request.jwt.claim.sub to 'f6b1b1a4-3c11-4cf5-8e71-3c1f7f3c0c11';
select is(auth.uid(), 'f6b1b1a4-3c11-4cf5-8e71-3c1f7f3c0c11'::uuid,
          'auth.uid() prefers request.jwt.claim.sub when set');

select * from finish();
rollback;
