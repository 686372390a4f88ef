-- Test helpers that need the superuser, loaded after helpers.sql only where the tests
-- have one (the emulator's own cluster, or SUPABASE_DB_ADMIN_URL). In a Supabase
-- project they do not exist, and the tests that need them say they are skipped.

-- Drops today's (UTC) partition of realtime.messages, as if the platform's Realtime
-- server had not created it: inserts for now() then fail, so events are lost. Only the
-- partitions' owner may do that, never postgres, hence security definer.
create or replace function tests.drop_todays_realtime_partition()
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  execute format('drop table realtime.%I', 'messages_' || to_char((now() at time zone 'utc')::date, 'YYYY_MM_DD'));
end
$$;
revoke all on function tests.drop_todays_realtime_partition() from public;
grant execute on function tests.drop_todays_realtime_partition() to postgres;
