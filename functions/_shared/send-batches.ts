// Group commit for send-message: a send that arrives while its lane has a batch in the
// database waits for that batch and then goes with every other send that waited, as one
// call of private.send_messages in one transaction. Alone, a send goes at once (a batch of
// one, no added delay); under load the batches grow by themselves, and what a transaction
// costs (round trips, BEGIN and COMMIT, the commit's WAL flush, one replicated transaction)
// is paid once per batch instead of once per send.
//
// Lanes: a few batches may be in the database at once, one per lane, and every sender keeps
// to one lane. So two batches never hold the same sender's rate-limit bucket, read state or
// client_id lock, and they take conversation locks in one order (send_messages sorts by
// conversation): concurrent batches cannot deadlock on each other. A sender's sends stay in
// order, as one lane runs its batches one after another.

import postgres from 'postgres';
import type { Caller } from './auth.ts';
import { databaseUrl, literal } from './db.ts';

/** A send: the caller (verified) and the arguments of public.send_message by name. */
export interface Send {
  caller: Caller & { userId: string };
  input: Record<string, unknown>;
}

/** A send's answer: what public.send_message returned, or the error it raised (a SQLSTATE and its fields). */
export type Answer<T> =
  | { result: T }
  | { error: { code: string; message: string; detail?: string; hint?: string } };

/** The most sends in one batch: private.max_send_batch(). */
export const MAX_SEND_BATCH = 64;

/** Runs one batch on `lane` (0 ≤ lane < lanes) and answers each send by position. */
export type RunBatch<T> = (sends: Send[], lane: number) => Promise<Answer<T>[]>;

interface Lane<T> {
  index: number;
  waiting: Waiting<T>[];
  busy: boolean;
}

interface Waiting<T> {
  send: Send;
  resolve: (result: T) => void;
  reject: (error: unknown) => void;
}

/** The error a send raised in the database, with the fields a driver error has (for apiErrorFromSql). */
export class SendError extends Error {
  readonly code: string;
  readonly detail?: string;
  readonly hint?: string;
  constructor(error: { code: string; message: string; detail?: string; hint?: string }) {
    super(error.message);
    this.name = 'SendError';
    this.code = error.code;
    this.detail = error.detail ?? undefined;
    this.hint = error.hint ?? undefined;
  }
}

export class SendBatches<T> {
  private readonly lanes: Lane<T>[];

  constructor(
    private readonly run: RunBatch<T>,
    lanes: number,
    private readonly maxBatch: number,
  ) {
    this.lanes = Array.from({ length: Math.max(1, lanes) }, (_, index) => ({
      index,
      waiting: [],
      busy: false,
    }));
  }

  /** Resolves with the send's result once its batch has committed; rejects with its error. */
  submit(send: Send): Promise<T> {
    const lane = this.lanes[laneOf(send.caller.userId, this.lanes.length)];
    return new Promise<T>((resolve, reject) => {
      lane.waiting.push({ send, resolve, reject });
      if (!lane.busy) void this.drain(lane);
    });
  }

  private async drain(lane: Lane<T>): Promise<void> {
    lane.busy = true;
    while (lane.waiting.length > 0) {
      const batch = lane.waiting.splice(0, this.maxBatch);
      try {
        const answers = await this.run(
          batch.map((waiting) => waiting.send),
          lane.index,
        );
        if (answers.length !== batch.length)
          throw new Error(`send_messages answered ${answers.length} of ${batch.length} sends`);
        batch.forEach((waiting, i) => {
          const answer = answers[i];
          if ('error' in answer) waiting.reject(new SendError(answer.error));
          else waiting.resolve(answer.result);
        });
      } catch (error) {
        // The call failed as a whole (its connection, its transaction): each sender may retry with its client_id.
        for (const waiting of batch) waiting.reject(error);
      }
    }
    lane.busy = false;
  }
}

/** The lane of a sender: a hash of the user id (FNV-1a), the same in every batch. */
function laneOf(userId: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}

/**
 * Runs batches in the database, each in one transaction of two round trips: BEGIN, the role and
 * the call travel as one simple-protocol message, then COMMIT as a second, sent only after the
 * answer, so a batch whose function dies mid-way never commits (tests/e2e/recovery.test.ts).
 * PostgreSQL skips the rest of a message after an error, so nothing runs outside the
 * transaction. The simple protocol has no parameters: the sends travel as one JSON literal
 * (see literal()).
 *
 * Each lane has a connection of its own (a pool of one), used by nothing else: its two
 * messages meet the same connection without reserve(), whose wait for a connection can be
 * stranded when that connection is lost (porsager/postgres#1195: the lane, and every send in
 * it, would wait forever). If the connection closes between the two (PostgreSQL restarting),
 * the transaction is gone with it, and the batch fails rather than COMMIT a fresh connection's
 * empty transaction. After any failure the lane drops its connection (the server ends what was
 * left of the transaction) and opens a new one for its next batch: nothing more is written to a
 * connection that may be dead (porsager/postgres#1208).
 */
export function batchRunner<T>(lanes: number): RunBatch<T> {
  const connections: ({ sql: postgres.Sql; closes: number } | undefined)[] = Array(Math.max(1, lanes));
  const connect = (index: number) => {
    const lane = { closes: 0 } as { sql: postgres.Sql; closes: number };
    lane.sql = postgres(databaseUrl(), {
      max: 1,
      idle_timeout: 30,
      onnotice: () => {},
      onclose: () => void lane.closes++,
    });
    connections[index] = lane;
    return lane;
  };
  return async (sends, index) => {
    const lane = connections[index] ?? connect(index);
    const payload = JSON.stringify(
      sends.map(({ caller, input }) => ({ claims: caller.claims, args: input })),
    );
    const closes = lane.closes;
    try {
      const results = await lane.sql
        .unsafe<{ answers: Answer<T>[] }[][]>(
          `begin;
           select set_config('role', 'service_role', true);
           select private.send_messages(${literal(payload)}::jsonb) as answers`,
        )
        .simple();
      if (lane.closes !== closes) throw new Error('the database connection closed before COMMIT');
      await lane.sql.unsafe('commit');
      return results[2]?.[0]?.answers ?? [];
    } catch (error) {
      connections[index] = undefined;
      lane.sql.end({ timeout: 0 }).catch(() => {});
      throw error;
    }
  };
}
