-- Platform stand-in for supautils' policy_grants (emulator only; hosted projects have
-- the real thing): postgres may create, alter and drop policies on the tables below
-- although it does not own them. On the platform, supautils runs such a command as the
-- superuser. A plain PostgreSQL has no hook for that, so event triggers lend postgres
-- the owning roles for the one command (granted at its start, revoked at its end, and
-- rolled back with it if it fails), and refuse the command, with the error PostgreSQL
-- gives a non-owner, if it touched a table outside the list. The schema
-- supabase_emulator holds them; nobody but the superuser may use it.

create schema supabase_emulator;
revoke all on schema supabase_emulator from public;

-- supautils.policy_grants for postgres, as the platform configures it (those that exist here).
create function supabase_emulator.policy_grant_tables()
returns regclass[]
language sql stable
set search_path = ''
as $$
  select coalesce(array_agg(to_regclass(name)) filter (where to_regclass(name) is not null), '{}')
    from unnest(array['auth.audit_log_entries', 'auth.identities', 'auth.refresh_tokens', 'auth.sessions',
                      'auth.users', 'realtime.messages']) as granted (name)
$$;

-- The role the DDL command runs as. (Inside the security definer function below,
-- current_user is its owner; the role setting still names what SET ROLE chose.)
create function supabase_emulator.command_role()
returns text
language sql stable
set search_path = ''
as $$
  select case when current_setting('role') = 'none' then session_user::text else current_setting('role') end
$$;

-- The roles lent for the command in progress.
create function supabase_emulator.lent_roles()
returns text[]
language sql stable
set search_path = ''
as $$
  select coalesce(string_to_array(nullif(current_setting('supabase_emulator.lent_roles', true), ''), ','), '{}')
$$;

-- Raises PostgreSQL's non-owner error unless postgres may manage the policies of `tab`: a
-- granted table, or one it owns without the lent roles.
create function supabase_emulator.refuse_unless_granted(tab regclass)
returns void
language plpgsql
set search_path = ''
as $$
declare
  owner_name text;
  table_name text;
begin
  select pg_get_userbyid(c.relowner)::text, c.relname::text into owner_name, table_name
    from pg_catalog.pg_class c where c.oid = tab;
  if tab = any (supabase_emulator.policy_grant_tables())
     or (owner_name <> all (supabase_emulator.lent_roles()) and pg_has_role('postgres', owner_name, 'member')) then
    return;
  end if;
  raise exception 'must be owner of table %', table_name using errcode = 'insufficient_privilege';
end
$$;

-- One policy command by postgres, at each of its events:
--   start: lend postgres the owners of the granted tables that it is not a member of,
--          and remember which until the end of the transaction;
--   drop:  a dropped policy must have been on a table postgres may manage;
--   end:   so must every policy created or altered; then take the lent roles back.
-- A refusal fails the command, which rolls the lending back with it.
create function supabase_emulator.policy_grants()
returns event_trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  lent text[];
  owner_name text;
  tab regclass;
begin
  if supabase_emulator.command_role() <> 'postgres' then
    return;
  end if;
  if tg_event = 'ddl_command_start' then
    select coalesce(array_agg(distinct pg_get_userbyid(c.relowner)::text), '{}') into lent
      from pg_catalog.pg_class c
     where c.oid = any (supabase_emulator.policy_grant_tables())
       and not pg_has_role('postgres', c.relowner, 'member');
    foreach owner_name in array lent loop
      execute format('grant %I to postgres', owner_name);
    end loop;
    perform set_config('supabase_emulator.lent_roles', array_to_string(lent, ','), true);
  elsif tg_event = 'sql_drop' then
    for tab in
      select format('%I.%I', d.address_names[1], d.address_names[2])::regclass
        from pg_event_trigger_dropped_objects() d
       where d.object_type = 'policy'
    loop
      perform supabase_emulator.refuse_unless_granted(tab);
    end loop;
  else
    for tab in
      select p.polrelid::regclass
        from pg_event_trigger_ddl_commands() c
        join pg_catalog.pg_policy p on p.oid = c.objid
       where c.classid = 'pg_catalog.pg_policy'::regclass
    loop
      perform supabase_emulator.refuse_unless_granted(tab);
    end loop;
    foreach owner_name in array supabase_emulator.lent_roles() loop
      execute format('revoke %I from postgres', owner_name);
    end loop;
    perform set_config('supabase_emulator.lent_roles', '', true);
  end if;
end
$$;

revoke all on all functions in schema supabase_emulator from public;

create event trigger supabase_emulator_policy_grants_start on ddl_command_start
  when tag in ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY')
  execute function supabase_emulator.policy_grants();
create event trigger supabase_emulator_policy_grants_drop on sql_drop
  when tag in ('DROP POLICY')
  execute function supabase_emulator.policy_grants();
create event trigger supabase_emulator_policy_grants_end on ddl_command_end
  when tag in ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY')
  execute function supabase_emulator.policy_grants();
