// `npm run bench`: the benchmark suite. Against the stack (the emulator: its
// Node process, Deno, PostgreSQL) and its baselines, measured by one load
// generator in this process:
//
// - send → each receiver at sustained open-loop rates, 200 users in 100 direct
//   conversations, each on its own socket: ours (send-message), the relay
//   (bench/baselines/ws-relay.ts), the floor (a raw INSERT into
//   realtime.messages: replication → Realtime → socket, no send path), and
//   3-second polling (send-message, then get_messages every 3 s per client);
// - what receiving costs the database with nothing sent: database
//   transactions per second per client, polling and on sockets;
// - group fan-out: one group of 100 online members, the time until all 100
//   have each message, ours and the relay;
// - catch-up: a client (the client library, createChat) offline while 10,000
//   messages arrive, the time from its reconnect until it holds them all;
// - with --find-max: the highest rate each of ours, relay and floor sustains
//   with p99 ≤ 50 ms and nothing missing, duplicated or failed (doubling,
//   then bisecting).
//
// Latency is measured from each message's due time (no coordinated omission,
// see bench/send-latency.ts). Numbers, no verdicts: the machine may be shared.
// Writes bench/results/bench.json, bench.md (the README block) and bench.svg.
//
//   npm run bench                              a few minutes
//   npm run bench -- --quick                   one rate, 5 s phases, 2,000 messages to catch up
//   npm run bench -- --find-max                also the highest sustained rates (a few minutes more)
//   npm run bench -- --only catch-up,idle      some of: rates, polling, group, idle, catch-up, find-max
//   npm run bench -- --rates 250,500,1000 --duration 20 --catch-up 10000 --note "idle machine"
//   npm run bench -- --report [--from file]    redraw bench.md and bench.svg from a results JSON
//   npm run bench -- --publish [--from file]   …and copy them to docs/bench/ and into README.md
// Options also come from the environment: BENCH_RATES, BENCH_DURATION, …

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import pg from 'pg';
import WebSocket from 'ws';
import { createChat, memoryStorage, singleTab } from '../client/src/index.ts';
import { PROJECT_DIR } from '../emulator/stack.ts';
import { createUser } from '../emulator/testing.ts';
import {
  type CpuSources,
  cpuSince,
  cpuSnapshot,
  flag,
  ms,
  numberOption,
  option,
  RESULTS_DIR,
} from './lib.ts';
import { type Answer, now, openLoop, outcome, type Recording, Router, sleep } from './load.ts';
import {
  type CatchUp,
  chart,
  type FindMax,
  markdownReport,
  type Phase,
  provenance,
  type ReceiveCost,
  type SuiteResults,
  type TargetName,
  textReport,
} from './report.ts';
import { type Room, type StackWorld, startRelayWorld, startStackWorld } from './worlds.ts';

const QUICK = flag('quick');
const list = (text: string) =>
  text
    .split(',')
    .map((value) => Number(value.trim()))
    .filter((value) => value > 0);
const RATES = list(option('rates', QUICK ? '250' : '250,500'));
const DURATION = numberOption('duration', QUICK ? 5 : 10);
const WARMUP = numberOption('warmup', QUICK ? 2 : 3);
const DRAIN_MS = numberOption('drain', 10) * 1000;
const USERS = numberOption('users', 200);
const GROUP = numberOption('group', 100);
const GROUP_RATE = numberOption('group-rate', 20);
const GROUP_DURATION = numberOption('group-duration', QUICK ? 5 : 10);
const POLL_EVERY_MS = numberOption('poll-every', 3) * 1000;
const CATCH_UP = numberOption('catch-up', QUICK ? 2000 : 10000);
const CATCH_UP_BATCH = 20;
const IDLE_SECONDS = numberOption('idle', QUICK ? 6 : 9);
const SCENARIOS = new Set([
  ...option('only', 'rates,polling,group,idle,catch-up').split(','),
  ...(flag('find-max') ? ['find-max'] : []),
]);
const FIND_MAX = SCENARIOS.has('find-max');
const FIND_MAX_START = numberOption('find-max-start', 250);
const FIND_MAX_LIMIT = numberOption('find-max-limit', 16000);
const FIND_MAX_DURATION = numberOption('find-max-duration', 5);
const FIND_MAX_BISECT = numberOption('find-max-bisect', 3);
const P99_BAR_MS = 50;
const NOTE = option('note', '');
const FROM = option('from', path.join(RESULTS_DIR, 'bench.json'));
if (USERS % 2 !== 0 || GROUP > USERS || GROUP < 2) throw new Error('--users must be even and ≥ --group ≥ 2');

const started = now();
const elapsed = () => `${((now() - started) / 1000).toFixed(0).padStart(4)} s`;
const progress = (text: string) => console.log(`[${elapsed()}] ${text}`);

// ── loads ───────────────────────────────────────────────────────────────────

/** Sends message `index` (already recorded as sent) and records its answer. */
type Fire = (recording: Recording, index: number) => void;

interface Target {
  name: TargetName;
  /** A message into direct conversation `conversation` from its member `slot`. */
  pair: (conversation: number, slot: number) => Fire;
  /** A message into the group from member `sender`. */
  group?: (sender: number) => Fire;
  cpu(): CpuSources;
  /** Ends what the target holds beside its world. */
  stop?(): Promise<void>;
}

const router = new Router();
const phases: Phase[] = [];
let tags = 0;

/** The pieces of a world that a target sending as its users needs (the stack's or the relay's). */
interface Senders<R> {
  pairs: R[];
  group: R;
  send(sender: number, room: R, key: string, done: (answer: Answer) => void): void;
  cpu(): CpuSources;
}

/** Sends as the world's users: ours through send-message, the relay's over its sockets. */
function sendingTarget<R>(name: TargetName, world: Senders<R>): Target {
  const via =
    (sender: number, room: R): Fire =>
    (recording, index) =>
      world.send(sender, room, recording.key(index), (answer) => recording.answer(index, answer));
  return {
    name,
    pair: (c, slot) => via(2 * c + slot, world.pairs[c] as R),
    group: (sender) => via(sender, world.group),
    cpu: world.cpu,
  };
}

function floorTarget(world: StackWorld): Target {
  const insert =
    'insert into realtime.messages (topic, extension, event, payload, private) ' +
    `values ($1, 'broadcast', 'message.created', $2, true)`;
  // The floor's own pool, as big as the relay's.
  const pool = new pg.Pool({ connectionString: world.info.dbAdminUrl ?? world.info.dbUrl, max: 10 });
  return {
    name: 'floor',
    pair: (c) => (recording, index) => {
      const topic = (world.pairs[c] as Room).topic;
      pool.query(insert, [topic, { record: { client_id: recording.key(index) } }]).then(
        () => recording.answer(index, { status: 200, at: now() }),
        (error: Error) => recording.answer(index, { status: -1, at: now(), body: error.message }),
      );
    },
    cpu: world.cpu,
    stop: () => pool.end(),
  };
}

const CONVERSATIONS = USERS / 2;
const pairLoad = (target: Target) => (recording: Recording, index: number, dueAt: number) => {
  const c = index % CONVERSATIONS;
  const slot = Math.floor(index / CONVERSATIONS) % 2;
  recording.sent(index, dueAt, [2 * c, 2 * c + 1]);
  target.pair(c, slot)(recording, index);
};
const groupMembers = Array.from({ length: GROUP }, (_, i) => i);
const groupLoad = (target: Target) => (recording: Recording, index: number, dueAt: number) => {
  recording.sent(index, dueAt, groupMembers);
  target.group?.(index % GROUP)(recording, index);
};

interface Run {
  target: Target;
  scenario: Phase['scenario'];
  rate: number;
  seconds: number;
  load: (target: Target) => (recording: Recording, index: number, dueAt: number) => void;
  /** How receivers get the messages (polling: by get_messages). */
  via?: 'socket' | 'poll';
  clients?: number;
  drainMs?: number;
}

async function run(spec: Run): Promise<Phase> {
  const { target, rate, seconds } = spec;
  const recording = router.open(`${target.name}${spec.scenario}${tags++}`, spec.via ?? 'socket');
  const cpuBefore = cpuSnapshot(target.cpu());
  const total = Math.round(rate * seconds);
  await openLoop(rate, total, spec.load(target).bind(null, recording));
  await recording.drain(spec.drainMs ?? DRAIN_MS);
  const cpu = cpuSince(cpuBefore, cpuSnapshot(target.cpu()));
  const clients = spec.clients ?? USERS;
  const cpuUsPerMessage = Object.fromEntries(
    [...cpu].sort((a, b) => b[1] - a[1]).map(([group, used]) => [group, Math.round((used * 1000) / total)]),
  );
  const phase: Phase = {
    target: target.name,
    scenario: spec.scenario,
    rate,
    seconds,
    clients,
    ...outcome(recording),
    cpuUsPerMessage,
    cpuUsPerMessageTotal: Object.values(cpuUsPerMessage).reduce((sum, value) => sum + value, 0),
    loadavg: os.loadavg()[0],
  };
  const latency = spec.scenario === 'group' ? phase.all : phase.latency;
  progress(
    `${target.name} ${spec.scenario} @ ${rate} msg/s: p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, ` +
      `missing ${phase.deliveries.missing}, dup ${phase.deliveries.duplicates + phase.deliveries.misrouted}, ` +
      `failed ${phase.failedSends}, generator lag p99 ${ms(phase.lag.p99)}`,
  );
  for (const failure of phase.failures) console.log(`  a failed send: ${failure}`);
  if (recording.answered < total) {
    // What is still queued would slow the next phase down: let it clear (not counted).
    progress(`  ${total - recording.answered} sends unanswered: waiting for the backlog to clear`);
    await recording.settle(60_000);
  }
  await sleep(1000);
  return phase;
}

const meetsBar = (phase: Phase) =>
  phase.latency.p99 <= P99_BAR_MS &&
  phase.deliveries.missing === 0 &&
  phase.deliveries.duplicates + phase.deliveries.misrouted === 0 &&
  phase.failedSends === 0;

/** Doubles the rate until the bar is missed (twice in a row), then bisects between the last pass and the first miss. */
async function findMax(target: Target): Promise<FindMax> {
  const steps: FindMax['steps'] = [];
  const once = async (rate: number) => {
    const phase = await run({
      target,
      scenario: 'find-max',
      rate,
      seconds: FIND_MAX_DURATION,
      load: pairLoad,
    });
    phases.push(phase);
    const ok = meetsBar(phase);
    steps.push({
      rate,
      ok,
      p99: phase.latency.p99,
      missing: phase.deliveries.missing,
      failed: phase.failedSends,
      achieved: Math.round(phase.achievedRate),
    });
    return ok;
  };
  // A miss is tried again, so that one hiccup of a shared machine does not end the search.
  const attempt = async (rate: number) => (await once(rate)) || (await once(rate));
  let passed = 0;
  let failed: number | undefined;
  for (let rate = FIND_MAX_START; rate <= FIND_MAX_LIMIT; rate *= 2) {
    if (!(await attempt(rate))) {
      failed = rate;
      break;
    }
    passed = rate;
  }
  for (let i = 0; i < FIND_MAX_BISECT && failed !== undefined; i++) {
    const mid = Math.round((passed + failed) / 2 / 25) * 25;
    if (mid <= passed || mid >= failed) break;
    if (await attempt(mid)) passed = mid;
    else failed = mid;
  }
  progress(`${target.name}: highest rate meeting the bar ${passed || 'none'} msg/s`);
  return { target: target.name, max: passed, failedAt: failed, steps };
}

// ── polling ─────────────────────────────────────────────────────────────────

interface Pollers {
  /** get_messages calls so far. */
  requests(): number;
  stop(): Promise<void>;
}

/** Every user polls get_messages for its direct conversation every POLL_EVERY_MS (staggered), from now on. */
async function startPollers(world: StackWorld): Promise<Pollers> {
  const { rows } = await world.admin.query<{ id: string; seq: string }>(
    'select conversation_id as id, max(seq) as seq from public.messages group by 1',
  );
  const cursors = new Map(rows.map((row) => [row.id, Number(row.seq)]));
  let requests = 0;
  let stopped = false;
  const loops = world.users.map(async (user, index) => {
    const room = world.pairs[Math.floor(index / 2)] as Room;
    let cursor = cursors.get(room.id) ?? 0;
    await sleep(Math.random() * POLL_EVERY_MS);
    while (!stopped) {
      const due = now() + POLL_EVERY_MS;
      for (let full = true; full && !stopped; ) {
        requests += 1;
        const { data, error } = await user.client.rpc('get_messages', {
          conversation_id: room.id,
          after_seq: cursor,
          max_rows: 200,
        });
        const at = now();
        if (error) throw new Error(`get_messages failed: ${error.message}`);
        const rows = data as { seq: number; client_id: string }[];
        for (const row of rows) {
          router.deliver('poll', index, row.client_id, at);
          cursor = Math.max(cursor, Number(row.seq));
        }
        full = rows.length === 200;
      }
      await sleep(Math.max(0, due - now()));
    }
  });
  return {
    requests: () => requests,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function pollingPhase(world: StackWorld, rate: number): Promise<Phase> {
  const polling = await startPollers(world);
  try {
    return await run({
      target: sendingTarget('polling', world),
      scenario: 'rate',
      rate,
      seconds: DURATION,
      load: pairLoad,
      via: 'poll',
      drainMs: POLL_EVERY_MS * 2 + DRAIN_MS,
    });
  } finally {
    await polling.stop();
  }
}

async function transactionsOf(admin: pg.Pool): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'select sum(xact_commit + xact_rollback)::float8 as n from pg_stat_database',
  );
  return rows[0]?.n ?? 0;
}

/**
 * Database transactions per second per client while nothing is sent: the
 * clients on their sockets alone, then polling. A backend reports its
 * statistics up to 10 s late once idle, so each window follows 11 s in which
 * only what it measures runs.
 */
async function receiveCost(world: StackWorld): Promise<ReceiveCost> {
  const seconds = IDLE_SECONDS;
  const perClient = async () => {
    const before = await transactionsOf(world.admin);
    await sleep(seconds * 1000);
    // Less the statistics query of its own.
    return ((await transactionsOf(world.admin)) - before - 1) / seconds / USERS;
  };
  const polling = await startPollers(world);
  let pollingCost: number;
  let pollingRequests: number;
  try {
    await sleep(11_000);
    const requestsBefore = polling.requests();
    pollingCost = await perClient();
    pollingRequests = (polling.requests() - requestsBefore) / seconds / USERS;
  } finally {
    await polling.stop();
  }
  await sleep(11_000);
  const ours = await perClient();
  const cost = { seconds, clients: USERS, ours, polling: pollingCost, pollingRequests };
  progress(
    `receiving, nothing sent: ${cost.polling.toFixed(3)} database transactions/s per client polling ` +
      `(${cost.pollingRequests.toFixed(3)} calls/s), ${cost.ours.toFixed(3)} on sockets`,
  );
  return cost;
}

// ── catch-up ────────────────────────────────────────────────────────────────

async function waitUntil(check: () => boolean, what: string, timeoutMs: number) {
  const deadline = now() + timeoutMs;
  while (!check()) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * A reader on the client library, offline (its socket cut, every request and
 * reconnect failing) while a writer sends CATCH_UP messages; then back online.
 */
async function catchUp(world: StackWorld): Promise<CatchUp> {
  const [reader, writer] = await Promise.all([createUser(world.info), createUser(world.info)]);
  // Offline, or once back online: when the first request got through again.
  const gate = { offline: false, back: false, firstAnswerAt: 0 };
  // While offline, the socket connects to a port nobody listens on.
  class GatedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(gate.offline ? 'ws://127.0.0.1:1/' : url, protocols);
    }
  }
  const supabase = createClient(world.info.url, world.info.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: GatedWebSocket as unknown as typeof globalThis.WebSocket },
    global: {
      fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
        if (gate.offline) throw new TypeError('fetch failed (offline)');
        const response = await fetch(input, init);
        if (gate.back && !gate.firstAnswerAt) gate.firstAnswerAt = now();
        return response;
      },
    },
  });
  const signIn = await supabase.auth.signInWithPassword({ email: reader.email, password: reader.password });
  if (signIn.error) throw new Error(`signing in the reader failed: ${signIn.error.message}`);
  const { data, error } = await writer.client.rpc('get_or_create_direct_conversation', {
    other_user_id: reader.id,
  });
  if (error) throw new Error(`creating the catch-up conversation failed: ${error.message}`);
  const room = data as Room;

  const chat = createChat(supabase, { storage: memoryStorage(), tabs: singleTab() });
  const view = chat.open(room.id);
  const state = () => chat.connection.getSnapshot().state;
  await waitUntil(
    () => state() === 'live' && view.store.getSnapshot().status === 'ready',
    'the reader to be live',
    60_000,
  );

  gate.offline = true;
  const realtime = supabase.realtime as unknown as {
    socketAdapter?: { socket: { conn: WebSocket | null } };
    conn?: WebSocket | null;
  };
  (realtime.socketAdapter?.socket.conn ?? realtime.conn)?.terminate();
  await waitUntil(() => state() === 'offline', 'the reader to be offline', 30_000);
  const { rows } = await world.admin.query<{ last_change: string }>(
    'select last_change from public.conversations where id = $1',
    [room.id],
  );
  const cursor = Number(rows[0]?.last_change ?? 0);

  // Written with send_message as the writer, 20 to a transaction: through send-message
  // one conversation takes its sends one after another (a row lock), which would make
  // this step, not the catch-up, the long part. (Many more to a transaction slow down:
  // each send updates the conversation's row again.)
  progress(`catch-up: the reader is offline; ${CATCH_UP} messages arrive`);
  const sendStart = now();
  const tag = `catchup${tags++}`;
  const writing = await world.admin.connect();
  try {
    const claims = JSON.stringify({ sub: writer.id, role: 'authenticated' });
    for (let from = 0; from < CATCH_UP; from += CATCH_UP_BATCH) {
      await writing.query('begin');
      await writing.query(
        `select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)`,
        [claims],
      );
      await writing.query(
        `select public.send_message($1, $2 || i, 'catch-up ' || i) from generate_series($3::int, $4::int) i`,
        [room.id, `${tag}-`, from, Math.min(CATCH_UP, from + CATCH_UP_BATCH) - 1],
      );
      await writing.query('commit');
    }
  } finally {
    writing.release();
  }
  const sendSeconds = (now() - sendStart) / 1000;
  progress(`catch-up: written in ${sendSeconds.toFixed(1)} s; the reader comes back online`);

  const held = () => {
    let count = 0;
    for (const message of view.store.getSnapshot().messages)
      if (message.status === 'sent' && message.via === 'server' && message.client_id.startsWith(`${tag}-`))
        count += 1;
    return count;
  };
  let rejoinedAt = 0;
  const unsubscribe = chat.connection.subscribe(() => {
    if (!rejoinedAt && state() !== 'offline') rejoinedAt = now();
  });
  const backAt = now();
  gate.offline = false;
  gate.back = true;
  await waitUntil(() => held() >= CATCH_UP, `the reader to hold all ${CATCH_UP} messages`, 300_000);
  const allHeldAt = now();
  await waitUntil(() => rejoinedAt > 0, 'the reader to rejoin', 60_000);
  // Reconnected: the first answer over HTTP or the socket's rejoin, whichever came first
  // (the library may sync over HTTP before realtime-js's reconnect backoff has run out).
  const reconnectedAt = Math.min(rejoinedAt, gate.firstAnswerAt || rejoinedAt);
  unsubscribe();
  if (held() !== CATCH_UP)
    throw new Error(`catch-up: the reader holds ${held()} messages, expected ${CATCH_UP}`);
  chat.close();
  await supabase.removeAllChannels();

  // The same catch-up as bare RPC pages, for comparison.
  const rpcStart = now();
  let pages = 0;
  let rowsSeen = 0;
  for (let since = cursor, more = true; more; ) {
    const page = await reader.client.rpc('sync_conversation', {
      conversation_id: room.id,
      since_change: since,
      max_rows: 1000,
    });
    if (page.error) throw new Error(`sync_conversation failed: ${page.error.message}`);
    const body = page.data as { messages: unknown[]; has_more: boolean; cursor: number };
    pages += 1;
    rowsSeen += body.messages.length;
    more = body.has_more;
    since = body.cursor;
  }
  const rpcMs = now() - rpcStart;
  if (rowsSeen < CATCH_UP)
    throw new Error(`sync_conversation returned ${rowsSeen} rows, expected ${CATCH_UP}`);
  const result: CatchUp = {
    messages: CATCH_UP,
    sendSeconds,
    networkBackToReconnectMs: reconnectedAt - backAt,
    networkBackToRejoinMs: rejoinedAt - backAt,
    reconnectToAllHeldMs: allHeldAt - reconnectedAt,
    rpcMs,
    rpcPages: pages,
  };
  progress(
    `catch-up: reconnect → all ${CATCH_UP} held ${ms(result.reconnectToAllHeldMs)} ` +
      `(network back → reconnect ${ms(result.networkBackToReconnectMs)}, → socket rejoined ` +
      `${ms(rejoinedAt - backAt)}); bare RPC ${ms(rpcMs)} in ${pages} pages`,
  );
  await Promise.all([reader.client.removeAllChannels(), writer.client.removeAllChannels()]);
  return result;
}

// ── output ──────────────────────────────────────────────────────────────────

/** The table on screen, bench.md and bench.svg (and bench.json after a run) from `results`. */
function render(results: SuiteResults, ran: boolean) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (ran) writeFileSync(path.join(RESULTS_DIR, 'bench.json'), asJson(results));
  writeFileSync(path.join(RESULTS_DIR, 'bench.svg'), chart(results));
  writeFileSync(path.join(RESULTS_DIR, 'bench.md'), `${markdownReport(results, 'bench.svg')}\n`);
  console.log(`\n${textReport(results)}\n`);
  console.log(`written: bench/results/${ran ? 'bench.json, ' : ''}bench.md, bench.svg`);
  if (flag('publish')) publish(results);
}

/** The results as JSON, times to the µs. */
const asJson = (results: SuiteResults) =>
  `${JSON.stringify(
    results,
    (_, value) =>
      typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value,
    2,
  )}\n`;

const BEGIN = '<!-- bench:begin (npm run bench -- --publish writes this block) -->';
const END = '<!-- bench:end -->';

/** docs/bench/results.json and latency.svg, and the README block between the markers. */
function publish(results: SuiteResults) {
  const docs = path.join(PROJECT_DIR, 'docs', 'bench');
  mkdirSync(docs, { recursive: true });
  const file = path.join(docs, 'results.json');
  writeFileSync(file, asJson(results));
  // Committed, so in the layout the project's formatter keeps.
  execFileSync(path.join(PROJECT_DIR, 'node_modules', '.bin', 'biome'), ['format', '--write', file], {
    stdio: 'ignore',
  });
  copyFileSync(path.join(RESULTS_DIR, 'bench.svg'), path.join(docs, 'latency.svg'));
  const readmePath = path.join(PROJECT_DIR, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const [begin, end] = [readme.indexOf(BEGIN), readme.indexOf(END)];
  if (begin < 0 || end < begin) throw new Error(`README.md has no block between ${BEGIN} and ${END}`);
  const block = markdownReport(results, 'docs/bench/latency.svg');
  writeFileSync(readmePath, `${readme.slice(0, begin + BEGIN.length)}\n${block}\n${readme.slice(end)}`);
  console.log('published: docs/bench/results.json, docs/bench/latency.svg, README.md (Performance)');
}

// ── main ────────────────────────────────────────────────────────────────────

if (flag('report') || flag('publish')) {
  render(JSON.parse(readFileSync(FROM, 'utf8')) as SuiteResults, false);
  process.exit(0);
}

const origin = provenance(NOTE);
const findMaxes: FindMax[] = [];
let catchUpResult: CatchUp | undefined;
let receiveCostResult: ReceiveCost | undefined;
const layout = { users: USERS, group: GROUP };
progress(
  `npm run bench: ${USERS} users in ${CONVERSATIONS} direct conversations (+ a group of ${GROUP}); rates ` +
    `${RATES.join(', ')} msg/s for ${DURATION} s each; ${os.cpus().length} CPUs, load average ` +
    `${origin.loadavgBefore.map((value) => value.toFixed(2)).join(' ')}`,
);

const stack = await startStackWorld(layout, router);
const ours = sendingTarget('ours', stack);
const floor = floorTarget(stack);
try {
  progress('warming up');
  await run({ target: ours, scenario: 'rate', rate: 200, seconds: WARMUP, load: pairLoad });
  await run({ target: floor, scenario: 'rate', rate: 200, seconds: WARMUP, load: pairLoad });
  for (const rate of SCENARIOS.has('rates') ? RATES : []) {
    phases.push(await run({ target: ours, scenario: 'rate', rate, seconds: DURATION, load: pairLoad }));
    phases.push(await run({ target: floor, scenario: 'rate', rate, seconds: DURATION, load: pairLoad }));
  }
  if (SCENARIOS.has('polling')) {
    progress(`3 s polling at ${RATES[0]} msg/s (${USERS} clients)`);
    phases.push(await pollingPhase(stack, RATES[0] as number));
  }
  if (SCENARIOS.has('group')) {
    progress(`group fan-out: ${GROUP} members online, ${GROUP_RATE} msg/s`);
    phases.push(
      await run({
        target: ours,
        scenario: 'group',
        rate: GROUP_RATE,
        seconds: GROUP_DURATION,
        load: groupLoad,
        clients: GROUP,
      }),
    );
  }
  if (SCENARIOS.has('idle')) {
    progress('receiving with nothing sent: polling, then sockets alone');
    receiveCostResult = await receiveCost(stack);
  }
  if (SCENARIOS.has('catch-up') && CATCH_UP > 0) catchUpResult = await catchUp(stack);
  if (FIND_MAX) for (const target of [ours, floor]) findMaxes.push(await findMax(target));
} finally {
  await floor.stop?.();
  await stack.stop();
}

const relayWorld = ['rates', 'group', 'find-max'].some((scenario) => SCENARIOS.has(scenario))
  ? await startRelayWorld(layout, router)
  : undefined;
try {
  const relay = relayWorld && sendingTarget('relay', relayWorld);
  if (relay) await run({ target: relay, scenario: 'rate', rate: 200, seconds: WARMUP, load: pairLoad });
  for (const rate of relay && SCENARIOS.has('rates') ? RATES : [])
    phases.push(
      await run({ target: relay as Target, scenario: 'rate', rate, seconds: DURATION, load: pairLoad }),
    );
  if (relay && SCENARIOS.has('group'))
    phases.push(
      await run({
        target: relay,
        scenario: 'group',
        rate: GROUP_RATE,
        seconds: GROUP_DURATION,
        load: groupLoad,
        clients: GROUP,
      }),
    );
  if (relay && FIND_MAX) findMaxes.push(await findMax(relay));
} finally {
  await relayWorld?.stop();
}

render(
  {
    provenance: { ...origin, loadavgAfter: os.loadavg() },
    options: {
      rates: RATES,
      duration: DURATION,
      warmup: WARMUP,
      users: USERS,
      group: GROUP,
      groupRate: GROUP_RATE,
      groupDuration: GROUP_DURATION,
      pollEveryMs: POLL_EVERY_MS,
      catchUp: CATCH_UP,
      findMax: FIND_MAX
        ? {
            start: FIND_MAX_START,
            limit: FIND_MAX_LIMIT,
            duration: FIND_MAX_DURATION,
            bisect: FIND_MAX_BISECT,
            p99BarMs: P99_BAR_MS,
          }
        : false,
    },
    phases,
    findMax: findMaxes,
    catchUp: catchUpResult,
    receiveCost: receiveCostResult,
    strays: router.strays,
  },
  true,
);
progress('done');
process.exit(0);
