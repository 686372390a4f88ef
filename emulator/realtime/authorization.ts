// Authorization of private channels through RLS on realtime.messages, by the
// platform's procedure:
//
// read  — in a transaction, as the server's own role, insert probe rows for the
//         topic (extension 'broadcast', and 'presence' when presence is on);
//         switch to the user (role, realtime.topic, request.jwt.claims, .sub,
//         .role, request.headers); select the probe ids, which the SELECT
//         policies now filter; roll back.
// write — same settings, then per extension a savepoint and an INSERT of a
//         probe row under the INSERT policies; 42501 means no write; roll back.
//
// Nothing is ever committed. A policy that raises counts as a denial
// (RlsPolicyError). Results are cached by the channel, not here.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Claims } from '../keys.ts';
import type { Logger } from '../log.ts';
import { restartSafePool } from '../postgres/connections.ts';

export interface Permission {
  /** null: not checked yet. */
  read: boolean | null;
  write: boolean | null;
}

export interface Policies {
  broadcast: Permission;
  presence: Permission;
}

export const emptyPolicies = (): Policies => ({
  broadcast: { read: null, write: null },
  presence: { read: null, write: null },
});

export interface AuthorizationContext {
  /** The topic without the "realtime:" prefix. */
  topic: string;
  claims: Claims;
  role: string;
  /** The request's headers (the socket's x-* headers, or all of an HTTP request's). */
  headers: Record<string, string>;
}

export type CheckFailure =
  | { kind: 'rls_policy_error'; message: string }
  | { kind: 'missing_partition'; message: string }
  | { kind: 'query_canceled'; message: string }
  | { kind: 'database_unavailable'; message: string };

export type CheckResult = { ok: true; policies: Policies } | ({ ok: false } & CheckFailure);

type Extension = 'broadcast' | 'presence';

export interface Authorizer {
  /** Read permissions (broadcast, and presence when enabled) merged into `policies`. */
  read(
    policies: Policies,
    context: AuthorizationContext,
    options: { presence: boolean },
  ): Promise<CheckResult>;
  /** Write permissions for both extensions merged into `policies`. */
  write(policies: Policies, context: AuthorizationContext): Promise<CheckResult>;
  /** The pool of the server's own role (replay reads through it too). */
  readonly pool: pg.Pool;
  stop(): Promise<void>;
}

/** An error reported by PostgreSQL itself (as opposed to a failed connection). */
const isSqlError = (error: unknown): error is pg.DatabaseError => error instanceof pg.DatabaseError;

function classify(error: unknown): CheckFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (!isSqlError(error)) return { kind: 'database_unavailable', message };
  if (error.code === '23514' && /messages/.test(`${error.table ?? ''} ${message}`)) {
    return { kind: 'missing_partition', message };
  }
  if (error.code === '57014') return { kind: 'query_canceled', message };
  return { kind: 'rls_policy_error', message };
}

const SET_USER = `select set_config('role', $1, true),
  set_config('realtime.topic', $2, true),
  set_config('request.jwt.claims', $3, true),
  set_config('request.jwt.claim.sub', $4, true),
  set_config('request.jwt.claim.role', $5, true),
  set_config('request.headers', $6, true)`;

const userSettings = (context: AuthorizationContext) => [
  context.role,
  context.topic,
  JSON.stringify(context.claims),
  typeof context.claims.sub === 'string' ? context.claims.sub : null,
  context.role,
  JSON.stringify(context.headers),
];

// Probe rows are written the way the platform's Ecto schema writes them: every
// column given, private left NULL, timestamps in UTC.
const PROBE_COLUMNS = `(id, topic, extension, payload, binary_payload, event, private, inserted_at, updated_at)`;
const PROBE_VALUES = (id: string, topic: string) =>
  `(${id}, ${topic}, $EXT, null, null, null, null, timezone('utc', now()), timezone('utc', now()))`;

export function createAuthorizer(options: { url: string; log: Logger; maxConnections?: number }): Authorizer {
  const { log } = options;
  let stopped = false;
  const pool = restartSafePool(
    {
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'realtime_authorization',
    },
    (error) => {
      if (!stopped) log.warn(`an idle authorization connection failed: ${error.message}`);
    },
  );

  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('begin');
      return await work(client);
    } catch (error) {
      broken = !isSqlError(error);
      throw error;
    } finally {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      client.release(broken);
    }
  }

  const read: Authorizer['read'] = async (policies, context, { presence }) => {
    const extensions: Extension[] = presence ? ['broadcast', 'presence'] : ['broadcast'];
    const probes = new Map(extensions.map((extension) => [extension, randomUUID()] as const));
    try {
      const visible = await inTransaction(async (client) => {
        const values = extensions.map((_, i) =>
          PROBE_VALUES(`$${i * 3 + 1}::uuid`, `$${i * 3 + 2}`).replace('$EXT', `$${i * 3 + 3}`),
        );
        await client.query(
          `insert into realtime.messages ${PROBE_COLUMNS} values ${values.join(', ')}`,
          extensions.flatMap((extension) => [probes.get(extension), context.topic, extension]),
        );
        await client.query(SET_USER, userSettings(context));
        const { rows } = await client.query<{ id: string }>(
          'select id from realtime.messages where id = any($1::uuid[])',
          [[...probes.values()]],
        );
        return new Set(rows.map((row) => row.id));
      });
      const next = structuredClone(policies);
      for (const [extension, id] of probes) next[extension].read = visible.has(id);
      return { ok: true, policies: next };
    } catch (error) {
      return { ok: false, ...classify(error) };
    }
  };

  const write: Authorizer['write'] = async (policies, context) => {
    try {
      const allowed = await inTransaction(async (client) => {
        await client.query(SET_USER, userSettings(context));
        const result: Record<Extension, boolean> = { broadcast: false, presence: false };
        for (const extension of ['broadcast', 'presence'] as const) {
          await client.query('savepoint realtime_write_probe');
          try {
            await client.query(
              `insert into realtime.messages ${PROBE_COLUMNS} values ${PROBE_VALUES('gen_random_uuid()', '$1').replace('$EXT', '$2')}`,
              [context.topic, extension],
            );
            result[extension] = true;
            await client.query('release savepoint realtime_write_probe');
          } catch (error) {
            if (!isSqlError(error) || error.code !== '42501') throw error;
            await client.query('rollback to savepoint realtime_write_probe');
          }
        }
        return result;
      });
      const next = structuredClone(policies);
      next.broadcast.write = allowed.broadcast;
      next.presence.write = allowed.presence;
      return { ok: true, policies: next };
    } catch (error) {
      return { ok: false, ...classify(error) };
    }
  };

  return {
    read,
    write,
    pool,
    stop: () => {
      stopped = true;
      return pool.end();
    },
  };
}
