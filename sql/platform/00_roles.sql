-- Platform stand-in: the database roles of a Supabase project.
--
-- Applied once, as the cluster's superuser (supabase_admin, as on the platform), to a
-- plain PostgreSQL. Roles are cluster-wide, so each one is created only if missing,
-- with the attributes a current hosted project gives it. Local passwords are
-- 'postgres' (the emulator listens on loopback only).

do $$
declare
  role record;
begin
  for role in
    select * from (values
      -- The API roles: PostgREST and Realtime switch to them (set role) per request.
      ('anon', 'nologin inherit'),
      ('authenticated', 'nologin inherit'),
      ('service_role', 'nologin inherit bypassrls'),
      ('authenticator', 'login noinherit password ''postgres'''),
      -- The dashboard and migration role: not a superuser.
      ('postgres', 'login createrole createdb replication bypassrls password ''postgres'''),
      -- Supabase Auth connects as supabase_auth_admin, which owns the objects in auth.
      ('supabase_auth_admin', 'login noinherit createrole noreplication password ''postgres'''),
      -- Owns realtime.messages and its partitions; nobody logs in as it (the Realtime
      -- server connects as supabase_admin).
      ('supabase_realtime_admin', 'nologin noinherit noreplication'),
      ('dashboard_user', 'nologin createdb createrole replication')
    ) as wanted (name, attributes)
  loop
    if not exists (select from pg_roles r where r.rolname = role.name) then
      execute format('create role %I %s', role.name, role.attributes);
    end if;
  end loop;
end
$$;

alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- PostgREST logs in as authenticator and switches to the role named by the JWT.
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
grant anon, authenticated, service_role to authenticator;

-- postgres may act as the API roles (set role, pgTAP tests). On current projects it is a
-- member of no supabase_*_admin role.
grant anon, authenticated, service_role, pg_monitor, pg_read_all_data, pg_signal_backend to postgres;
-- As on the platform, extensions are on the default search path.
alter role postgres set search_path = "$user", public, extensions;

-- supabase_realtime_admin is NOINHERIT: these memberships pass no privileges on.
grant anon, authenticated, service_role to supabase_realtime_admin;
