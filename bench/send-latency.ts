// `npm run bench:send`: send-message → every subscriber's `message.created`,
// at sustained rates, next to a hand-written WebSocket relay (the baseline,
// bench/baselines/ws-relay.ts) measured by the same load generator.
//
// The world: 100 direct conversations of two users each; each user is signed
// in (real sign-up, real JWTs) and subscribed on a socket of its own to the
// private channel conversation:<id>:<epoch> — 200 sockets, every one authorized by RLS.
// Sends alternate between the two members of each conversation, round robin
// over the conversations, and go through the gateway to the Edge Function as a
// browser's would (HTTP/1.1 keep-alive, Authorization and apikey headers).
//
// Open loop: message i is due at start + i / rate whatever happened to the
// ones before it, and every latency is measured from that due time — so a
// backlog anywhere (load generator, gateway, Deno, pool, database,
// replication, sockets) shows up in the numbers instead of slowing the
// schedule down (no coordinated omission). A delivery is one subscriber's
// receipt of one message; each message is expected exactly once on both
// members' sockets. Missing, duplicate and stray deliveries and failed sends
// are counted and should all be 0.
//
// Every target runs in processes of its own (the stack: the emulator's Node
// process and Deno and PostgreSQL; the baseline: a Node relay and a PostgreSQL
// cluster started the same way), the load generator in this one. CPU time of
// every process is read from /proc before and after each rate, so the table
// also says what one message costs, and where.
//
// The stack's database is thrown away afterwards; its rate limits are lifted
// for the run (send_message allows a burst of 30 then 2/s per user).
//
//   npm run bench:send                                  500 and 1,000 msg/s, 10 s each, both targets
//   npm run bench:send -- --rates 250,500 --duration 20
//   npm run bench:send -- --targets stack              only the stack (or: baseline)
//   npm run bench:send -- --trace                      also: hop timestamps of 1 message in 10 (the
//                                                      emulator's x-emulator-trace header, the stored
//                                                      row's created_at, the commit time and arrival at
//                                                      a replication reader of our own)
//   npm run bench:send -- --profile                    --trace, and CPU profiles of the emulator's Node
//                                                      process (last rate) and of Deno (whole run)
// Options also come from the environment: BENCH_RATES, BENCH_DURATION, …

import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { quietLogger } from '../emulator/log.ts';
import { startReplication } from '../emulator/realtime/replication.ts';
import { createUser, type TestUser } from '../emulator/testing.ts';
import {
  type CpuSources,
  cpuSince,
  cpuSnapshot,
  flag,
  ms,
  numberOption,
  option,
  RESULTS_DIR,
  type Summary,
  summarize,
  table,
  writeResults,
} from './lib.ts';
import { forkServer, inBatches, openLoop, stopServer } from './load.ts';
import { summarizeCpuProfile, summarizeV8Log } from './profiles.ts';
import type { StackServerCommand, StackServerInfo } from './stack-server.ts';
import { startRelay } from './worlds.ts';

const RATES = option('rates', '500,1000')
  .split(',')
  .map((rate) => Number(rate.trim()))
  .filter((rate) => rate > 0);
const DURATION = numberOption('duration', 10);
const WARMUP = numberOption('warmup', 3);
const WARMUP_RATE = numberOption('warmup-rate', 200);
const CONVERSATIONS = numberOption('conversations', 100);
const DRAIN_MS = numberOption('drain', 10) * 1000;
const TARGETS = option('targets', 'stack,baseline').split(',');
const PROFILE = flag('profile');
/** Hop timestamps of sampled messages (implied by --profile). */
const TRACE = PROFILE || flag('trace');
/** With --trace: one message in N carries the emulator's trace header. */
const TRACE_EVERY = numberOption('trace-every', 10);
const SOCKETS = CONVERSATIONS * 2;
const GOAL = { rate: 1000, p50: 2, p99: 6, ratio: 1.5 };

const now = () => performance.now();
/** Wall-clock time in ms with sub-ms precision (for comparing with other processes and the database). */
const wall = () => performance.timeOrigin + performance.now();

// ── what a run records ──────────────────────────────────────────────────────

/** Timestamps of one traced message along the stack's path (wall clock, ms). */
interface Trace {
  sentWall: number;
  answeredWall?: number;
  /** From the emulator's x-emulator-trace response header. */
  hops?: Record<string, number>;
  /** The stored row's created_at: the BEFORE INSERT trigger's clock_timestamp(). */
  insertedAt?: number;
  /** Commit time and arrival at a bare replication reader (the floor), from pgoutput. */
  committedAt?: number;
  floorAt?: number;
  receivedWall: number[];
}

interface Sent {
  conversation: number;
  dueAt: number;
  sentAt: number;
  answeredAt: number;
  status: number;
  /** Receipt time per member (0: not yet). */
  received: [number, number];
  trace?: Trace;
}

class Phase {
  readonly messages: Sent[] = [];
  expected = 0;
  delivered = 0;
  answered = 0;
  duplicates = 0;
  misrouted = 0;

  constructor(readonly tag: string) {}

  receive(subscriber: number, index: number, at: number) {
    const sent = this.messages[index];
    if (!sent) {
      this.misrouted += 1;
      return;
    }
    const slot = subscriber - sent.conversation * 2;
    if (slot !== 0 && slot !== 1) {
      this.misrouted += 1;
      return;
    }
    if (sent.received[slot] !== 0) {
      this.duplicates += 1;
      return;
    }
    sent.received[slot] = at;
    this.delivered += 1;
    if (sent.trace) sent.trace.receivedWall[slot] = performance.timeOrigin + at;
  }
}

/** Routes deliveries (keyed "<phase tag>-<index>") to their phase. */
class Deliveries {
  private readonly phases = new Map<string, Phase>();
  strays = 0;

  open(tag: string): Phase {
    const phase = new Phase(tag);
    this.phases.set(tag, phase);
    return phase;
  }

  find(key: string): { phase: Phase; index: number } | undefined {
    const dash = key.lastIndexOf('-');
    const phase = this.phases.get(key.slice(0, dash));
    return phase ? { phase, index: Number(key.slice(dash + 1)) } : undefined;
  }

  deliver(subscriber: number, key: string, at: number) {
    const found = this.find(key);
    if (!found) this.strays += 1;
    else found.phase.receive(subscriber, found.index, at);
  }
}

// ── targets ─────────────────────────────────────────────────────────────────

interface Answer {
  status: number;
  at: number;
  headers?: http.IncomingHttpHeaders;
  body?: string;
}

interface Target {
  name: string;
  description: string;
  send(
    conversation: number,
    slot: number,
    key: string,
    traced: boolean,
    done: (answer: Answer) => void,
  ): void;
  cpu(): CpuSources;
  profileStart?(): Promise<void>;
  profileStop?(): Promise<string[]>;
  stop(): Promise<void>;
}

async function setUpStack(deliveries: Deliveries): Promise<Target> {
  const profileDir = RESULTS_DIR;
  const v8Log = path.join(profileDir, 'send-latency-deno.v8.log');
  if (PROFILE) rmSync(v8Log, { force: true });
  const { child, ready: info } = await forkServer<StackServerInfo>('bench/stack-server.ts', {
    BENCH_STACK_OPTIONS: JSON.stringify({ realtime: { maxConcurrentUsers: SOCKETS + 10 } }),
    // Deno passes these to V8: a tick log of the whole Deno process (see profiles.ts).
    ...(PROFILE ? { DENO_V8_FLAGS: `--prof,--no-logfile-per-isolate,--logfile=${v8Log}` } : {}),
  });
  console.log(
    `stack: up at ${info.url}; rate limits lifted in its throwaway database (${info.rateLimitsLifted})`,
  );

  const started = now();
  const users: TestUser[] = await inBatches(Array.from({ length: SOCKETS }), 8, () =>
    createUser({ url: info.url, anonKey: info.anonKey }),
  );
  console.log(`stack: ${SOCKETS} users signed up in ${((now() - started) / 1000).toFixed(1)} s`);
  const conversations = await inBatches(Array.from({ length: CONVERSATIONS }), 8, async (_, c) => {
    const [a, b] = [users[2 * c] as TestUser, users[2 * c + 1] as TestUser];
    const { data, error } = await a.client.rpc('get_or_create_direct_conversation', { other_user_id: b.id });
    if (error) throw new Error(`creating conversation ${c} failed: ${error.message}`);
    return data as { id: string; topic: string };
  });
  await inBatches(users, 20, async (user, index) => {
    const conversation = Math.floor(index / 2);
    const channel = user.client.channel(conversations[conversation]?.topic as string, {
      config: { private: true },
    });
    channel.on('broadcast', { event: 'message.created' }, (message) => {
      const at = now();
      const record = (message.payload as { record?: { client_id?: string } }).record;
      deliveries.deliver(index, record?.client_id ?? '', at);
    });
    await new Promise<void>((resolve, reject) =>
      channel.subscribe((status, error) => {
        if (status === 'SUBSCRIBED') resolve();
        else reject(new Error(`subscribing ${index} failed: ${status} ${error?.message ?? ''}`));
      }),
    );
  });
  console.log(`stack: ${SOCKETS} sockets subscribed to ${CONVERSATIONS} private conversation channels`);

  // Traced messages: commit time and arrival at a bare replication reader of our own.
  const floor = TRACE
    ? startReplication({
        url: info.realtimeDbUrl,
        log: quietLogger('floor'),
        onRow: (row) => {
          if (row.event !== 'message.created' || row.payload.encoding !== 'json') return;
          const at = wall();
          const clientId = /"client_id": ?"([^"]+)"/.exec(row.payload.text)?.[1];
          const found = clientId ? deliveries.find(clientId) : undefined;
          const trace = found?.phase.messages[found.index]?.trace;
          if (trace) {
            trace.floorAt = at;
            trace.committedAt = row.committedAt;
          }
        },
      })
    : undefined;
  await floor?.whenStreaming();

  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
  const target = new URL('/functions/v1/send-message', info.url);
  const command = (message: StackServerCommand, reply: string) =>
    new Promise<void>((resolve) => {
      const listener = (answer: Record<string, unknown>) => {
        if (answer[reply] !== undefined) {
          child.off('message', listener);
          resolve();
        }
      };
      child.on('message', listener);
      child.send(message);
    });
  const nodeProfile = path.join(profileDir, 'send-latency-node.cpuprofile');

  return {
    name: 'stack',
    description: 'send-message: gateway → Deno → Postgres (RLS, triggers) → replication → Realtime',
    send(conversation, slot, key, traced, done) {
      const user = users[conversation * 2 + slot] as TestUser;
      const body = JSON.stringify({
        conversation_id: conversations[conversation]?.id,
        client_id: key,
        body: `benchmark message ${key}`,
      });
      const request = http.request(target, {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${user.session.access_token}`,
          apikey: info.anonKey,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(traced ? { 'x-emulator-trace': '1' } : {}),
        },
      });
      request.on('response', (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () =>
          done({ status: response.statusCode ?? 0, at: now(), headers: response.headers, body: text }),
        );
      });
      request.on('error', (error) => done({ status: -1, at: now(), body: error.message }));
      request.end(body);
    },
    cpu: () => ({
      processes: {
        'load generator (this process)': process.pid,
        'node: gateway, auth, realtime': info.pid,
        'deno: edge functions': info.denoPid,
      },
      postmaster: info.postmasterPid,
    }),
    profileStart: () => command({ cmd: 'profile-start' }, 'profiling'),
    profileStop: async () => {
      await command({ cmd: 'profile-stop', file: nodeProfile }, 'profiled');
      return [nodeProfile];
    },
    async stop() {
      await floor?.stop();
      await Promise.all(users.map((user) => user.client.removeAllChannels()));
      agent.destroy();
      await stopServer(child);
    },
  };
}

async function setUpBaseline(deliveries: Deliveries): Promise<Target> {
  const conversationIds = Array.from({ length: CONVERSATIONS }, () => randomUUID());
  const relay = await startRelay(
    SOCKETS,
    (index) => [conversationIds[Math.floor(index / 2)] as string],
    (index, key, at) => deliveries.deliver(index, key, at),
  );
  console.log(`baseline: relay up on port ${relay.port}; ${SOCKETS} sockets joined ${CONVERSATIONS} rooms`);

  return {
    name: 'baseline',
    description: 'ws relay: socket → INSERT → broadcast to the room (bench/baselines/ws-relay.ts)',
    send(conversation, slot, key, _traced, done) {
      const sender = conversation * 2 + slot;
      relay.send(sender, conversationIds[conversation] as string, key, `benchmark message ${key}`, done);
    },
    cpu: () => ({
      processes: { 'load generator (this process)': process.pid, 'node: ws relay': relay.pid },
      postmaster: relay.postmaster,
    }),
    stop: () => relay.stop(),
  };
}

// ── one rate ────────────────────────────────────────────────────────────────

interface PhaseResult {
  target: string;
  rate: number;
  seconds: number;
  messages: number;
  /** Sends per second actually made (first to last send). */
  achievedRate: number;
  failedSends: number;
  failures: string[];
  deliveries: { expected: number; received: number; missing: number; duplicates: number; misrouted: number };
  /** Due time → each subscriber's receipt. */
  latency: Summary;
  /** Due time → the sender's answer (HTTP response; the relay's echo). */
  answer: Summary;
  /** Due time → the request actually written (the load generator's own lag). */
  lag: Summary;
  /** CPU ms used per process group during the phase, and per message. */
  cpuMs: Record<string, number>;
  cpuUsPerMessage: Record<string, number>;
  traces: Trace[];
}

async function runPhase(
  target: Target,
  deliveries: Deliveries,
  tag: string,
  rate: number,
  seconds: number,
): Promise<PhaseResult> {
  const phase = deliveries.open(tag);
  const total = Math.round(rate * seconds);
  const failures: string[] = [];
  const cpuBefore = cpuSnapshot(target.cpu());

  await openLoop(rate, total, (index, dueAt) => {
    const conversation = index % CONVERSATIONS;
    const slot = Math.floor(index / CONVERSATIONS) % 2;
    const traced = TRACE && index % TRACE_EVERY === 0;
    const sent: Sent = {
      conversation,
      dueAt,
      sentAt: now(),
      answeredAt: 0,
      status: 0,
      received: [0, 0],
      trace: traced ? { sentWall: wall(), receivedWall: [0, 0] } : undefined,
    };
    phase.messages[index] = sent;
    phase.expected += 2;
    target.send(conversation, slot, `${tag}-${index}`, traced, (answer) => {
      sent.answeredAt = answer.at;
      sent.status = answer.status;
      phase.answered += 1;
      if (answer.status < 200 || answer.status >= 300) {
        if (failures.length < 5) failures.push(`${answer.status} ${answer.body ?? ''}`.slice(0, 300));
      }
      if (sent.trace) {
        sent.trace.answeredWall = performance.timeOrigin + answer.at;
        const header = answer.headers?.['x-emulator-trace'];
        if (typeof header === 'string') {
          sent.trace.hops = Object.fromEntries(
            header.split(',').map((pair) => {
              const [name, value] = pair.split('=');
              return [name?.trim() ?? '', Number(value)];
            }),
          );
        }
        const createdAt = answer.body
          ? (JSON.parse(answer.body) as { created_at?: string }).created_at
          : undefined;
        if (createdAt) sent.trace.insertedAt = parsePgTimestamp(createdAt);
      }
    });
  });

  const deadline = now() + DRAIN_MS;
  while ((phase.delivered < phase.expected || phase.answered < total) && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cpu = cpuSince(cpuBefore, cpuSnapshot(target.cpu()));

  const latency: number[] = [];
  const answers: number[] = [];
  const lag: number[] = [];
  let failedSends = 0;
  let firstSent = Number.POSITIVE_INFINITY;
  let lastSent = 0;
  for (const sent of phase.messages) {
    lag.push(sent.sentAt - sent.dueAt);
    firstSent = Math.min(firstSent, sent.sentAt);
    lastSent = Math.max(lastSent, sent.sentAt);
    if (sent.answeredAt) answers.push(sent.answeredAt - sent.dueAt);
    if (sent.status < 200 || sent.status >= 300) failedSends += 1;
    for (const at of sent.received) if (at) latency.push(at - sent.dueAt);
  }
  const cpuMs = Object.fromEntries([...cpu].sort((a, b) => b[1] - a[1]));
  return {
    target: target.name,
    rate,
    seconds,
    messages: total,
    achievedRate: total > 1 ? ((total - 1) * 1000) / (lastSent - firstSent) : total,
    failedSends,
    failures,
    deliveries: {
      expected: phase.expected,
      received: phase.delivered,
      missing: phase.expected - phase.delivered,
      duplicates: phase.duplicates,
      misrouted: phase.misrouted,
    },
    latency: summarize(latency),
    answer: summarize(answers),
    lag: summarize(lag),
    cpuMs,
    cpuUsPerMessage: Object.fromEntries(
      Object.entries(cpuMs).map(([group, used]) => [group, Math.round((used * 1000) / total)]),
    ),
    traces: phase.messages.flatMap((sent) => (sent.trace ? [sent.trace] : [])),
  };
}

/** A PostgreSQL timestamptz as JSON gives it ("2026-11-22T01:09:54.98495+00:00") → epoch ms with µs. */
function parsePgTimestamp(text: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(text);
  if (!match) return Number.NaN;
  const fraction = Number(`0.${match[2] ?? '0'}`);
  return Date.parse(`${match[1]}${match[3] || 'Z'}`) + fraction * 1000;
}

// ── the hop breakdown (with --profile) ──────────────────────────────────────

const HOPS: [string, (trace: Trace) => number | undefined][] = [
  [
    'client → gateway hands the request to the functions service',
    (t) => diff(t.hops?.service_in, t.sentWall),
  ],
  ['gateway: verify_jwt (ES256) before proxying', (t) => diff(t.hops?.proxy_out, t.hops?.service_in)],
  ['proxy → Deno handler starts (HTTP to Deno)', (t) => diff(t.hops?.deno_in, t.hops?.proxy_out)],
  [
    'Deno: JWT verify, body, zod, pool, BEGIN, set_config → INSERT reached',
    (t) => diff(t.insertedAt, t.hops?.deno_in),
  ],
  ['SQL: INSERT → COMMIT (triggers, 4 realtime rows, commit)', (t) => diff(t.committedAt, t.insertedAt)],
  ['commit → Deno handler returns', (t) => diff(t.hops?.deno_out, t.committedAt)],
  ['Deno → gateway → client has the answer', (t) => diff(t.answeredWall, t.hops?.deno_out)],
  ['commit → row at a replication reader (floor)', (t) => diff(t.floorAt, t.committedAt)],
  ['replication reader → subscriber has it (Realtime push)', (t) => lastReceipt(t, t.floorAt)],
  ['send → every subscriber has it (end to end)', (t) => lastReceipt(t, t.sentWall)],
];

function diff(later: number | undefined, earlier: number | undefined): number | undefined {
  return later === undefined || earlier === undefined || Number.isNaN(later) || Number.isNaN(earlier)
    ? undefined
    : later - earlier;
}

function lastReceipt(trace: Trace, from: number | undefined): number | undefined {
  if (trace.receivedWall.some((at) => at === 0)) return undefined;
  return diff(Math.max(...trace.receivedWall), from);
}

function hopTable(traces: Trace[]): { text: string; hops: Record<string, Summary> } {
  const hops: Record<string, Summary> = {};
  const rows = HOPS.map(([name, measure]) => {
    const samples = traces.map(measure).filter((value): value is number => value !== undefined);
    const summary = summarize(samples);
    hops[name] = summary;
    return [name, String(summary.count), ms(summary.p50), ms(summary.p95), ms(summary.p99), ms(summary.mean)];
  });
  return { text: table(['hop (sampled messages)', 'n', 'p50', 'p95', 'p99', 'mean'], rows), hops };
}

// ── main ────────────────────────────────────────────────────────────────────

const deliveries = new Deliveries();
const results: PhaseResult[] = [];
const profiles: Record<string, unknown> = {};
const loadBefore = os.loadavg();
console.log(
  `bench:send — ${CONVERSATIONS} conversations × 2 members, ${SOCKETS} sockets; rates ${RATES.join(', ')} msg/s for ` +
    `${DURATION} s each after ${WARMUP} s at ${WARMUP_RATE} msg/s; ${os.cpus().length} CPUs, load average ` +
    `${loadBefore.map((value) => value.toFixed(2)).join(' ')}`,
);

for (const name of TARGETS) {
  const target =
    name === 'stack'
      ? await setUpStack(deliveries)
      : name === 'baseline'
        ? await setUpBaseline(deliveries)
        : undefined;
  if (!target) throw new Error(`unknown target ${name} (use stack and/or baseline)`);
  try {
    if (WARMUP > 0) await runPhase(target, deliveries, `${name}w`, WARMUP_RATE, WARMUP);
    for (const rate of RATES) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const profiling = PROFILE && rate === RATES[RATES.length - 1] && target.profileStart !== undefined;
      if (profiling) await target.profileStart?.();
      const result = await runPhase(target, deliveries, `${name}${rate}`, rate, DURATION);
      if (profiling) {
        for (const file of (await target.profileStop?.()) ?? [])
          profiles[`node @ ${rate} msg/s`] = summarizeCpuProfile(file);
      }
      results.push(result);
      console.log(
        `${name} @ ${rate} msg/s: p50 ${ms(result.latency.p50)}, p99 ${ms(result.latency.p99)}, ` +
          `missing ${result.deliveries.missing}, failed sends ${result.failedSends}`,
      );
      for (const failure of result.failures) console.log(`  a failed send: ${failure}`);
    }
  } finally {
    await target.stop();
  }
  if (name === 'stack' && PROFILE) {
    const v8Log = path.join(RESULTS_DIR, 'send-latency-deno.v8.log');
    if (existsSync(v8Log)) profiles['deno (whole run)'] = summarizeV8Log(v8Log);
  }
}

// ── report ──────────────────────────────────────────────────────────────────

const fmtRate = (value: number) => value.toFixed(0);
console.log(
  `\nsend → every subscriber's receipt, open loop, latency from the due time; ${CONVERSATIONS} conversations × 2 ` +
    `members, each member on its own socket (${SOCKETS} sockets)\n`,
);
console.log(
  table(
    [
      'target',
      'msg/s',
      'sent/s',
      'deliveries',
      'missing',
      'dup',
      'failed',
      'p50',
      'p95',
      'p99',
      'max',
      'answer p50',
      'answer p99',
      'gen lag p99',
    ],
    results.map((r) => [
      r.target,
      String(r.rate),
      fmtRate(r.achievedRate),
      String(r.deliveries.received),
      String(r.deliveries.missing),
      String(r.deliveries.duplicates + r.deliveries.misrouted),
      String(r.failedSends),
      ms(r.latency.p50),
      ms(r.latency.p95),
      ms(r.latency.p99),
      ms(r.latency.max),
      ms(r.answer.p50),
      ms(r.answer.p99),
      ms(r.lag.p99),
    ]),
  ),
);
if (deliveries.strays > 0)
  console.log(`\n${deliveries.strays} deliveries of messages no phase sent (strays)`);

const ratios: { rate: number; p50: number; p99: number }[] = [];
for (const rate of RATES) {
  const stack = results.find((r) => r.target === 'stack' && r.rate === rate);
  const baseline = results.find((r) => r.target === 'baseline' && r.rate === rate);
  if (stack && baseline) {
    ratios.push({
      rate,
      p50: stack.latency.p50 / baseline.latency.p50,
      p99: stack.latency.p99 / baseline.latency.p99,
    });
  }
}
if (ratios.length > 0) {
  console.log(
    `\nstack / baseline: ${ratios.map((r) => `${r.rate} msg/s p50 ${r.p50.toFixed(1)}×, p99 ${r.p99.toFixed(1)}×`).join('; ')}`,
  );
}

console.log('\nCPU per message (µs, all processes of the target, over the phase incl. drain):\n');
const groups = [...new Set(results.flatMap((r) => Object.keys(r.cpuUsPerMessage)))];
console.log(
  table(
    ['process', ...results.map((r) => `${r.target} ${r.rate}`)],
    [
      ...groups.map((group) => [group, ...results.map((r) => String(r.cpuUsPerMessage[group] ?? '—'))]),
      [
        'total',
        ...results.map((r) =>
          String(Object.values(r.cpuUsPerMessage).reduce((sum, value) => sum + value, 0)),
        ),
      ],
    ],
  ),
);

const goalStack = results.find((r) => r.target === 'stack' && r.rate === GOAL.rate);
const goalRatio = ratios.find((r) => r.rate === GOAL.rate);
if (goalStack) {
  const dropped = goalStack.deliveries.missing + goalStack.deliveries.duplicates + goalStack.failedSends;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    `\ngoal at ${GOAL.rate} msg/s: p50 ≤ ${GOAL.p50} ms ${verdict(goalStack.latency.p50 <= GOAL.p50)} ` +
      `(${ms(goalStack.latency.p50)}); p99 ≤ ${GOAL.p99} ms ${verdict(goalStack.latency.p99 <= GOAL.p99)} ` +
      `(${ms(goalStack.latency.p99)}); nothing dropped ${verdict(dropped === 0)} (${dropped})` +
      (goalRatio
        ? `; within ${GOAL.ratio}× of the baseline ${verdict(goalRatio.p50 <= GOAL.ratio && goalRatio.p99 <= GOAL.ratio)} ` +
          `(p50 ${goalRatio.p50.toFixed(1)}×, p99 ${goalRatio.p99.toFixed(1)}×)`
        : ''),
  );
}

const traced = results.filter((r) => r.traces.length > 0);
const hopResults: Record<string, Record<string, Summary>> = {};
for (const result of traced) {
  const { text, hops } = hopTable(result.traces);
  hopResults[`${result.target} ${result.rate}`] = hops;
  console.log(
    `\nwhere the time goes: ${result.target} @ ${result.rate} msg/s, 1 message in ${TRACE_EVERY}\n`,
  );
  console.log(text);
}
for (const [name, summary] of Object.entries(profiles)) {
  console.log(`\nCPU profile: ${name}\n`);
  console.log((summary as { text: string }).text);
}

const file = writeResults('send-latency', {
  at: new Date().toISOString(),
  options: {
    rates: RATES,
    duration: DURATION,
    warmup: WARMUP,
    warmupRate: WARMUP_RATE,
    conversations: CONVERSATIONS,
  },
  machine: { cpus: os.cpus().length, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
  results: results.map(({ traces, ...rest }) => ({ ...rest, tracedMessages: traces.length })),
  ratios,
  hops: hopResults,
  profiles: Object.fromEntries(
    Object.entries(profiles).map(([name, value]) => [name, (value as { data: unknown }).data]),
  ),
});
console.log(`\nwritten to ${file}`);
process.exit(0);
