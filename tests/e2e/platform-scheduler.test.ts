// The stand-ins of pg_cron and pg_net: a job scheduled with cron.schedule runs on its
// schedule as the user who scheduled it and is recorded in cron.job_run_details; a
// request queued with net.http_post is sent after commit (never for a rolled-back
// transaction) and its answer lands in net._http_response. Schedules parse as pg_cron's.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { firesAt, parseSchedule } from '../../emulator/postgres/cron-schedule.ts';
import { sqlPool } from './support.ts';

const db = sqlPool();

/** A loopback server that answers 200 "pong" and keeps what it got. */
async function recorder() {
  const received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      for (const wake of waiters.splice(0)) wake();
      response.writeHead(200, { 'content-type': 'text/plain' }).end('pong');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const next = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (received.length >= count ? resolve() : waiters.push(check));
      check();
    });
  return { url, received, next };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('pg_net', { tags: ['emulator-only'] }, () => {
  it('sends a queued POST after commit, with its body and headers, and stores the answer', async () => {
    const server = await recorder();
    const client = await db.connect();
    let requestId: string;
    try {
      await client.query('begin');
      const { rows } = await client.query<{ id: string }>(
        `select net.http_post(url := $1, body := '{"hello": "world"}', params := '{"a": "1 2"}',
                              headers := '{"X-Probe": "yes"}') as id`,
        [`${server.url}/hook`],
      );
      requestId = rows[0]?.id as string;
      await client.query('rollback');
      await client.query('begin');
      const second = await client.query<{ id: string }>(
        `select net.http_post(url := $1, body := '{"hello": "world"}', params := '{"a": "1 2"}',
                              headers := '{"X-Probe": "yes"}') as id`,
        [`${server.url}/hook`],
      );
      requestId = second.rows[0]?.id as string;
      await client.query('commit');
    } finally {
      client.release();
    }
    await server.next(1);
    expect(server.received).toHaveLength(1); // the rolled-back request was never sent
    expect(server.received[0]).toMatchObject({
      method: 'POST',
      url: '/hook?a=1%202',
      body: '{"hello": "world"}',
      headers: expect.objectContaining({ 'x-probe': 'yes', 'content-type': 'application/json' }),
    });
    const response = await until(async () => {
      const { rows } = await db.query(
        'select status_code, content, timed_out from net._http_response where id = $1',
        [requestId],
      );
      return rows[0];
    }, 'the stored answer');
    expect(response).toEqual({ status_code: 200, content: 'pong', timed_out: false });
  });

  it('records a request that cannot connect as an error, without a status', async () => {
    const { rows } = await db.query<{ id: string }>(
      `select net.http_get(url := 'http://127.0.0.1:9/unreachable', timeout_milliseconds := 2000) as id`,
    );
    const response = await until(async () => {
      const result = await db.query('select status_code, error_msg from net._http_response where id = $1', [
        rows[0]?.id,
      ]);
      return result.rows[0];
    }, 'the failed request');
    expect(response.status_code).toBeNull();
    expect(response.error_msg).toEqual(expect.any(String));
  });
});

describe('pg_cron', { tags: ['emulator-only'] }, () => {
  it('runs a job on its schedule as the user who scheduled it, recording each run, until unscheduled', async () => {
    const server = await recorder();
    const name = `probe-${Date.now()}`;
    await db.query(`select cron.schedule($1, '1 seconds', $2)`, [
      name,
      `select net.http_post(url := '${server.url}/tick', body := jsonb_build_object('user', current_user))`,
    ]);
    try {
      await server.next(2);
      expect(server.received.slice(0, 2).map((request) => JSON.parse(request.body))).toEqual([
        { user: 'postgres' },
        { user: 'postgres' },
      ]);
      // A run is recorded once its command returns, which may be after its request went out.
      const rows = await until(async () => {
        const result = await db.query(
          `select d.status, d.username from cron.job_run_details d join cron.job j using (jobid)
            where j.jobname = $1 and d.status <> 'running' order by d.runid limit 2`,
          [name],
        );
        return result.rows.length === 2 ? result.rows : undefined;
      }, 'two finished runs');
      expect(rows).toEqual([
        { status: 'succeeded', username: 'postgres' },
        { status: 'succeeded', username: 'postgres' },
      ]);
    } finally {
      await db.query('select cron.unschedule($1)', [name]);
    }
    const { rows } = await db.query('select count(*)::int as n from cron.job where jobname = $1', [name]);
    expect(rows[0].n).toBe(0);
  });

  it('records a failing job as failed, with the error', async () => {
    const name = `failing-${Date.now()}`;
    await db.query(`select cron.schedule($1, '1 seconds', 'select 1 / 0')`, [name]);
    try {
      const run = await until(async () => {
        const { rows } = await db.query(
          `select d.status, d.return_message from cron.job_run_details d join cron.job j using (jobid)
            where j.jobname = $1 and d.status <> 'running'`,
          [name],
        );
        return rows[0];
      }, 'the failed run');
      expect(run).toEqual({ status: 'failed', return_message: 'division by zero' });
    } finally {
      await db.query('select cron.unschedule($1)', [name]);
    }
  });

  it('refuses a schedule pg_cron would refuse', async () => {
    await expect(db.query(`select cron.schedule('bad', 'every minute', 'select 1')`)).rejects.toThrow(
      'invalid schedule: every minute',
    );
  });
});

describe('cron schedules', () => {
  const at = (iso: string) => new Date(iso);
  it('parse intervals in seconds, cron fields and shorthands', () => {
    expect(parseSchedule('10 seconds')).toEqual({ everySeconds: 10 });
    expect(() => parseSchedule('60 seconds')).toThrow();
    expect(() => parseSchedule('* * *')).toThrow();
    expect(() => parseSchedule('61 * * * *')).toThrow();
  });

  it('fire in the minutes their fields name, in UTC', () => {
    const everyFive = parseSchedule('*/5 * * * *');
    expect(firesAt(everyFive, at('2026-07-01T10:15:30Z'))).toBe(true);
    expect(firesAt(everyFive, at('2026-07-01T10:16:00Z'))).toBe(false);
    const weekdayMornings = parseSchedule('30 8 * * 1-5');
    expect(firesAt(weekdayMornings, at('2026-07-01T08:30:00Z'))).toBe(true); // a Wednesday
    expect(firesAt(weekdayMornings, at('2026-07-04T08:30:00Z'))).toBe(false); // a Saturday
    const sundays = parseSchedule('0 0 * * 7');
    expect(firesAt(sundays, at('2026-07-05T00:00:00Z'))).toBe(true);
    // Both day fields restricted: either matching is enough, as in cron.
    const firstOrMonday = parseSchedule('0 12 1 * 1');
    expect(firesAt(firstOrMonday, at('2026-07-06T12:00:00Z'))).toBe(true); // a Monday
    expect(firesAt(firstOrMonday, at('2026-07-01T12:00:00Z'))).toBe(true); // the 1st
    expect(firesAt(firstOrMonday, at('2026-07-02T12:00:00Z'))).toBe(false);
    expect(firesAt(parseSchedule('@daily'), at('2026-07-02T00:00:00Z'))).toBe(true);
    expect(firesAt(parseSchedule('@daily'), at('2026-07-02T01:00:00Z'))).toBe(false);
  });
});
