-- Profiles reveal nothing of a user's email: a new user's display name is the one
-- they chose (user_metadata display_name, name or full_name), else "User" and the
-- start of their id — never the email's local part, which every signed-in user
-- could read with search_profiles. Finding a person by email takes the exact
-- address. Names that an earlier sign-up derived from the email are replaced.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

-- The display name a new user starts with.
-- Args: user_id, user_metadata (auth.users.raw_user_meta_data).
-- Returns user_metadata.display_name, else .name, else .full_name, else 'User <first 6 hex digits of the id>'
-- (1..64 characters).
create function private.initial_display_name(user_id uuid, user_metadata jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select left(coalesce(
    nullif(btrim(user_metadata ->> 'display_name'), ''),
    nullif(btrim(user_metadata ->> 'name'), ''),
    nullif(btrim(user_metadata ->> 'full_name'), ''),
    'User ' || left(user_id::text, 6)
  ), 64)
$$;

-- Trigger (auth.users, after insert): creates the user's profile.
-- Security definer: the sign-up runs as supabase_auth_admin, which may not write public.profiles.
create or replace function private.create_profile_for_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, display_name)
  values (new.id, private.initial_display_name(new.id, new.raw_user_meta_data))
  on conflict (id) do nothing;
  return null;
end
$$;

-- The user whose email is exactly `email` (case-insensitive, as Auth stores it lowercased), or null.
-- Security definer: auth.users is not readable by API roles.
create function private.user_id_by_email(email text)
returns uuid
language sql
stable
security definer
set search_path = ''
as $$
  select u.id from auth.users u where u.email = lower(btrim(user_id_by_email.email)) limit 1
$$;

-- Finds people to message: by display name (case-insensitive substring; exact and
-- prefix matches first), or, when the query contains '@', by their exact email
-- address only (so that emails cannot be guessed piece by piece). The caller is left out.
-- Args: query (1..100 characters; an email up to 254), max_rows (1..50, default 20). Returns profiles rows.
-- Errors: 400 invalid_query / invalid_argument, 429 rate_limited (search).
create or replace function public.search_profiles(query text, max_rows integer default 20)
returns setof public.profiles
language plpgsql
set search_path = ''
as $$
declare
  caller_id uuid := private.require_user();
  needle text := btrim(search_profiles.query);
  is_email boolean := strpos(btrim(search_profiles.query), '@') > 0;
  longest integer := 100;
  escaped text;
begin
  if is_email then
    longest := 254;
  end if;
  if needle is null or char_length(needle) not between 1 and longest then
    perform private.raise_error(400, 'invalid_query', format('query must have 1 to %s characters.', longest));
  end if;
  perform private.check_max_rows(search_profiles.max_rows, 50);
  perform private.take_token('search');
  if is_email then
    return query
      select p.* from public.profiles p
       where p.id = private.user_id_by_email(needle) and p.id <> caller_id;
    return;
  end if;
  escaped := replace(replace(replace(needle, '\', '\\'), '%', '\%'), '_', '\_');
  return query
    select p.* from public.profiles p
     where p.display_name ilike '%' || escaped || '%'
       and p.id <> caller_id
     order by lower(p.display_name) = lower(needle) desc,
              p.display_name ilike escaped || '%' desc,
              p.display_name, p.id
     limit search_profiles.max_rows;
end
$$;

-- ---------------------------------------------------------------------------
-- data
-- ---------------------------------------------------------------------------

-- Users whose name was derived from their email (and who chose none) get the new default.
update public.profiles p
   set display_name = private.initial_display_name(u.id, u.raw_user_meta_data)
  from auth.users u
 where u.id = p.id
   and u.email is not null
   and p.display_name = left(btrim(split_part(u.email, '@', 1)), 64)
   and nullif(btrim(u.raw_user_meta_data ->> 'display_name'), '') is null;

drop function private.initial_display_name(text, jsonb);

comment on column public.profiles.display_name is
  'Name shown to others, 1..64 characters. At sign-up: user_metadata display_name, name or full_name, '
  'else "User" and the first 6 hex digits of the id (never derived from the email).';

-- ---------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------

revoke all on function private.initial_display_name(uuid, jsonb) from public, anon, authenticated;
revoke all on function private.user_id_by_email(text) from public, anon;
grant execute on function private.user_id_by_email(text) to authenticated;
