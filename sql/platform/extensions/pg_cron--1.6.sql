-- Platform stand-in for pg_cron 1.6: cron.job, cron.job_run_details, cron.schedule,
-- cron.unschedule and cron.alter_job as pg_cron has them. Jobs run as the user who
-- scheduled them, in this database, when the emulator's scheduler finds them due.
-- Schedules: '<1-59> seconds', five cron fields (minute hour day month weekday, with
-- *, lists, ranges and steps; in UTC) or @hourly, @daily, @weekly, @monthly, @yearly.

create schema cron;

create table cron.job (
  jobid bigserial primary key,
  schedule text not null,
  command text not null,
  nodename text not null default 'localhost',
  nodeport integer not null default inet_server_port(),
  database text not null default current_database(),
  username text not null default current_user,
  active boolean not null default true,
  jobname text,
  constraint jobname_username_uniq unique (jobname, username)
);

create table cron.job_run_details (
  jobid bigint,
  runid bigserial primary key,
  job_pid integer,
  database text,
  username text,
  command text,
  status text,
  return_message text,
  start_time timestamptz,
  end_time timestamptz
);

-- The schedule as pg_cron accepts it, or an error like pg_cron's.
create function cron._check_schedule(schedule text) returns text
language plpgsql immutable as $$
declare
  field text := '(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?';
begin
  if schedule ~* '^\s*([1-9]|[1-5][0-9])\s+seconds?\s*$'
     or schedule ~* '^\s*@(hourly|daily|weekly|monthly|yearly|annually)\s*$'
     or schedule ~ ('^\s*' || field || '(,' || field || ')*' || repeat('\s+' || field || '(,' || field || ')*', 4) || '\s*$')
  then
    return btrim(schedule);
  end if;
  raise exception 'invalid schedule: %', schedule;
end
$$;

create function cron.schedule(job_name text, schedule text, command text) returns bigint
language plpgsql as $$
declare
  id bigint;
begin
  insert into cron.job (jobname, schedule, command)
  values (job_name, cron._check_schedule(schedule), command)
  on conflict (jobname, username) do update set schedule = excluded.schedule, command = excluded.command
  returning jobid into id;
  return id;
end
$$;

create function cron.schedule(schedule text, command text) returns bigint
language sql as $$
  insert into cron.job (schedule, command) values (cron._check_schedule(schedule), command) returning jobid
$$;

create function cron.unschedule(job_id bigint) returns boolean
language plpgsql as $$
begin
  delete from cron.job where jobid = job_id and username = current_user;
  if not found then
    raise exception 'could not find valid entry for job %', job_id;
  end if;
  return true;
end
$$;

create function cron.unschedule(job_name text) returns boolean
language plpgsql as $$
begin
  delete from cron.job where jobname = job_name and username = current_user;
  if not found then
    raise exception 'could not find valid entry for job ''%''', job_name;
  end if;
  return true;
end
$$;

create function cron.alter_job(
  job_id bigint,
  schedule text default null,
  command text default null,
  database text default null,
  username text default null,
  active boolean default null
) returns void
language plpgsql as $$
begin
  update cron.job j
     set schedule = coalesce(cron._check_schedule(alter_job.schedule), j.schedule),
         command = coalesce(alter_job.command, j.command),
         database = coalesce(alter_job.database, j.database),
         username = coalesce(alter_job.username, j.username),
         active = coalesce(alter_job.active, j.active)
   where j.jobid = job_id;
  if not found then
    raise exception 'Job % does not exist', job_id;
  end if;
end
$$;

revoke all on schema cron from public;
grant usage on schema cron to postgres with grant option;
grant all on all tables in schema cron to postgres with grant option;
grant all on all sequences in schema cron to postgres with grant option;
grant all on all functions in schema cron to postgres with grant option;
