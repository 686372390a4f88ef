// `npm run bench:realtime`: how long a database insert takes to reach a
// subscriber through the emulator and the real supabase-js, next to the floor
// measured in the same run — a bare logical-replication reader (its own
// temporary pgoutput slot, no WebSocket) that sees the same inserts.
//
// Each round sends one row with realtime.send() and waits until both the
// floor reader and the subscriber have it, so rounds do not queue behind each
// other. Latency = receipt − the moment the insert was sent. A benchmark
// reports numbers; the goal (p50 within 2× of the floor) is printed, not
// enforced.
//
//   npm run bench:realtime                 1000 rounds after 100 warm-up rounds
//   npm run bench:realtime -- --rounds 5000

import pg from 'pg';
import { quietLogger } from '../emulator/log.ts';
import { startReplication } from '../emulator/realtime/replication.ts';
import { startStack } from '../emulator/stack.ts';
import { createStackClient } from '../emulator/testing.ts';
import { numberOption, type Summary, summarize, writeResults } from './lib.ts';

const ROUNDS = numberOption('rounds', 1000);
const WARMUP = numberOption('warmup', 100);
const TOPIC = 'bench:latency';

interface Pending {
  sentAt: number;
  floorAt?: number;
  clientAt?: number;
  done: () => void;
}

const stack = await startStack({ port: 0, dbPort: 0, quiet: true, functions: false });
const pending = new Map<number, Pending>();
const settle = (seq: number) => {
  const round = pending.get(seq);
  if (round?.floorAt !== undefined && round.clientAt !== undefined) round.done();
};

const floor = startReplication({
  url: stack.database.realtimeUrl,
  log: quietLogger('floor'),
  onRow: (row) => {
    const at = performance.now();
    if (row.topic !== TOPIC || row.payload.encoding !== 'json') return;
    const seq = (JSON.parse(row.payload.text) as { seq: number }).seq;
    const round = pending.get(seq);
    if (round && round.floorAt === undefined) {
      round.floorAt = at;
      settle(seq);
    }
  },
});
await floor.whenStreaming();

const client = createStackClient(stack);
const channel = client.channel(TOPIC);
channel.on('broadcast', { event: 'tick' }, ({ payload }) => {
  const at = performance.now();
  const seq = (payload as { seq: number }).seq;
  const round = pending.get(seq);
  if (round && round.clientAt === undefined) {
    round.clientAt = at;
    settle(seq);
  }
});
await new Promise<void>((resolve, reject) =>
  channel.subscribe((status, error) => {
    if (status === 'SUBSCRIBED') resolve();
    else reject(new Error(`subscribing failed: ${status} ${error?.message ?? ''}`));
  }),
);

const writer = new pg.Client({ connectionString: stack.dbUrl });
await writer.connect();
const floorLatency: number[] = [];
const clientLatency: number[] = [];
try {
  for (let seq = 0; seq < WARMUP + ROUNDS; seq++) {
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`round ${seq} was not delivered within 10 s`)), 10_000);
      pending.set(seq, {
        sentAt: 0,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
    const round = pending.get(seq) as Pending;
    round.sentAt = performance.now();
    await writer.query(`select realtime.send(jsonb_build_object('seq', $1::int), 'tick', $2, false)`, [
      seq,
      TOPIC,
    ]);
    await arrived;
    if (seq >= WARMUP) {
      floorLatency.push((round.floorAt as number) - round.sentAt);
      clientLatency.push((round.clientAt as number) - round.sentAt);
    }
    pending.delete(seq);
  }
} finally {
  await writer.end();
  await client.removeAllChannels();
  await floor.stop();
  await stack.stop();
}

const floorStats = summarize(floorLatency);
const clientStats = summarize(clientLatency);
const ms = (value: number) => `${value.toFixed(2)} ms`.padStart(10);
const rows: [string, Summary][] = [
  ['floor: replication reader, no WebSocket', floorStats],
  ['emulator → supabase-js subscriber', clientStats],
];
console.log(`\nDatabase insert → receipt, ${ROUNDS} rounds (after ${WARMUP} warm-up), one machine\n`);
console.log(`${''.padEnd(42)}${['p50', 'p95', 'p99', 'mean', 'max'].map((h) => h.padStart(10)).join('')}`);
for (const [name, stats] of rows) {
  console.log(
    `${name.padEnd(42)}${[stats.p50, stats.p95, stats.p99, stats.mean, stats.max].map(ms).join('')}`,
  );
}
const ratio = clientStats.p50 / floorStats.p50;
console.log(
  `\np50 ratio emulator / floor: ${ratio.toFixed(2)}× (goal ≤ 2×: ${ratio <= 2 ? 'met' : 'not met'}); ` +
    `the emulator adds ${(clientStats.p50 - floorStats.p50).toFixed(2)} ms at p50\n`,
);

const file = writeResults('realtime-latency', {
  at: new Date().toISOString(),
  rounds: ROUNDS,
  warmup: WARMUP,
  floor: floorStats,
  emulator: clientStats,
  ratioP50: ratio,
});
console.log(`written to ${file}`);
process.exit(0);
