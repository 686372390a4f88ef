// Replay on join (private channels only): `config.broadcast.replay =
// {since: <ms epoch>, limit: 1..25}` re-sends the stored broadcasts of the
// topic newer than `since` — the newest `limit` of them, oldest first — each
// marked `meta: {replayed: true, id}`. Read as the server's own role, like the
// platform, once the channel's read permission is established.

import type pg from 'pg';

export interface ReplayedMessage {
  id: string;
  event: string;
  payload: { encoding: 'json'; text: string } | { encoding: 'binary'; bytes: Buffer };
}

export type ReplayResult =
  | { ok: true; messages: ReplayedMessage[] }
  | { ok: false; reason: 'invalid_params' | 'failed'; message: string };

const HARD_LIMIT = 25;
const DEFAULTS = { since: 0, limit: 10 };
/** The range of millisecond timestamps Elixir's DateTime.from_unix accepts. */
const MAX_MS = 253_402_300_799_999;
const MIN_MS = -377_705_116_800_000;

export async function replayMessages(
  pool: pg.Pool,
  topic: string,
  params: Record<string, unknown>,
): Promise<ReplayResult> {
  const since = params.since ?? DEFAULTS.since;
  const limit = params.limit ?? DEFAULTS.limit;
  if (!Number.isInteger(since) || !Number.isInteger(limit)) {
    return { ok: false, reason: 'invalid_params', message: 'since and limit must be integers' };
  }
  if ((since as number) > MAX_MS || (since as number) < MIN_MS) {
    return { ok: false, reason: 'invalid_params', message: 'since is out of range' };
  }
  const count = Math.max(Math.min(limit as number, HARD_LIMIT), 1);
  try {
    const { rows } = await pool.query<{
      id: string;
      event: string;
      payload: string | null;
      binary: Buffer | null;
    }>(
      `select id, event, payload::text as payload, binary_payload as binary
         from realtime.messages
        where topic = $1
          and private is true
          and extension = 'broadcast'
          and inserted_at >= timezone('utc', to_timestamp($2::bigint / 1000.0))
          and inserted_at < timezone('utc', now() + interval '1 minute')
        order by inserted_at desc
        limit $3`,
      [topic, since, count],
    );
    const messages: ReplayedMessage[] = [];
    for (const row of rows.reverse()) {
      if (row.binary)
        messages.push({ id: row.id, event: row.event, payload: { encoding: 'binary', bytes: row.binary } });
      else
        messages.push({
          id: row.id,
          event: row.event,
          payload: { encoding: 'json', text: row.payload ?? 'null' },
        });
    }
    return { ok: true, messages };
  } catch (error) {
    return { ok: false, reason: 'failed', message: (error as Error).message };
  }
}
