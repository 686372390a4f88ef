// The background workers of pg_cron and pg_net, for the stand-ins of those extensions
// (sql/platform/extensions). On the platform they run inside PostgreSQL; here they
// run in the emulator's process, on a superuser connection:
// * pg_cron: each active job of cron.job runs when its schedule says, as the user who
//   scheduled it, never twice at once; each run is recorded in cron.job_run_details.
// * pg_net: requests queued by net.http_get / net.http_post are taken from
//   net.http_request_queue once their transaction has committed (woken by a
//   notification, else within a second), sent, and answered into net._http_response,
//   which keeps answers for 6 hours.
// Where the extensions are the real ones, or absent, these workers do nothing.

import pg from 'pg';
import type { Logger } from '../log.ts';
import { restartSafeClient, restartSafePool } from './connections.ts';
import { firesAt, parseSchedule, type Schedule } from './cron-schedule.ts';

const TICK_MS = 1000;
const RESPONSE_TTL = '6 hours';

interface Job {
  jobid: string;
  schedule: string;
  command: string;
  username: string;
}

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer | null;
  timeout_milliseconds: number;
}

export interface BackgroundWorkers {
  stop(): Promise<void>;
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

export function startBackgroundWorkers(options: { adminUrl: string; log: Logger }): BackgroundWorkers {
  const { adminUrl, log } = options;
  const pool = restartSafePool({ connectionString: adminUrl, max: 4 }, (error) =>
    log.warn(`background worker connection lost: ${error.message}`),
  );
  const started = Date.now();
  const lastRun = new Map<string, number>();
  const running = new Set<string>();
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;
  let listener: pg.Client | undefined;
  let draining = false;
  let drainAgain = false;
  let lastCleanup = 0;

  const track = <T>(work: Promise<T>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  };

  /** Which of the two extensions are installed here as our stand-ins. */
  async function standIns(): Promise<Set<string>> {
    const { rows } = await pool.query<{ extname: string }>(
      `select e.extname from pg_extension e
        where e.extname in ('pg_cron', 'pg_net')
          and obj_description(e.oid, 'pg_extension') like '%(emulator stand-in)'`,
    );
    return new Set(rows.map((row) => row.extname));
  }

  async function runJob(job: Job): Promise<void> {
    running.add(job.jobid);
    const client = restartSafeClient({ connectionString: adminUrl });
    try {
      await client.connect();
      const { rows } = await client.query<{ runid: string }>(
        `insert into cron.job_run_details (jobid, job_pid, database, username, command, status, start_time)
         values ($1, pg_backend_pid(), current_database(), $2, $3, 'running', now()) returning runid`,
        [job.jobid, job.username, job.command],
      );
      let status = 'succeeded';
      let message: string;
      try {
        await client.query(`set session authorization ${quoteIdent(job.username)}`);
        const result = await client.query(job.command);
        const last = Array.isArray(result) ? result.at(-1) : result;
        message = `${last?.command ?? ''} ${last?.rowCount ?? ''}`.trim();
      } catch (error) {
        status = 'failed';
        message = (error as Error).message;
        log.warn(`cron job ${job.jobid} failed: ${message}`);
      }
      await client.query('reset session authorization');
      await client.query(
        `update cron.job_run_details set status = $2, return_message = $3, end_time = now() where runid = $1`,
        [rows[0]?.runid, status, message],
      );
    } catch (error) {
      log.warn(`could not run cron job ${job.jobid}: ${(error as Error).message}`);
    } finally {
      running.delete(job.jobid);
      await client.end().catch(() => {});
    }
  }

  function isDue(job: Job, schedule: Schedule, now: number): boolean {
    if ('everySeconds' in schedule) {
      return now - (lastRun.get(job.jobid) ?? started) >= schedule.everySeconds * 1000;
    }
    const minute = Math.floor(now / 60_000);
    return lastRun.get(job.jobid) !== minute && firesAt(schedule, new Date(now));
  }

  async function runDueJobs(): Promise<void> {
    const { rows } = await pool.query<Job>(
      `select jobid, schedule, command, username from cron.job
        where active and database = current_database() order by jobid`,
    );
    const now = Date.now();
    for (const job of rows) {
      if (running.has(job.jobid)) continue;
      let schedule: Schedule;
      try {
        schedule = parseSchedule(job.schedule);
      } catch {
        continue; // cron.schedule refuses these; a row written by hand is skipped
      }
      if (!isDue(job, schedule, now)) continue;
      lastRun.set(job.jobid, 'everySeconds' in schedule ? now : Math.floor(now / 60_000));
      track(runJob(job));
    }
  }

  async function send(request: QueuedRequest): Promise<void> {
    let row: unknown[];
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body ? new Uint8Array(request.body) : undefined,
        signal: AbortSignal.timeout(request.timeout_milliseconds),
      });
      const content = await response.text();
      row = [
        request.id,
        response.status,
        response.headers.get('content-type'),
        JSON.stringify(Object.fromEntries(response.headers)),
        content,
        false,
        null,
      ];
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      const message = timedOut
        ? `Timeout of ${request.timeout_milliseconds} ms reached`
        : (((error as Error).cause as Error | undefined)?.message ?? (error as Error).message);
      row = [request.id, null, null, null, null, timedOut, message];
    }
    await pool.query(
      `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      row,
    );
  }

  async function drainRequests(): Promise<void> {
    if (draining) {
      drainAgain = true;
      return;
    }
    draining = true;
    try {
      do {
        drainAgain = false;
        const { rows } = await pool.query<QueuedRequest>(
          `delete from net.http_request_queue q
            where q.id in (select id from net.http_request_queue order by id limit 100 for update skip locked)
           returning q.*`,
        );
        for (const request of rows) {
          track(send(request)).catch((error: Error) =>
            log.warn(`pg_net request ${request.id} to ${request.url}: ${error.message}`),
          );
        }
        if (rows.length === 100) drainAgain = true;
      } while (drainAgain && !stopped);
      if (Date.now() - lastCleanup > 60_000) {
        lastCleanup = Date.now();
        await pool.query(`delete from net._http_response where created < now() - interval '${RESPONSE_TTL}'`);
      }
    } finally {
      draining = false;
    }
  }

  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: adminUrl });
    client.on('error', () => {
      if (listener === client) listener = undefined;
    });
    client.on('notification', () => void drainRequests().catch(() => {}));
    await client.connect();
    await client.query('listen pg_net_request');
    listener = client;
  }

  async function tick(): Promise<void> {
    const installed = await standIns();
    if (installed.has('pg_cron')) await runDueJobs();
    if (installed.has('pg_net')) {
      if (!listener) await listen();
      await drainRequests();
    }
  }

  let ticking = false;
  let lastProblem = '';
  const timer = setInterval(() => {
    if (ticking || stopped) return;
    ticking = true;
    track(
      tick()
        .then(() => {
          lastProblem = '';
        })
        .catch((error: Error) => {
          // Once per problem (e.g. while the database restarts), not every second.
          if (error.message !== lastProblem) log.warn(`pg_cron / pg_net worker: ${error.message}`);
          lastProblem = error.message;
        })
        .finally(() => {
          ticking = false;
        }),
    );
  }, TICK_MS);

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
      await listener?.end().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}
