-- Platform stand-in for pg_net: net.http_get and net.http_post queue a request and
-- return its id at once; after commit the emulator's worker sends it and stores the
-- answer in net._http_response (kept 6 hours), as pg_net's background worker does.

create schema net;

create table net.http_request_queue (
  id bigserial,
  method text not null check (method in ('GET', 'POST', 'DELETE')),
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);

create table net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index on net._http_response (created);

-- The URL with `params` appended as its query string.
create function net._url_with_params(url text, params jsonb) returns text
language sql immutable as $$
  select url || coalesce(
    (case when url like '%?%' then '&' else '?' end)
      || string_agg(replace(replace(replace(p.key, '%', '%25'), '&', '%26'), '=', '%3D') || '='
                    || replace(replace(replace(replace(p.value, '%', '%25'), '&', '%26'), '=', '%3D'), ' ', '%20'), '&'),
    '')
    from jsonb_each_text(coalesce(params, '{}')) p
$$;

-- Security definer, like pg_net's own functions: any role that may call http_post may queue.
create function net._enqueue(method text, url text, headers jsonb, body bytea, timeout_milliseconds integer)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values (method, url, coalesce(headers, '{}'), body, timeout_milliseconds)
  returning id into request_id;
  perform pg_catalog.pg_notify('pg_net_request', '');
  return request_id;
end
$$;

create function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql as $$
  select net._enqueue('GET', net._url_with_params(url, params), headers, null, timeout_milliseconds)
$$;

create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql as $$
begin
  if body is null then
    raise exception 'body must not be null';
  end if;
  if not exists (select from jsonb_object_keys(coalesce(headers, '{}')) k where lower(k) = 'content-type') then
    headers := coalesce(headers, '{}') || '{"Content-Type": "application/json"}';
  end if;
  return net._enqueue('POST', net._url_with_params(url, params), headers, convert_to(body::text, 'UTF8'),
                      timeout_milliseconds);
end
$$;

grant usage on schema net to postgres, anon, authenticated, service_role;
grant all on all tables in schema net to postgres;
grant all on all sequences in schema net to postgres;
revoke all on all functions in schema net from public;
grant execute on function net.http_get(text, jsonb, jsonb, integer) to postgres, anon, authenticated, service_role;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, integer)
  to postgres, anon, authenticated, service_role;
grant execute on function net._url_with_params(text, jsonb) to postgres, anon, authenticated, service_role;
grant execute on function net._enqueue(text, text, jsonb, bytea, integer) to postgres, anon, authenticated, service_role;
