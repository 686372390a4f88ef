// Runs SQL as the caller: one transaction that switches to the caller's role and
// sets request.jwt.claims, so RLS and auth.uid() hold exactly as through the API.
// Connections come from a pool on SUPABASE_DB_URL.

import postgres from 'postgres';
import type { Caller } from './auth.ts';
import type { RpcSignature } from './schemas.ts';

export type Sql = postgres.TransactionSql;

let pool: postgres.Sql | undefined;

/** The database's URL (SUPABASE_DB_URL, set by the platform for every function). */
export function databaseUrl(): string {
  const url = Deno.env.get('SUPABASE_DB_URL');
  if (!url) throw new Error('SUPABASE_DB_URL is not set');
  return url;
}

export function database(): postgres.Sql {
  if (!pool) {
    pool = postgres(databaseUrl(), {
      max: Number(Deno.env.get('DB_POOL_SIZE') ?? 10),
      idle_timeout: 30,
      prepare: true,
      onnotice: () => {},
    });
    survivingWritesAfterClose();
  }
  return pool;
}

let guarded = false;

/**
 * postgres.js (3.4.9, the latest) can write to a connection the server has just closed: when a
 * transaction's connection ends mid-way (57P01 as PostgreSQL restarts, a terminated backend),
 * begin() still sends its ROLLBACK, and that deferred write finds no socket and throws from a
 * timer, an uncaught TypeError that would end the worker with every request in it
 * (porsager/postgres#1208). The transaction has already failed with CONNECTION_CLOSED by then;
 * only that connection is lost (it never flushes a write again), so the error stops here and
 * the pool is replaced. Any other uncaught error still ends the worker.
 */
function survivingWritesAfterClose() {
  if (guarded) return;
  guarded = true;
  globalThis.addEventListener('error', (event: ErrorEvent) => {
    const stack = event.error instanceof TypeError ? (event.error.stack ?? '') : '';
    if (!/\bnextWrite\b[^\n]*\/postgres\//.test(stack)) return;
    event.preventDefault();
    const broken = pool;
    pool = undefined;
    console.warn('a database connection closed mid-transaction; replacing the connection pool');
    // Queries still running on its other connections get a moment to finish.
    broken?.end({ timeout: 5 }).catch(() => {});
  });
}

export function asCaller<T>(caller: Caller, work: (sql: Sql) => Promise<T>): Promise<T> {
  return database().begin((sql) => {
    // Not awaited: postgres.js writes what is issued in one turn on the transaction's
    // connection together, so the settings travel with the work's first statement and
    // save a round trip. The server runs them in order; if the settings fail, the
    // transaction is aborted and the work with it (begin() then throws the settings' error).
    // request.jwt.claim.sub/.role as well, as Realtime sets them: auth.uid() and auth.role() read
    // these first and parse the claims JSON only without them (about 5 µs a call, ~10 calls a send).
    const settings = sql`select set_config('role', ${caller.role}, true),
                     set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
                     set_config('request.jwt.claim.sub', ${typeof caller.claims.sub === 'string' ? caller.claims.sub : ''}, true),
                     set_config('request.jwt.claim.role', ${caller.role}, true)`.execute();
    return Promise.all([settings, work(sql)]).then(([, result]) => result);
  }) as Promise<T>;
}

/**
 * Calls public.<rpc.name> as supabase.rpc() would have PostgREST call it: the JSON arguments by
 * name, converted to the declared types by Postgres (jsonb_to_record, so a value that does not
 * convert fails with the same SQLSTATE), absent optional ones left to the function's defaults.
 * An absent required argument goes in as null, for the SQL to refuse as it refuses a null.
 * Returns the result as JSON (a row as an object; "" for a void function).
 */
export async function callRpc<T>(sql: Sql, rpc: RpcSignature, input: Record<string, unknown>): Promise<T> {
  const { json, statement } = rpcCall(rpc, input);
  const [row] = await sql.unsafe<{ result: T }[]>(statement('$1::text'), json === undefined ? [] : [json]);
  return row?.result as T;
}

/**
 * `value` as an escape string constant: E'…' always reads a backslash as an escape, whatever
 * standard_conforming_strings says, so doubling every backslash and every quote leaves nothing
 * that could end the constant early.
 */
export function literal(value: string): string {
  return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** The call of public.<rpc.name> for callRpc: its JSON arguments, and its text given where they come from. */
function rpcCall(
  rpc: RpcSignature,
  input: Record<string, unknown>,
): { json: string | undefined; statement: (jsonText: string) => string } {
  const args = { ...input };
  for (const name of Object.keys(rpc.arguments)) if (!rpc.optional.includes(name)) args[name] ??= null;
  // Only names from the signature reach the SQL text; the values travel as one JSON text.
  const given = Object.keys(rpc.arguments).filter((name) => name in args);
  if (given.length === 0)
    return { json: undefined, statement: () => `select to_json(r) as result from public.${rpc.name}() r` };
  const columns = given.map((name) => `${name} ${rpc.arguments[name]}`).join(', ');
  const named = given.map((name) => `${name} => a.${name}`).join(', ');
  return {
    json: JSON.stringify(args),
    statement: (jsonText) =>
      `select to_json(r) as result from jsonb_to_record(${jsonText}::jsonb) as a(${columns}) ` +
      `cross join lateral public.${rpc.name}(${named}) r`,
  };
}
