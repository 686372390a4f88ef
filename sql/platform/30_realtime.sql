-- Platform stand-in: the realtime schema (Broadcast from Database).
--
-- realtime.messages is partitioned by day; the emulator creates the partitions
-- (yesterday .. today+3, UTC) at start and daily, as the Realtime server does.
-- Inserted rows reach subscribers through logical replication, after commit.

create schema realtime authorization supabase_realtime_admin;
grant usage on schema realtime to postgres, anon, authenticated, service_role;

set role supabase_realtime_admin;

create table realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  id uuid not null default gen_random_uuid(),
  binary_payload bytea,
  constraint messages_payload_exclusivity check (payload is null or binary_payload is null),
  primary key (id, inserted_at)
) partition by range (inserted_at);

create index messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
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
  message_id uuid := gen_random_uuid();
begin
  begin
    if not payload ? 'id' then
      payload := payload || jsonb_build_object('id', message_id);
    end if;
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, topic, extension, payload, event, private)
    values (message_id, topic, 'broadcast', payload, event, private);
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

-- Broadcast a row change from a row trigger, always on a private channel, as
-- {old_record, record, operation, table, schema}.
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
    raise exception 'unexpected operation type: %', operation;
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
    topic_name,
    true
  );
end
$$;

reset role;

-- The Realtime server streams inserts of realtime.messages from this publication.
create publication supabase_realtime_messages_publication
  for table realtime.messages with (publish_via_partition_root = true);
alter publication supabase_realtime_messages_publication owner to supabase_realtime_admin;
-- Postgres Changes publication; empty until an application adds tables.
create publication supabase_realtime;
alter publication supabase_realtime owner to postgres;
