// A throwaway emulator stack in a process of its own, for benchmarks whose
// load generator must not share an event loop with the servers it measures.
// Started with child_process.fork() by a benchmark; talks over the IPC channel:
//
//   → {ready: StackServerInfo}               once the stack is up
//   ← {cmd: 'profile-start'}                 starts the V8 CPU profiler of this process
//   ← {cmd: 'profile-stop', file}            writes the profile (.cpuprofile) → {profiled: file}
//   ← {cmd: 'stop'}                          stops the stack and exits
//
// Options arrive as JSON in the environment variable BENCH_STACK_OPTIONS
// (realtime limits). It lifts the database's rate limits — this database is
// thrown away when the process ends — and Auth's per-address limits (every
// simulated user signs up from 127.0.0.1).

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import pg from 'pg';
import type { Logger } from '../emulator/log.ts';
import type { RealtimeLimits } from '../emulator/realtime/index.ts';
import { startStack } from '../emulator/stack.ts';

export interface StackServerInfo {
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  dbUrl: string;
  dbAdminUrl: string | undefined;
  /** As the Realtime server's role (the superuser), for a replication reader of one's own. */
  realtimeDbUrl: string;
  /** This process (gateway, auth, REST, Realtime). */
  pid: number;
  denoPid: number | undefined;
  postmasterPid: number | undefined;
  rateLimitsLifted: string;
}

export interface StackServerOptions {
  realtime?: Partial<RealtimeLimits>;
}

export type StackServerCommand =
  | { cmd: 'profile-start' }
  | { cmd: 'profile-stop'; file: string }
  | { cmd: 'stop' };

const options = JSON.parse(process.env.BENCH_STACK_OPTIONS ?? '{}') as StackServerOptions;
const send = (message: unknown) => process.send?.(message);

// Warnings and errors, but not a flood of them when the stack is overloaded.
const SHOWN = 10;
let logged = 0;
const limitedLogger = (service: string): Logger => {
  const write = (level: string) => (message: string) => {
    logged += 1;
    if (logged <= SHOWN) console.error(`${level} [${service}] ${message.split('\n')[0]}`);
    else if (logged === SHOWN + 1)
      console.error(`(further warnings and errors of the stack are counted, not shown)`);
  };
  return { info: () => {}, warn: write('warn'), error: write('error'), child: limitedLogger };
};

const stack = await startStack({
  port: 0,
  dbPort: 0,
  log: limitedLogger('emulator'),
  realtime: options.realtime,
  authRateLimits: false,
});
const lift = 'update private.rate_limit_rules set capacity = 1000000, refill_per_second = 1000000';
const admin = new pg.Client({ connectionString: stack.dbAdminUrl ?? stack.dbUrl });
await admin.connect();
await admin.query(lift);
await admin.end();

const [postmasterPid, denoPid] = [
  stack.database.cluster?.pid,
  stack.processIds().find((pid) => pid !== stack.database.cluster?.pid),
];
const info: StackServerInfo = {
  url: stack.url,
  anonKey: stack.anonKey,
  serviceRoleKey: stack.serviceRoleKey,
  dbUrl: stack.dbUrl,
  dbAdminUrl: stack.dbAdminUrl,
  realtimeDbUrl: stack.database.realtimeUrl,
  pid: process.pid,
  denoPid,
  postmasterPid,
  rateLimitsLifted: lift,
};

const inspector = new Session();
const post = <T>(method: string, params?: object) =>
  new Promise<T>((resolve, reject) =>
    inspector.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
  );

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  if (logged > SHOWN) console.error(`the stack logged ${logged} warnings and errors in all`);
  process.exit(0);
};

process.on('message', (message: StackServerCommand) => {
  if (message.cmd === 'stop') void stop();
  else if (message.cmd === 'profile-start') {
    inspector.connect();
    void post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
      .then(() => post('Profiler.start'))
      .then(() => send({ profiling: true }));
  } else if (message.cmd === 'profile-stop') {
    void post<{ profile: unknown }>('Profiler.stop').then(({ profile }) => {
      writeFileSync(message.file, JSON.stringify(profile));
      inspector.disconnect();
      send({ profiled: message.file });
    });
  }
});
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
send({ ready: info });
