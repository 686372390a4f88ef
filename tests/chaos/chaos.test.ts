// The chaos suite: 20 clients of the client library (over the real supabase-js)
// in 5 conversations send messages while faults are injected on a seeded
// schedule: sockets killed without a close, a client's network cut for seconds,
// PostgreSQL restarted. Then every client's view must equal the database, and
// every send must be stored (acknowledged with its seq) or reported failed.
// CHAOS_SEED and CHAOS_MESSAGES choose the run (`npm run test:chaos` sends 2,000).

import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ChatClient, type ConversationHandle, createChat } from '../../client/src/chat.ts';
import type { OutboxItem } from '../../client/src/outbox-storage.ts';
import { memoryStorage } from '../../client/src/outbox-storage.ts';
import { singleTab } from '../../client/src/tabs.ts';
import { type Stack, startStack } from '../../emulator/stack.ts';

const CI_SEED = 13;
const CI_MESSAGES = 300;
const seed = Number(process.env.CHAOS_SEED ?? CI_SEED);
const total = Number(process.env.CHAOS_MESSAGES ?? CI_MESSAGES);
/** A bound far above any honest recovery: waiting longer means a hang. */
const HANG_BOUND_MS = 180_000;

/** mulberry32: the schedule is the same for the same seed. */
function seeded(start: number): () => number {
  let a = start >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Client {
  id: string;
  supabase: SupabaseClient;
  chat: ChatClient;
  network: { down: boolean };
  rooms: Map<string, ConversationHandle>;
}

const random = seeded(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let stack: Stack;
let admin: pg.Pool;
const clients: Client[] = [];
const conversations: { id: string; members: Client[] }[] = [];
const faults = new Map<string, number>();
const recoveries: number[] = [];
const sends: { sender: Client; conversation: string; item: Promise<OutboxItem> }[] = [];
const outcomes = { acknowledged: 0, failedReported: 0, silent: 0 };
const report = { stored: 0, delivered: 0, lost: 0, duplicated: 0, mismatched: [] as string[] };

async function newClient(): Promise<Client> {
  const user = await stack.createUser();
  const network = { down: false };
  const supabase = createClient(stack.url, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: true, detectSessionInUrl: false },
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
    global: {
      fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
        if (network.down) throw new TypeError('fetch failed (network cut by the chaos suite)');
        return fetch(input, init);
      },
    },
  });
  const { error } = await supabase.auth.signInWithPassword({ email: user.email, password: user.password });
  if (error) throw new Error(`sign-in failed: ${error.message}`);
  const chat = createChat(supabase, { storage: memoryStorage(), tabs: singleTab(), resyncEveryMs: 10_000 });
  await chat.ready;
  return { id: user.id, supabase, chat, network, rooms: new Map() };
}

function socketOf(client: Client): WebSocket | null {
  const realtime = client.supabase.realtime as unknown as {
    socketAdapter: { socket: { conn: WebSocket | null } };
  };
  return realtime.socketAdapter.socket.conn;
}

function count(kind: string): void {
  faults.set(kind, (faults.get(kind) ?? 0) + 1);
}

async function injectFault(): Promise<void> {
  const roll = random();
  if (roll < 0.45) {
    socketOf(pick(clients))?.terminate();
    count('socket killed (no close)');
  } else if (roll < 0.65) {
    socketOf(pick(clients))?.close();
    count('socket closed (clean)');
  } else if (roll < 0.9) {
    const client = pick(clients);
    client.network.down = true;
    socketOf(client)?.terminate();
    count('client network cut');
    setTimeout(() => (client.network.down = false), 1000 + random() * 3000);
  } else {
    const started = performance.now();
    await stack.database.cluster?.restart();
    recoveries.push(performance.now() - started);
    count('PostgreSQL restarted');
  }
}

/** Waits until `done` holds, or fails naming `what` after the hang bound. */
async function until(done: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_BOUND_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`hang: ${what} after ${HANG_BOUND_MS} ms (seed ${seed})`);
    await sleep(200);
  }
}

interface Row {
  conversation_id: string;
  id: string;
  seq: number;
  body: string;
  change_seq: number;
}

beforeAll(async () => {
  console.log(`chaos: seed ${seed}, ${total} messages`);
  stack = await startStack({ port: 0, dbPort: 0, quiet: true, authRateLimits: false });
  admin = new pg.Pool({ connectionString: stack.dbAdminUrl ?? stack.dbUrl, max: 2 });
  admin.on('error', () => undefined); // idle connections die with each PostgreSQL restart
  for (let i = 0; i < 20; i++) clients.push(await newClient());
  // Two direct conversations and three groups; every client is in at least one.
  const plan = [
    [0, 1],
    [2, 3],
    [4, 5, 6, 7, 8],
    [9, 10, 11, 12, 13, 14],
    [15, 16, 17, 18, 19, 0, 4],
  ];
  for (const [index, members] of plan.entries()) {
    const [owner, ...others] = members.map((m) => clients[m] as Client) as [Client, ...Client[]];
    const { data, error } =
      index < 2
        ? await owner.supabase.rpc('get_or_create_direct_conversation', { other_user_id: others[0]?.id })
        : await owner.supabase.rpc('create_group_conversation', {
            title: `chaos ${index}`,
            member_ids: others.map((o) => o.id),
          });
    if (error) throw new Error(`creating conversation ${index}: ${error.message}`);
    const id = (data as { id: string }).id;
    conversations.push({ id, members: [owner, ...others] });
    for (const member of [owner, ...others]) member.rooms.set(id, member.chat.open(id));
  }

  // Sends paced over the run; a fault about every 12 sends.
  for (let i = 0; i < total; i++) {
    const conversation = pick(conversations);
    const sender = pick(conversation.members);
    const room = sender.rooms.get(conversation.id) as ConversationHandle;
    sends.push({
      sender,
      conversation: conversation.id,
      item: room.send(`m${i} from ${sender.id.slice(0, 8)}`),
    });
    if (random() < 1 / 12) await injectFault();
    await sleep(random() * 40);
  }
  for (const client of clients) client.network.down = false;

  // Every send settles: stored with a seq, or failed and shown to its sender as failed.
  const started = performance.now();
  await until(
    () => clients.every((c) => c.chat.outbox.getSnapshot().every((item) => item.status === 'failed')),
    'every outbox to drain',
  );
  // Then every view must reach the database (Realtime and the resync check repair it).
  await until(
    async () => (await compare()).mismatched.length === 0,
    'every view to equal the database',
  ).catch(() => undefined);
  recoveries.push(performance.now() - started);
}, HANG_BOUND_MS * 3);

afterAll(async () => {
  for (const client of clients) {
    client.chat.close();
    await client.supabase.removeAllChannels();
  }
  await admin?.end();
  await stack?.stop();
});

async function compare(): Promise<typeof report> {
  const { rows } = await admin.query<Row>(
    'select conversation_id, id, seq, body, change_seq from public.messages where conversation_id = any($1) order by conversation_id, seq',
    [conversations.map((c) => c.id)],
  );
  const result = { stored: rows.length, delivered: 0, lost: 0, duplicated: 0, mismatched: [] as string[] };
  for (const conversation of conversations) {
    const expected = rows.filter((r) => r.conversation_id === conversation.id);
    for (const member of conversation.members) {
      const messages = (member.rooms.get(conversation.id)?.store.getSnapshot().messages ?? []).filter(
        (m) => m.seq !== null,
      );
      const seen = new Set<string>();
      for (const m of messages) {
        if (seen.has(m.id ?? '')) result.duplicated++;
        seen.add(m.id ?? '');
      }
      result.delivered += seen.size;
      result.lost += expected.filter((r) => !seen.has(r.id)).length;
      const view = messages.map((m) => `${m.seq}:${m.id}:${m.body}:${m.change_seq}`).join('\n');
      const truth = expected.map((r) => `${r.seq}:${r.id}:${r.body}:${r.change_seq}`).join('\n');
      if (view !== truth)
        result.mismatched.push(`${member.id.slice(0, 8)} in ${conversation.id.slice(0, 8)}`);
    }
  }
  return result;
}

describe(`chaos (seed ${seed}, ${total} messages)`, () => {
  it('settles every send: stored with its seq, or reported failed to its sender', async () => {
    const { rows } = await admin.query<{ sender_id: string; client_id: string }>(
      'select sender_id, client_id from public.messages where conversation_id = any($1)',
      [conversations.map((c) => c.id)],
    );
    const stored = new Set(rows.map((r) => `${r.sender_id}:${r.client_id}`));
    for (const send of sends) {
      const { client_id } = await send.item;
      const failed = send.sender.chat.outbox
        .getSnapshot()
        .some((p) => p.client_id === client_id && p.status === 'failed');
      if (stored.has(`${send.sender.id}:${client_id}`)) outcomes.acknowledged++;
      else if (failed) outcomes.failedReported++;
      else outcomes.silent++;
    }
    expect(outcomes.silent).toBe(0);
  });

  it('gives every client a view of every conversation equal to the database', async () => {
    Object.assign(report, await compare());
    const p = (q: number) =>
      [...recoveries].sort((a, b) => a - b)[Math.floor((recoveries.length - 1) * q)] ?? 0;
    console.log(
      [
        `seed ${seed}`,
        `sent ${sends.length}, stored ${report.stored}, delivered ${report.delivered} (over all members' views)`,
        `lost ${report.lost}, duplicated ${report.duplicated}, failed-and-reported ${outcomes.failedReported}`,
        `faults: ${[...faults].map(([kind, n]) => `${kind} ${n}`).join(', ')}`,
        `time to recover: p50 ${Math.round(p(0.5))} ms, max ${Math.round(p(1))} ms`,
      ].join('\n'),
    );
    expect(report.mismatched).toEqual([]);
  });

  it('loses nothing and duplicates nothing', () => {
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.stored).toBe(sends.length - outcomes.failedReported);
  });

  it('sent every message, with faults injected', () => {
    expect(sends.length).toBe(total);
    expect(faults.size).toBeGreaterThan(0);
  });
});
