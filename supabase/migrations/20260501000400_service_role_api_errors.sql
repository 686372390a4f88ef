-- The chat RPCs act for a signed-in user. Called with the service_role key (no user
-- in the JWT) they now answer 401 not_authenticated, like any call without a user,
-- instead of "permission denied" for an internal helper the public function calls:
-- service_role may use the private schema and execute the private functions that the
-- RPCs call as their caller (exactly those granted to authenticated), nothing more.
-- Private tables stay closed to it: it has no privilege on them.

grant usage on schema private to service_role;

do $$
declare
  helper regprocedure;
begin
  for helper in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'private'
       and pg_catalog.has_function_privilege('authenticated', p.oid, 'execute')
  loop
    execute format('grant execute on function %s to service_role', helper);
  end loop;
end
$$;
