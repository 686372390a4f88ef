// Broadcast from Database: inserts into realtime.messages arrive here through
// logical replication, as on the platform — the publication
// supabase_realtime_messages_publication, a TEMPORARY slot with the built-in
// pgoutput plugin, connected as the server's role (supabase_admin) — and are
// handed on one by one, after commit, never for a
// rolled-back transaction. Nothing is queued: a row nobody listens to is
// dropped at once, and every position is acknowledged so the slot never holds
// WAL back. When the connection is lost (e.g. PostgreSQL restarts) the stream
// reconnects by itself with a fresh temporary slot and says so in the log;
// rows committed while it was down are not replayed (the platform gives no
// delivery guarantee either).

import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../log.ts';
import { decodeCopyData, decodePgOutput, type Relation, standbyStatus, type TupleValue } from './pgoutput.ts';

export const PUBLICATION = 'supabase_realtime_messages_publication';

/**
 * Whether a relation of the stream is realtime.messages. The publication has no
 * publish_via_partition_root, so rows arrive named by their daily partition
 * (realtime.messages_2026_12_01).
 */
export const isMessagesRelation = (relation: Pick<Relation, 'namespace' | 'name'>) =>
  relation.namespace === 'realtime' && /^messages(_\d{4}_\d{2}_\d{2})?$/.test(relation.name);

/** An inserted realtime.messages row, as the platform reads it. */
export interface MessageRow {
  id: string;
  topic: string;
  event: string;
  private: boolean;
  /** JSON text (column payload) or bytes (column binary_payload). */
  payload: { encoding: 'json'; text: string } | { encoding: 'binary'; bytes: Buffer };
  insertedAt: string;
  /** When its transaction committed (epoch ms, µs precision), from the stream's BEGIN message. */
  committedAt?: number;
}

export interface ReplicationStats {
  streaming: boolean;
  slotName: string;
  /** Times the stream was established (1 after the first start). */
  sessions: number;
  rowsReceived: number;
  lastAcknowledgedLsn: string;
}

export interface ReplicationStream {
  readonly slotName: string;
  isStreaming(): boolean;
  /** Resolves once the stream is established (now, if it is). */
  whenStreaming(): Promise<void>;
  stats(): ReplicationStats;
  stop(): Promise<void>;
}

export interface ReplicationOptions {
  /** A connection that may replicate (the platform's server connects as supabase_admin). */
  url: string;
  log: Logger;
  onRow(row: MessageRow): void;
  /** Called with a reason when a row cannot be broadcast (the platform's UnableToBroadcastChanges). */
  onBadRow?(reason: string): void;
}

type ReplicationConnection = EventEmitter & { sendCopyFromChunk(chunk: Buffer): void };

/** How long a committed position may wait before it is acknowledged. */
const ACK_INTERVAL_MS = 10;

/** PostgreSQL's epoch (2000-01-01 UTC) in Unix epoch ms. */
const POSTGRES_EPOCH_MS = 946_684_800_000;

const formatLsn = (lsn: bigint) =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

/** Reads a row the way the platform's replication handler does; a reason when it cannot. */
export function toMessageRow(
  relation: Relation,
  values: TupleValue[],
): { ok: true; row: MessageRow } | { ok: false; reason: string } {
  const record: Record<string, string | null | undefined> = {};
  relation.columns.forEach((column, i) => {
    record[column.name] = values[i];
  });
  for (const column of ['inserted_at', 'event', 'id', 'topic', 'private'] as const) {
    if (record[column] === null || record[column] === undefined)
      return { ok: false, reason: `${column}_missing` };
  }
  let payload: MessageRow['payload'];
  const binary = record.binary_payload;
  if (typeof binary === 'string') {
    if (!binary.startsWith('\\x')) return { ok: false, reason: 'binary_payload is not in hex output format' };
    payload = { encoding: 'binary', bytes: Buffer.from(binary.slice(2), 'hex') };
  } else if (typeof record.payload === 'string') {
    payload = { encoding: 'json', text: record.payload };
  } else {
    return { ok: false, reason: 'payload_missing' };
  }
  return {
    ok: true,
    row: {
      id: record.id as string,
      topic: record.topic as string,
      event: record.event as string,
      private: record.private === 't',
      payload,
      insertedAt: record.inserted_at as string,
    },
  };
}

export function startReplication(options: ReplicationOptions): ReplicationStream {
  const { log } = options;
  const slotName = `supabase_realtime_messages_replication_slot_emulator_${randomBytes(4).toString('hex')}`;
  let stopped = false;
  let streaming = false;
  let sessions = 0;
  let rowsReceived = 0;
  let acknowledged = 0n;
  let client: pg.Client | undefined;
  let wake: (() => void) | undefined;
  let waiters: (() => void)[] = [];

  const setStreaming = (value: boolean) => {
    streaming = value;
    if (value) {
      for (const resolve of waiters) resolve();
      waiters = [];
    }
  };

  /** One connection's life: set up, stream until the connection ends. Rejects with the reason. */
  async function session(): Promise<void> {
    const current = new pg.Client({
      connectionString: options.url,
      replication: 'database',
      application_name: 'realtime_replication_connection',
    } as pg.ClientConfig);
    client = current;
    const ended = new Promise<Error>((resolve) => {
      current.on('error', (error) => resolve(error));
      current.on('end', () => resolve(new Error('the connection was closed')));
    });
    const connection = (current as unknown as { connection: ReplicationConnection }).connection;
    const relations = new Map<number, Relation>();
    let received = 0n;
    let ackScheduled = false;
    let committedAt: number | undefined;

    const acknowledge = () => {
      ackScheduled = false;
      if (!streaming || client !== current) return;
      try {
        connection.sendCopyFromChunk(standbyStatus(received));
        acknowledged = received;
      } catch {
        // the connection is going away; the session ends on its own
      }
    };
    // Positions are acknowledged in batches, at most every ACK_INTERVAL_MS, rather than once per
    // transaction: each acknowledgement is a write here and a wake-up of the walsender.
    const scheduleAck = () => {
      if (ackScheduled) return;
      ackScheduled = true;
      setTimeout(acknowledge, ACK_INTERVAL_MS);
    };

    connection.on('copyData', ({ chunk }: { chunk: Buffer }) => {
      const message = decodeCopyData(chunk);
      if (message.kind === 'keepalive') {
        if (message.walEnd > received) received = message.walEnd;
        if (message.replyRequested) acknowledge();
        return;
      }
      if (message.kind !== 'xlogdata') return;
      let decoded: ReturnType<typeof decodePgOutput>;
      try {
        decoded = decodePgOutput(message.data);
      } catch (error) {
        log.error(`could not decode a replication message: ${(error as Error).message}`);
        return;
      }
      if (decoded.tag === 'relation') {
        relations.set(decoded.relation.id, decoded.relation);
      } else if (decoded.tag === 'begin') {
        committedAt = POSTGRES_EPOCH_MS + Number(decoded.commitTime) / 1000;
      } else if (decoded.tag === 'commit') {
        if (decoded.endLsn > received) received = decoded.endLsn;
        scheduleAck();
      } else if (decoded.tag === 'insert') {
        const relation = relations.get(decoded.relationId);
        if (!relation || !isMessagesRelation(relation)) return;
        rowsReceived += 1;
        const result = toMessageRow(relation, decoded.values);
        if (!result.ok) {
          options.onBadRow?.(result.reason);
          return;
        }
        result.row.committedAt = committedAt;
        try {
          options.onRow(result.row);
        } catch (error) {
          log.error(`handing on a database broadcast failed: ${(error as Error).stack ?? error}`);
        }
      }
    });

    const keepAlive = setInterval(acknowledge, 10_000);
    try {
      await Promise.race([current.connect(), ended.then((error) => Promise.reject(error))]);
      const { rows } = await current.query<{ pubname: string }>(
        `select pubname from pg_publication where pubname = '${PUBLICATION}'`,
      );
      if (rows.length === 0) {
        log.warn(`publication ${PUBLICATION} is missing; creating it`);
        await current.query(`create publication ${PUBLICATION} for table realtime.messages`);
      }
      await current.query(`CREATE_REPLICATION_SLOT ${slotName} TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT`);
      const started = new Promise<void>((resolve) => connection.once('replicationStart', () => resolve()));
      const stream = current.query(
        `START_REPLICATION SLOT ${slotName} LOGICAL 0/0 (proto_version '1', publication_names '${PUBLICATION}')`,
      );
      stream.catch(() => undefined); // its failure also ends the connection, handled below
      const finished = stream.then(
        () => new Error('the server ended the stream'),
        (error: Error) => error,
      );
      const first = await Promise.race([started.then(() => null), finished, ended]);
      if (first) throw first;
      sessions += 1;
      setStreaming(true);
      if (sessions === 1) {
        log.info(
          `streaming database broadcasts from realtime.messages (publication ${PUBLICATION}, temporary slot ${slotName}, pgoutput)`,
        );
      } else {
        log.info(
          `database broadcasts resumed: the replication stream is re-established (temporary slot ${slotName})`,
        );
      }
      throw await Promise.race([finished, ended]);
    } finally {
      clearInterval(keepAlive);
      setStreaming(false);
      if (client === current) client = undefined;
      await current.end().catch(() => undefined);
    }
  }

  const run = async () => {
    let failures = 0;
    let everStreamed = false;
    while (!stopped) {
      let reason: string;
      const before = sessions;
      try {
        await session();
        reason = 'the stream ended';
      } catch (error) {
        reason = (error as Error).message;
      }
      if (stopped) break;
      if (sessions > before) {
        everStreamed = true;
        failures = 0;
        log.warn(
          `lost the replication stream of realtime.messages (${reason}); database broadcasts pause until it is back — reconnecting`,
        );
      } else {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) {
          log.warn(
            `could not ${everStreamed ? 're-establish' : 'start'} the replication stream (${reason}); retrying (attempt ${failures})`,
          );
        }
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(100 * 2 ** failures, 2000));
      });
      wake = undefined;
    }
  };

  const running = run();

  return {
    slotName,
    isStreaming: () => streaming,
    whenStreaming: () =>
      streaming ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    stats: () => ({
      streaming,
      slotName,
      sessions,
      rowsReceived,
      lastAcknowledgedLsn: formatLsn(acknowledged),
    }),
    stop: async () => {
      stopped = true;
      wake?.();
      await client?.end().catch(() => undefined);
      await running;
    },
  };
}
