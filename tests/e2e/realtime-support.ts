// Helpers for the realtime suites: the fixtures they need in the database
// (created here, as `postgres`, so they do not depend on the chat schema),
// waiting for channel statuses and events, and a raw WebSocket client for
// checks at the level of frames.
//
// Fixtures, all limited to topics "rt-test:%":
//   public.rt_test_members(topic, user_id, can_write, broadcast_read) — who may
//     read (broadcast and presence, or presence only) and write on a topic;
//   RLS policies on realtime.messages granting exactly that to members, plus a
//     policy that raises on topic "rt-test:boom";
//   public.rt_test_events — an insert trigger sends {body, event_id} with
//     realtime.send (event 'created', private as the row says);
//   public.rt_test_rows — a row trigger calls realtime.broadcast_changes.

import { randomUUID } from 'node:crypto';
import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import type pg from 'pg';
import { afterAll } from 'vitest';
import WebSocket from 'ws';

export const FIXTURES = `
select pg_advisory_xact_lock(4242001);

create table if not exists public.rt_test_members (
  topic text not null,
  user_id uuid not null,
  can_write boolean not null default true,
  broadcast_read boolean not null default true,
  primary key (topic, user_id)
);
alter table public.rt_test_members enable row level security;
grant select on public.rt_test_members to authenticated;

create table if not exists public.rt_test_events (
  id bigserial primary key,
  topic text not null,
  body text,
  private boolean not null default true
);

create table if not exists public.rt_test_rows (
  id bigserial primary key,
  topic text not null,
  note text
);

create or replace function public.rt_test_guard() returns boolean
language plpgsql stable set search_path = '' as $$
begin
  if realtime.topic() = 'rt-test:boom' then
    raise exception 'rt-test policy failure';
  end if;
  return false;
end
$$;

create or replace function public.rt_test_send() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform realtime.send(jsonb_build_object('body', new.body, 'event_id', new.id), 'created', new.topic, new.private);
  return null;
end
$$;

create or replace function public.rt_test_changes() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform realtime.broadcast_changes(coalesce(new.topic, old.topic), tg_op, tg_op, tg_table_name, tg_table_schema, new, old);
  return null;
end
$$;

create or replace trigger rt_test_send after insert on public.rt_test_events
  for each row execute function public.rt_test_send();
create or replace trigger rt_test_changes after insert or update or delete on public.rt_test_rows
  for each row execute function public.rt_test_changes();

do $$
begin
  if not exists (select from pg_policies where tablename = 'rt_test_members' and policyname = 'rt_test_members_select_own') then
    create policy rt_test_members_select_own on public.rt_test_members for select to authenticated
      using (user_id = (select auth.uid()));
  end if;
  if not exists (select from pg_policies where tablename = 'messages' and policyname = 'rt_test_members_receive') then
    create policy rt_test_members_receive on realtime.messages for select to authenticated
      using (
        (select realtime.topic()) like 'rt-test:%'
        and exists (
          select 1 from public.rt_test_members m
           where m.topic = (select realtime.topic())
             and m.user_id = (select auth.uid())
             and (m.broadcast_read or realtime.messages.extension = 'presence')
        )
      );
  end if;
  if not exists (select from pg_policies where tablename = 'messages' and policyname = 'rt_test_members_send') then
    create policy rt_test_members_send on realtime.messages for insert to authenticated
      with check (
        (select realtime.topic()) like 'rt-test:%'
        and exists (
          select 1 from public.rt_test_members m
           where m.topic = (select realtime.topic())
             and m.user_id = (select auth.uid())
             and m.can_write
        )
      );
  end if;
  if not exists (select from pg_policies where tablename = 'messages' and policyname = 'rt_test_boom') then
    create policy rt_test_boom on realtime.messages for select to authenticated using (public.rt_test_guard());
  end if;
end
$$;
`;

/**
 * Installs the fixtures. Creating a policy locks realtime.messages exclusively, and a waiting
 * exclusive lock queues every other writer of the table behind it; other suites share this
 * database, so the DDL waits at most a moment at a time and tries again instead.
 */
export async function installFixtures(db: pg.Pool): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const client = await db.connect();
    try {
      await client.query('begin');
      await client.query(`set local lock_timeout = '100ms'`);
      await client.query(FIXTURES);
      await client.query('commit');
      return;
    } catch (error) {
      await client.query('rollback');
      const lockTimeout = (error as { code?: string }).code === '55P03';
      if (!lockTimeout || attempt >= 100) throw error;
    } finally {
      client.release();
    }
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
  }
}

/** A fresh topic name under the fixtures' policies. */
export const topicName = (label = 'topic') => `rt-test:${label}-${randomUUID().slice(0, 8)}`;

export async function addMember(
  db: pg.Pool,
  topic: string,
  userId: string,
  options: { canWrite?: boolean; broadcastRead?: boolean } = {},
) {
  await db.query(
    `insert into public.rt_test_members (topic, user_id, can_write, broadcast_read) values ($1, $2, $3, $4)
       on conflict (topic, user_id) do update set can_write = excluded.can_write, broadcast_read = excluded.broadcast_read`,
    [topic, userId, options.canWrite ?? true, options.broadcastRead ?? true],
  );
}

/** Polls `probe` until it returns something other than undefined; fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  description: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface StatusLog {
  statuses: { status: string; error?: Error }[];
  /** Resolves with the first status after subscribe() (SUBSCRIBED, CHANNEL_ERROR, TIMED_OUT or CLOSED). */
  first: Promise<{ status: string; error?: Error }>;
  /** Waits until `status` has been reported. */
  reached(status: string): Promise<{ status: string; error?: Error }>;
}

/** Subscribes and records every status the channel reports. */
export function subscribe(channel: RealtimeChannel): StatusLog {
  const statuses: StatusLog['statuses'] = [];
  let resolveFirst: (value: { status: string; error?: Error }) => void = () => undefined;
  const first = new Promise<{ status: string; error?: Error }>((resolve, reject) => {
    resolveFirst = resolve;
    setTimeout(() => reject(new Error(`${channel.topic} reported no status within 20 s`)), 20_000).unref();
  });
  channel.subscribe((status, error) => {
    const entry = { status, error };
    statuses.push(entry);
    resolveFirst(entry);
  });
  return {
    statuses,
    first,
    reached: (status) => waitFor(() => statuses.find((s) => s.status === status), `status ${status}`),
  };
}

export async function subscribed(channel: RealtimeChannel): Promise<StatusLog> {
  const log = subscribe(channel);
  const { status, error } = await log.first;
  if (status !== 'SUBSCRIBED') throw new Error(`expected SUBSCRIBED, got ${status}: ${error?.message}`);
  return log;
}

export interface BroadcastMessage {
  type: 'broadcast';
  event: string;
  payload: unknown;
  meta?: { id?: string; replayed?: boolean };
}

/** Everything that arrives on `channel` as a broadcast (any event), in order. */
export function inbox(channel: RealtimeChannel, event = '*') {
  const messages: BroadcastMessage[] = [];
  channel.on('broadcast', { event }, (message) => {
    messages.push(message as BroadcastMessage);
  });
  return {
    messages,
    /** The first message matching `match` (waits for it). */
    find: (match: (message: BroadcastMessage) => boolean, what = 'a broadcast') =>
      waitFor(() => messages.find(match), what),
  };
}

/** System messages pushed on `channel`. */
export function systemMessages(channel: RealtimeChannel) {
  const messages: { extension: string; status: string; message: string; channel: string }[] = [];
  channel.on('system', {}, (payload) => {
    messages.push(payload);
  });
  return messages;
}

/** Disconnects every client handed to it when the file's tests are done. */
export function disconnectAfterAll() {
  const clients: SupabaseClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.removeAllChannels().catch(() => undefined)));
  });
  return <T extends SupabaseClient>(client: T): T => {
    clients.push(client);
    return client;
  };
}

/** A supabase-js client whose Realtime speaks the 1.0.0 serializer (JSON objects, no binary frames). */
export async function v1Client(
  stack: { url: string; anonKey: string },
  accessToken?: string,
): Promise<SupabaseClient> {
  const client = createClient(stack.url, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket, vsn: '1.0.0' },
  });
  if (accessToken) await client.realtime.setAuth(accessToken);
  return client;
}

// ── raw frames ────────────────────────────────────────────────────────────────

export type Frame = { text: unknown } | { binary: Buffer };

/** A bare WebSocket speaking the wire protocol, for checks below what supabase-js shows. */
export class RawSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      this.frames.push(isBinary ? { binary: buffer } : { text: JSON.parse(buffer.toString('utf8')) });
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket with the API key in the query (as realtime-js does) or in a header. */
  static open(
    url: string,
    apiKey: string,
    vsn: '1.0.0' | '2.0.0' = '2.0.0',
    keyIn: 'query' | 'apikey' | 'x-api-key' = 'query',
  ): Promise<RawSocket> {
    const query = keyIn === 'query' ? `apikey=${encodeURIComponent(apiKey)}&` : '';
    const wsUrl = `${url.replace(/^http/, 'ws')}/realtime/v1/websocket?${query}vsn=${vsn}`;
    const ws = new WebSocket(wsUrl, keyIn === 'query' ? {} : { headers: { [keyIn]: apiKey } });
    const socket = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_request, response) =>
        reject(new Error(`upgrade refused with ${response.statusCode}`)),
      );
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** The first text frame (a V2 array or V1 object) for which `match` holds, waiting for it. */
  text(match: (frame: unknown) => boolean, what = 'a frame'): Promise<unknown> {
    return waitFor(() => {
      for (const frame of this.frames) if ('text' in frame && match(frame.text)) return frame.text;
      return undefined;
    }, what);
  }

  binary(what = 'a binary frame'): Promise<Buffer> {
    return waitFor(() => {
      for (const frame of this.frames) if ('binary' in frame) return frame.binary;
      return undefined;
    }, what);
  }

  /** Sends phx_join (V2) and returns the reply frame. */
  async join(topic: string, payload: unknown, joinRef: string): Promise<unknown[]> {
    this.send([joinRef, joinRef, topic, 'phx_join', payload]);
    return (await this.text(
      (f) => Array.isArray(f) && f[1] === joinRef && f[2] === topic && f[3] === 'phx_reply',
      `the reply to joining ${topic}`,
    )) as unknown[];
  }

  close(): void {
    this.ws.close();
  }
}

/** A V2 frame: [join_ref, ref, topic, event, payload]. */
export const isFrame =
  (topic: string, event: string, ref?: string | null) =>
  (frame: unknown): frame is unknown[] =>
    Array.isArray(frame) &&
    frame[2] === topic &&
    frame[3] === event &&
    (ref === undefined || frame[1] === ref);

/** The client's binary user-broadcast push (kind 3), as realtime-js encodes it. */
export function userBroadcastPush(
  joinRef: string,
  ref: string,
  topic: string,
  event: string,
  payload: Buffer,
  json = true,
) {
  const parts = [joinRef, ref, topic, event, ''].map((s) => Buffer.from(s));
  return Buffer.concat([Buffer.from([3, ...parts.map((p) => p.length), json ? 1 : 0]), ...parts, payload]);
}
