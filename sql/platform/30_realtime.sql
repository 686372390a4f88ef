-- Platform stand-in: the realtime schema (Broadcast from Database), shaped as the
-- Realtime server's migrations leave it: the schema belongs to supabase_admin, the
-- table and functions to supabase_realtime_admin.
--
-- realtime.messages is partitioned by day; the emulator creates the partitions
-- (yesterday .. today+3, UTC) at start and daily, as the Realtime server does.
-- Inserted rows reach subscribers through logical replication, after commit.

create schema realtime authorization supabase_admin;
grant usage on schema realtime to anon, authenticated, service_role;
grant all on schema realtime to supabase_realtime_admin with grant option;
-- postgres may use the schema (and pass that on) but not create objects in it.
grant usage on schema realtime to postgres with grant option;

-- What supabase_admin creates in realtime is open to the dashboard roles.
alter default privileges for role supabase_admin in schema realtime grant all on tables to postgres, dashboard_user;
alter default privileges for role supabase_admin in schema realtime grant all on sequences to postgres, dashboard_user;
alter default privileges for role supabase_admin in schema realtime grant all on functions to postgres, dashboard_user;

create table realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  id uuid not null default gen_random_uuid(),
  binary_payload bytea
) partition by range (inserted_at);

alter table realtime.messages
  add constraint messages_payload_exclusive check (payload is null or binary_payload is null) not valid;
alter table realtime.messages add constraint messages_pkey primary key (id, inserted_at);
create index messages_inserted_at_topic_index on only realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

-- The topic of the channel being authorized (set by Realtime while it checks policies).
create function realtime.topic() returns text
language sql stable
as $$
  select nullif(current_setting('realtime.topic', true), '')::text
$$;

-- Broadcast a message to a topic from SQL. Runs as the caller (RLS applies);
-- never fails the caller's transaction: errors become a warning.
create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
  message_id uuid;
begin
  begin
    message_id := gen_random_uuid();
    if not payload ? 'id' then
      payload := jsonb_set(payload, '{id}', to_jsonb(message_id));
    end if;
    execute format('set local realtime.topic to %L', topic);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (message_id, payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

-- The same with a binary payload (stored in binary_payload, sent as raw bytes).
create function realtime.send_binary(payload bytea, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
begin
  begin
    execute format('set local realtime.topic to %L', topic);
    insert into realtime.messages (id, binary_payload, event, topic, private, extension)
    values (gen_random_uuid(), payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

-- Broadcast a row change from a row trigger, always on a private channel, as
-- {old_record, record, operation, table, schema}. Any failure is raised as
-- "Failed to process the row: …".
create function realtime.broadcast_changes(
  topic_name text,
  event_name text,
  operation text,
  table_name text,
  table_schema text,
  new record,
  old record,
  level text default 'ROW'
)
returns void
language plpgsql
as $$
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation not in ('INSERT', 'UPDATE', 'DELETE') then
    raise exception 'Unexpected operation type: %', operation;
  end if;
  perform realtime.send(
    jsonb_build_object(
      'old_record', old,
      'record', new,
      'operation', operation,
      'table', table_name,
      'schema', table_schema
    ),
    event_name,
    topic_name
  );
exception when others then
  raise exception 'Failed to process the row: %', sqlerrm;
end
$$;

alter table realtime.messages owner to supabase_realtime_admin;
alter function realtime.topic() owner to supabase_realtime_admin;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;
alter function realtime.send_binary(bytea, text, text, boolean) owner to supabase_realtime_admin;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  owner to supabase_realtime_admin;
grant all on realtime.messages to postgres, dashboard_user;

-- The Realtime server streams inserts of realtime.messages from this publication. It
-- publishes the partitions as themselves (no publish_via_partition_root), so each row
-- arrives named by its daily partition.
create publication supabase_realtime_messages_publication for table realtime.messages;
-- Postgres Changes publication; empty until an application adds tables.
create publication supabase_realtime;
alter publication supabase_realtime owner to postgres;
