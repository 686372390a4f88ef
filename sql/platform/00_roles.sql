-- Platform stand-in: the database roles of a Supabase project.
--
-- Applied once, as the cluster's superuser, to a plain PostgreSQL. Roles are
-- cluster-wide, so each one is created only if missing. Local passwords are
-- 'postgres' (the emulator listens on loopback only).

do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres login createrole createdb replication bypassrls password 'postgres';
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit createrole password 'postgres';
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin login noinherit replication password 'postgres';
  end if;
end
$$;

alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- PostgREST logs in as authenticator and switches to the role named by the JWT.
grant anon, authenticated, service_role to authenticator;
-- The dashboard/migration role can act as the API roles (set role, pgTAP tests).
grant anon, authenticated, service_role to postgres;
-- Realtime evaluates channel authorization as the API roles.
grant anon, authenticated, service_role to supabase_realtime_admin;
-- Lets postgres manage policies on realtime.messages, as on the platform.
grant supabase_realtime_admin to postgres;

-- As on the platform, extensions are on the default search path.
alter role postgres set search_path = "$user", public, extensions;
