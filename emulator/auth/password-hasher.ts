// Password hashing for Auth: bcrypt (cost 10, `$2b$` hashes; `$2a$`/`$2y$` ones
// verify too), run by a small pool of worker threads. bcrypt is CPU work by
// design; on the main thread a burst of sign-ins would stall REST, Realtime and
// the Functions proxy, which share that thread.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  stop(): Promise<void>;
}

type Job = { password: string; cost?: number; hash?: string };
type Reply = { id: number; result?: string | boolean; error?: string };

interface PooledWorker {
  worker: Worker;
  pending: Map<number, { resolve: (value: string | boolean) => void; reject: (error: Error) => void }>;
}

const WORKER_FILE = new URL('./password-worker.mjs', import.meta.url);
/** Supabase Auth's bcrypt cost. */
const COST = 10;

export function createPasswordHasher(): PasswordHasher {
  // One core is left to the event loop; a few workers are plenty for sign-ins.
  const poolSize = Math.max(1, Math.min(4, availableParallelism() - 1));
  const pool: PooledWorker[] = [];
  let nextId = 0;
  let stopped = false;

  const spawn = (): PooledWorker => {
    const entry: PooledWorker = { worker: new Worker(WORKER_FILE), pending: new Map() };
    const failAll = (error: Error) => {
      for (const { reject } of entry.pending.values()) reject(error);
      entry.pending.clear();
      const at = pool.indexOf(entry);
      if (at >= 0) pool.splice(at, 1);
    };
    entry.worker.on('message', ({ id, result, error }: Reply) => {
      const job = entry.pending.get(id);
      entry.pending.delete(id);
      if (error !== undefined || result === undefined) job?.reject(new Error(error ?? 'no result'));
      else job?.resolve(result);
    });
    entry.worker.on('error', failAll);
    entry.worker.on('exit', (code) => {
      if (entry.pending.size > 0) failAll(new Error(`the password worker exited (code ${code})`));
    });
    // An idle pool must not keep the process alive.
    entry.worker.unref();
    pool.push(entry);
    return entry;
  };

  const run = (job: Job): Promise<string | boolean> => {
    if (stopped) return Promise.reject(new Error('the password hasher is stopped'));
    // The least busy worker, or a new one while the pool is not full.
    const idle = pool.find((entry) => entry.pending.size === 0);
    const entry =
      idle ??
      (pool.length < poolSize ? spawn() : pool.reduce((a, b) => (b.pending.size < a.pending.size ? b : a)));
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      entry.worker.postMessage({ id, ...job });
    });
  };

  return {
    hash: async (password) => (await run({ password, cost: COST })) as string,
    verify: async (password, hash) => (await run({ password, hash })) as boolean,
    stop: async () => {
      stopped = true;
      await Promise.all(pool.splice(0).map((entry) => entry.worker.terminate()));
    },
  };
}
