-- Who may call the RPC API, and what the others get: every chat RPC acts for a
-- signed-in user, so a service_role call (no user in its JWT) is a clean 401
-- not_authenticated; the operators' RPCs are the service role's, so a user gets a clean
-- 403 not_allowed; anon is refused before any function body runs. No answer names an
-- internal (private) helper.
begin;
select plan(5);

create function pg_temp.operator_rpcs() returns text[] language sql immutable as $$
  select array['add_team_member', 'remove_team_member', 'list_team_members', 'set_external_channel',
               'set_external_sender_url', 'get_external_settings']
$$;

-- Calls every function of the public schema with null arguments as `role` and returns
-- {function: error} for each (the API error's status and code, or the SQLSTATE and message).
create function pg_temp.errors_of_every_rpc(role text, claims jsonb)
returns table (function_name text, error jsonb)
language plpgsql
as $$
declare
  rpc record;
begin
  for rpc in
    select p.proname, p.pronargs from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' order by p.proname
  loop
    perform set_config('role', role, true);
    perform set_config('request.jwt.claims', claims::text, true);
    function_name := rpc.proname;
    error := tests.error_of(format('select public.%I(%s)', rpc.proname,
                                   (select coalesce(string_agg('null', ', '), '') from generate_series(1, rpc.pronargs))));
    perform set_config('role', 'postgres', true);
    return next;
  end loop;
end
$$;

select is((select count(*)::int from pg_temp.errors_of_every_rpc('service_role', '{"role": "service_role"}')), 30,
          'There are 30 RPCs (24 chat RPCs, 6 for operators).');
select is_empty(
  $$ select function_name, error from pg_temp.errors_of_every_rpc('service_role', '{"role": "service_role"}')
      where function_name <> all (pg_temp.operator_rpcs())
        and error is distinct from jsonb_build_object('status', 401, 'code', 'not_authenticated',
                                                      'message', 'Sign in to use the chat API.', 'details', null,
                                                      'hint', null, 'headers', '{}'::jsonb) $$,
  'Every chat RPC called with the service_role key answers 401 not_authenticated.');
select is_empty(
  $$ select function_name, error from pg_temp.errors_of_every_rpc(
              'authenticated', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-000000000001"}')
      where function_name = any (pg_temp.operator_rpcs())
        and error is distinct from jsonb_build_object('status', 403, 'code', 'not_allowed',
                                                      'message', 'Only the service role may manage external channels.',
                                                      'details', null,
                                                      'hint', 'Call this with the service_role key, from a server.',
                                                      'headers', '{}'::jsonb) $$,
  'Every operator RPC called with a user''s token answers 403 not_allowed.');
select is_empty(
  $$ select function_name, error from pg_temp.errors_of_every_rpc('anon', '{"role": "anon"}')
      where error is distinct from jsonb_build_object('sqlstate', '42501',
                                                      'message', format('permission denied for function %s', function_name)) $$,
  'Anon may call no RPC: each refuses with permission denied for that public function.');
select is_empty(
  $$ select function_name, error from pg_temp.errors_of_every_rpc('service_role', '{"role": "service_role"}')
      where error::text ~ 'private|require_|raise_error'
     union all
     select function_name, error from pg_temp.errors_of_every_rpc('anon', '{"role": "anon"}')
      where error::text ~ 'private|require_|raise_error' $$,
  'No answer names an internal helper.');

select * from finish();
rollback;
