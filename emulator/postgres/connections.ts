// node-postgres connections that outlive a PostgreSQL restart. A pg Client whose
// server ends the session (57P01 on a fast shutdown, a bare close on an immediate
// one) emits 'error'; with no listener that takes the whole emulator down.
// pg-pool listens only while a client sits idle, not while it is checked out.

import pg from 'pg';

/**
 * A pool whose clients may lose their server at any time. The query in flight fails
 * with the error (callers see it), `release()` drops a dead client, and the pool
 * connects afresh on the next checkout; `onIdleError` hears of idle clients lost.
 */
export function restartSafePool(config: pg.PoolConfig, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', onIdleError);
  pool.on('connect', (client) => client.on('error', ignore));
  return pool;
}

/** A single client that ignores the 'error' event (its queries still fail with it). */
export function restartSafeClient(config: string | pg.ClientConfig): pg.Client {
  const client = new pg.Client(config);
  client.on('error', ignore);
  return client;
}

const ignore = () => undefined;
