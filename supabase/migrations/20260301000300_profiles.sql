-- Profiles: one per auth.users row, created by a trigger at sign-up. Every
-- signed-in user may read them (to find people and show names); only the
-- owner may change their display name and avatar.

create extension if not exists pg_trgm with schema extensions;

-- ---------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text not null
    constraint profiles_display_name_length check (char_length(display_name) between 1 and 64),
  avatar_url text
    constraint profiles_avatar_url_format check (
      avatar_url is null or (char_length(avatar_url) <= 2048 and avatar_url ~ '^https?://[^[:space:]]+$')
    ),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is
  'Public face of a user: one row per auth.users row, created at sign-up. Readable by every signed-in user, '
  'editable only by its owner (update_profile).';
comment on column public.profiles.id is 'The auth.users id.';
comment on column public.profiles.display_name is
  'Name shown to others, 1..64 characters. At sign-up: user_metadata.display_name, else the email''s local part, else "Guest".';
comment on column public.profiles.avatar_url is 'An http(s) URL of the avatar image, or null.';

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------

-- search_profiles: case-insensitive substring match on the display name.
create index profiles_display_name_trgm_idx on public.profiles
  using gin (display_name extensions.gin_trgm_ops);

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- The display name a new user starts with.
-- Args: email, user_metadata (auth.users.raw_user_meta_data).
-- Returns user_metadata.display_name, else the email's local part, else 'Guest' (1..64 chars).
create function private.initial_display_name(email text, user_metadata jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select left(coalesce(
    nullif(btrim(user_metadata ->> 'display_name'), ''),
    nullif(btrim(split_part(email, '@', 1)), ''),
    'Guest'
  ), 64)
$$;

-- Trigger (auth.users, after insert): creates the user's profile.
-- Security definer: the sign-up runs as supabase_auth_admin, which may not write public.profiles.
create function private.create_profile_for_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, display_name)
  values (new.id, private.initial_display_name(new.email, new.raw_user_meta_data))
  on conflict (id) do nothing;
  return null;
end
$$;

-- Trigger (profiles, before update): keeps updated_at, validates the new values
-- with API errors, and rate-limits changes a client makes.
-- Raises 400 invalid_display_name / invalid_avatar_url, 429 rate_limited.
create function private.profiles_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.display_name := btrim(new.display_name);
  new.avatar_url := nullif(btrim(new.avatar_url), '');
  if new.display_name is null or char_length(new.display_name) not between 1 and 64 then
    perform private.raise_error(400, 'invalid_display_name', 'The display name must have 1 to 64 characters.');
  end if;
  if new.avatar_url is not null
     and (char_length(new.avatar_url) > 2048 or new.avatar_url !~ '^https?://[^[:space:]]+$') then
    perform private.raise_error(400, 'invalid_avatar_url', 'The avatar URL must be an http(s) URL of at most 2048 characters.');
  end if;
  if (new.display_name, new.avatar_url) is not distinct from (old.display_name, old.avatar_url) then
    return new;
  end if;
  if pg_trigger_depth() = 1 then
    perform private.take_token('profile');
  end if;
  new.updated_at := now();
  return new;
end
$$;

-- ---------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------

create trigger create_profile_after_insert
  after insert on auth.users
  for each row execute function private.create_profile_for_user();

create trigger profiles_before_update
  before update on public.profiles
  for each row execute function private.profiles_before_update();

-- Users who signed up before this migration get their profile now.
insert into public.profiles (id, display_name)
select u.id, private.initial_display_name(u.email, u.raw_user_meta_data)
  from auth.users u
on conflict (id) do nothing;

-- ---------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------

alter table public.profiles enable row level security;

create policy profiles_select_authenticated on public.profiles
  for select to authenticated
  using (true);

create policy profiles_update_owner on public.profiles
  for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on public.profiles from anon, authenticated;
grant select on public.profiles to authenticated;
grant update (display_name, avatar_url) on public.profiles to authenticated;

revoke all on function private.initial_display_name(text, jsonb) from public, anon, authenticated;
revoke all on function private.create_profile_for_user() from public, anon, authenticated;
revoke all on function private.profiles_before_update() from public, anon, authenticated;
