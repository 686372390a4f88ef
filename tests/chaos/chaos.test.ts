// The chaos suite: 20 clients of the client library (over the real supabase-js)
// in 5 conversations send messages while faults are injected on a seeded
// schedule. Each client reaches the stack through a loopback proxy of its own
// (link.ts), so its network can fail for real. Faults: a Realtime socket
// killed without a close, closed cleanly, or stalled (carries nothing, closes
// nothing); a client's network cut for seconds; an access token replaced by one
// about to expire; a group member removed and re-added (the topics rotate under
// load); PostgreSQL restarted (fast and immediate shutdown); the Realtime service
// restarted (as a deploy and as a crash); the functions host killed. Then: every send is stored (acknowledged with
// its seq) or reported failed to its sender; every client is live again by
// itself; every client's view of every conversation equals the database.
// CHAOS_SEED and CHAOS_MESSAGES choose the run (options.ts).

import { randomUUID } from 'node:crypto';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ChatClient, type ConversationHandle, createChat } from '../../client/src/chat.ts';
import type { OutboxItem } from '../../client/src/outbox-storage.ts';
import { memoryStorage } from '../../client/src/outbox-storage.ts';
import { singleTab } from '../../client/src/tabs.ts';
import { type Stack, startStack } from '../../emulator/stack.ts';
import { Link } from './link.ts';
import { seed, total } from './options.ts';

/** A bound far above any honest recovery: waiting longer means a hang. */
const HANG_BOUND_MS = 180_000;
/** Mean pause between two sends. */
const MEAN_GAP_MS = 100;

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
  link: Link;
  rooms: Map<string, ConversationHandle>;
}

interface Conversation {
  id: string;
  group: boolean;
  members: Client[];
  /** Removed and not yet re-added. */
  away: Set<Client>;
}

const random = seeded(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let stack: Stack;
let admin: pg.Pool;
/** A client straight to the stack (no proxy of its own to fail), to see when the stack serves again. */
let probe: SupabaseClient;
/** The probe's direct conversation with the first client (not one of the five compared). */
let probeConversation: string;
const clients: Client[] = [];
const conversations: Conversation[] = [];
const faults = new Map<string, number>();
const recoveries: number[] = [];
/** Faults still under way in the background (members away, server restarts not yet recovered from). */
const recovering: Promise<void>[] = [];
/** Clients' recoveries still being timed. */
const measuring: Promise<void>[] = [];
const sends: { sender: Client; item: Promise<OutboxItem> }[] = [];
/** Failed sends by the error (status and code) their sender was shown. */
const failedBy = new Map<string, number>();
const outcomes = { acknowledged: 0, failedReported: 0, silent: 0, failedButStored: 0 };
const removals = { done: 0, seenByRemoved: 0 };
const report = { stored: 0, delivered: 0, lost: 0, duplicated: 0, mismatched: [] as string[] };

async function newClient(): Promise<Client> {
  const user = await stack.createUser();
  const target = new URL(stack.url);
  const link = new Link({ host: target.hostname, port: Number(target.port) });
  const supabase = createClient(await link.listen(), stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: true, detectSessionInUrl: false },
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
  });
  const { error } = await supabase.auth.signInWithPassword({ email: user.email, password: user.password });
  if (error) throw new Error(`sign-in failed: ${error.message}`);
  const chat = createChat(supabase, { storage: memoryStorage(), tabs: singleTab(), resyncEveryMs: 10_000 });
  await chat.ready;
  return { id: user.id, supabase, chat, link, rooms: new Map() };
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

const live = (client: Client) => client.chat.connection.getSnapshot().state === 'live';

/**
 * Measures, in the background, how long `client` takes to be live again after a
 * fault that took it offline within `noticeMs` (one it never noticed is not counted;
 * one it never recovers from is found by the final checks).
 */
function watchRecovery(client: Client, from: number, noticeMs = 10_000): void {
  measuring.push(
    (async () => {
      // Down means offline (its socket or its own topic lost); `catching-up` is also every re-sync.
      const offline = () => client.chat.connection.getSnapshot().state === 'offline';
      const noticed = Date.now() + noticeMs;
      while (!offline() && Date.now() < noticed) await sleep(50);
      if (!offline()) return;
      const deadline = Date.now() + HANG_BOUND_MS;
      while (!live(client) && Date.now() < deadline) await sleep(50);
      if (live(client)) recoveries.push(performance.now() - from);
    })(),
  );
}

/** Replaces the client's access token by the same claims expiring in 2–5 s (signed with the project's key). */
async function expireToken(client: Client): Promise<boolean> {
  const { data } = await client.supabase.auth.getSession();
  if (!data.session) return false;
  const now = Math.floor(Date.now() / 1000);
  const claims = decodeJwt(data.session.access_token);
  const accessToken = await stack.keys.sign({ ...claims, iat: now, exp: now + 2 + Math.floor(random() * 4) });
  const { error } = await client.supabase.auth.setSession({
    access_token: accessToken,
    refresh_token: data.session.refresh_token,
  });
  return !error;
}

/** The owner removes a member from a group; seconds later adds them back. */
async function removeAndReadd(conversation: Conversation): Promise<boolean> {
  const [owner, ...others] = conversation.members as [Client, ...Client[]];
  const candidates = others.filter((m) => !conversation.away.has(m));
  if (candidates.length === 0) return false;
  const member = pick(candidates);
  await owner.supabase.rpc('remove_conversation_member', {
    conversation_id: conversation.id,
    user_id: member.id,
  });
  // The answer may be lost (the owner's network) although the removal was done: the database says.
  if (await isMember(conversation.id, member.id)) return false;
  conversation.away.add(member);
  removals.done++;
  const awayMs = 2000 + random() * 4000;
  recovering.push(
    (async () => {
      await sleep(awayMs);
      const room = member.rooms.get(conversation.id) as ConversationHandle;
      // The removed member is told (unless its network kept it from hearing; then it carries on).
      if (room.store.getSnapshot().status === 'removed') removals.seenByRemoved++;
      await until(async () => {
        const added = await owner.supabase.rpc('add_conversation_members', {
          conversation_id: conversation.id,
          user_ids: [member.id],
        });
        return !added.error;
      }, 're-adding a removed member');
      conversation.away.delete(member);
      if (room.store.getSnapshot().status === 'removed') {
        // What an app does on conversation.added: open it again.
        room.close();
        member.rooms.set(conversation.id, member.chat.open(conversation.id));
      }
    })(),
  );
  return true;
}

async function isMember(conversationId: string, userId: string): Promise<boolean> {
  const { rows } = await query(
    'select 1 from public.conversation_members where conversation_id = $1 and user_id = $2',
    [conversationId, userId],
  );
  return rows.length > 0;
}

/** A query as the admin, again while the database restarts. */
async function query<T extends pg.QueryResultRow>(
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<T>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await admin.query<T>(text, values);
    } catch (error) {
      if (attempt * 500 > HANG_BOUND_MS) throw error;
      await sleep(500);
    }
  }
}

async function injectFault(): Promise<void> {
  const roll = random();
  const client = pick(clients);
  const at = performance.now();
  if (roll < 0.18) {
    socketOf(client)?.terminate();
    count('socket killed (no close)');
    watchRecovery(client, at);
  } else if (roll < 0.25) {
    socketOf(client)?.close();
    count('socket closed (clean)');
    watchRecovery(client, at);
  } else if (roll < 0.37) {
    if (client.link.stallSocket() > 0) {
      count('socket stalled (silent)');
      watchRecovery(client, at, 90_000); // Realtime's heartbeat (25 s) finds it
    }
  } else if (roll < 0.52) {
    client.link.cut(1000 + random() * 3000);
    count('client network cut');
    watchRecovery(client, at);
  } else if (roll < 0.62) {
    if (await expireToken(client)) {
      count('access token about to expire');
      watchRecovery(client, at);
    }
  } else if (roll < 0.72) {
    if (await removeAndReadd(pick(conversations.filter((c) => c.group))))
      count('member removed and re-added');
  } else if (roll < 0.82) {
    const mode = roll < 0.77 ? 'fast' : 'immediate';
    await stack.faults.restartPostgres(mode);
    count(`PostgreSQL restarted (${mode})`);
    watchStack(at);
  } else if (roll < 0.92) {
    const mode = roll < 0.87 ? 'graceful' : 'crash';
    await stack.faults.restartRealtime({ mode });
    count(`Realtime restarted (${mode})`);
    for (const each of clients) watchRecovery(each, at);
  } else {
    await stack.faults.killFunctions();
    count('functions host killed');
    watchStack(at);
  }
}

/**
 * After a server fault, measures in the background how long until the stack
 * serves again: a send through `send-message` is stored.
 */
function watchStack(from: number): void {
  recovering.push(
    until(stackServes, 'the stack to serve again after a server fault').then(() => {
      recoveries.push(performance.now() - from);
    }),
  );
}

/** Why the last probe send failed, for the hang message. */
let probeError = '';
/** One probe send a second at most, whoever asks (the send rate limit would answer more). */
let lastProbe: { at: number; ok: Promise<boolean> } = { at: 0, ok: Promise.resolve(false) };

async function stackServes(): Promise<boolean> {
  if (Date.now() - lastProbe.at >= 1000) {
    const ok = (async () => {
      const { error } = await probe.functions.invoke('send-message', {
        body: { conversation_id: probeConversation, client_id: randomUUID(), body: 'probe' },
      });
      const answer = (error as { context?: Response } | null)?.context;
      const code = answer ? ((await answer.json().catch(() => ({}))) as { code?: string }).code : undefined;
      probeError = error ? `${answer?.status ?? 'no answer'} ${code ?? error.message}` : '';
      return !error;
    })();
    lastProbe = { at: Date.now(), ok };
  }
  return lastProbe.ok;
}

/** Waits until `done` holds, or fails naming `what` after the hang bound; says what it waits for now and then. */
async function until(done: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const started = Date.now();
  let told = started;
  while (!(await done())) {
    if (Date.now() > started + HANG_BOUND_MS)
      throw new Error(`hang: ${what} after ${HANG_BOUND_MS} ms (seed ${seed}); ${waitingFor()}`);
    if (Date.now() - told > 20_000) {
      told = Date.now();
      console.log(
        `chaos: still waiting for ${what} (${Math.round((told - started) / 1000)} s): ${waitingFor()}`,
      );
    }
    await sleep(200);
  }
}

/** A client's connection state and its channels' (the library keeps them private: read for diagnosis only). */
function channelStates(client: Client): string {
  const { state, error } = client.chat.connection.getSnapshot();
  const connection = (
    client.chat as unknown as { connectionState: { allChannels: { topic: string; state: string }[] } }
  ).connectionState;
  const channels = connection.allChannels
    .filter((c) => c.state !== 'joined')
    .map((c) => `${c.topic.split(':')[0]} ${c.state}`);
  return `${state}${error ? ` (${error.code})` : ''} {${channels.join(', ')}}`;
}

/** What is not settled yet: sends pending, clients not live. */
function waitingFor(): string {
  const pending = clients.reduce(
    (sum, c) => sum + c.chat.outbox.getSnapshot().filter((i) => i.status !== 'failed').length,
    0,
  );
  const down = clients.filter((c) => !live(c)).map((c) => `${c.id.slice(0, 8)} ${channelStates(c)}`);
  return [
    `${pending} sends pending`,
    `clients not live: [${down.join(', ')}]`,
    probeError && `probe send: ${probeError}`,
    lastMismatch.length > 0 && `views unlike the database: ${lastMismatch.join('; ')}`,
  ]
    .filter(Boolean)
    .join(', ');
}

interface Row {
  conversation_id: string;
  id: string;
  seq: number;
  body: string;
  change_seq: number;
  sender_id: string;
  client_id: string;
}

/** The waits that hit the hang bound. */
const hangs: string[] = [];
/** The views that differed from the database when last compared, for what a wait reports. */
let lastMismatch: string[] = [];

beforeAll(async () => {
  console.log(`chaos: seed ${seed}, ${total} messages`);
  stack = await startStack({ port: 0, dbPort: 0, quiet: true, authRateLimits: false });
  admin = new pg.Pool({ connectionString: stack.dbAdminUrl ?? stack.dbUrl, max: 2 });
  admin.on('error', () => undefined); // idle connections die with each PostgreSQL restart
  probe = (await stack.createUser()).client;
  for (let i = 0; i < 20; i++) clients.push(await newClient());
  const direct = await probe.rpc('get_or_create_direct_conversation', { other_user_id: clients[0]?.id });
  if (direct.error) throw new Error(`creating the probe's conversation: ${direct.error.message}`);
  probeConversation = (direct.data as { id: string }).id;
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
    const group = index >= 2;
    const { data, error } = group
      ? await owner.supabase.rpc('create_group_conversation', {
          title: `chaos ${index}`,
          member_ids: others.map((o) => o.id),
        })
      : await owner.supabase.rpc('get_or_create_direct_conversation', { other_user_id: others[0]?.id });
    if (error) throw new Error(`creating conversation ${index}: ${error.message}`);
    const id = (data as { id: string }).id;
    conversations.push({ id, group, members: [owner, ...others], away: new Set() });
    for (const member of [owner, ...others]) member.rooms.set(id, member.chat.open(id));
  }

  // Sends paced over the run; a fault about every 12 sends.
  for (let i = 0; i < total; i++) {
    const conversation = pick(conversations);
    const sender = pick(conversation.members);
    const room = sender.rooms.get(conversation.id) as ConversationHandle;
    sends.push({ sender, item: room.send(`m${i} from ${sender.id.slice(0, 8)}`) });
    if (random() < 1 / 12) await injectFault();
    await sleep(random() * 2 * MEAN_GAP_MS);
  }

  // Then the stack and the clients are left alone to recover. A hang is recorded, not thrown,
  // and the next wait still runs, so that the checks below say what did and did not recover.
  const wait = (step: () => Promise<unknown>) => step().catch((error: Error) => hangs.push(error.message));
  await wait(() => Promise.all(recovering));
  // Every send settles: stored with a seq, or failed and shown to its sender as failed.
  await wait(() =>
    until(
      () => clients.every((c) => c.chat.outbox.getSnapshot().every((item) => item.status === 'failed')),
      'every outbox to drain',
    ),
  );
  await wait(() => until(() => clients.every(live), 'every client to be live again'));
  await wait(() => until(stackServes, 'the stack to serve at the end'));
  await wait(() => Promise.all(measuring));
  await wait(() =>
    until(async () => {
      // What a person scrolling up would see: every view, once loaded, from the first message on.
      const paging = clients
        .flatMap((c) => [...c.rooms.values()])
        .filter((r) => r.store.getSnapshot().hasOlder);
      await Promise.all(paging.map((r) => r.loadOlder().catch(() => undefined)));
      lastMismatch = (await compare()).mismatched;
      return paging.length === 0 && lastMismatch.length === 0;
    }, 'every view to equal the database'),
  );
}, HANG_BOUND_MS * 6);

afterAll(async () => {
  for (const client of clients) {
    client.chat.close();
    await client.supabase.removeAllChannels();
    await client.link.close();
  }
  await admin?.end();
  await stack?.stop();
});

async function compare(): Promise<typeof report> {
  const { rows } = await query<Row>(
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
      const missing = expected.filter((r) => !seen.has(r.id));
      result.lost += missing.length;
      const view = messages.map((m) => `${m.seq}:${m.id}:${m.body}:${m.change_seq}`).join('\n');
      const truth = expected.map((r) => `${r.seq}:${r.id}:${r.body}:${r.change_seq}`).join('\n');
      if (view !== truth) {
        const status = member.rooms.get(conversation.id)?.store.getSnapshot().status;
        result.mismatched.push(
          `${member.id.slice(0, 8)} in ${conversation.id.slice(0, 8)} (${status}): ${messages.length} held, ` +
            `${expected.length} stored, missing seqs [${missing.map((r) => r.seq).join(',')}]`,
        );
      }
    }
  }
  return result;
}

const percentile = (q: number) =>
  [...recoveries].sort((a, b) => a - b)[Math.floor((recoveries.length - 1) * q)] ?? 0;

describe(`chaos (seed ${seed}, ${total} messages)`, () => {
  it('settles every send: stored with its seq, or reported failed to its sender (and then not stored)', async () => {
    const { rows } = await query<Row>(
      'select sender_id, client_id from public.messages where conversation_id = any($1)',
      [conversations.map((c) => c.id)],
    );
    const stored = new Set(rows.map((r) => `${r.sender_id}:${r.client_id}`));
    for (const send of sends) {
      const { client_id } = await send.item;
      const item = send.sender.chat.outbox
        .getSnapshot()
        .find((p) => p.client_id === client_id && p.status === 'failed');
      const failed = item !== undefined;
      const shown = `${item?.error?.status} ${item?.error?.code}`;
      if (item) failedBy.set(shown, (failedBy.get(shown) ?? 0) + 1);
      const isStored = stored.has(`${send.sender.id}:${client_id}`);
      if (isStored && failed) outcomes.failedButStored++;
      if (isStored) outcomes.acknowledged++;
      else if (failed) outcomes.failedReported++;
      else outcomes.silent++;
    }
    expect(outcomes.silent).toBe(0);
    expect(outcomes.failedButStored).toBe(0);
  });

  it('recovers by itself: every outbox settled, every client live again, the stack serving, no hang', () => {
    // The waits above (each within the hang bound) are the check; a client may blink afterwards
    // (a late timer of a fault long gone), so its state now is not asked again.
    expect(hangs).toEqual([]);
  });

  it('gives every client a view of every conversation equal to the database', async () => {
    Object.assign(report, await compare());
    console.log(
      [
        `seed ${seed}`,
        `sent ${sends.length}, stored ${report.stored}, delivered ${report.delivered} (over all members' views)`,
        `lost ${report.lost}, duplicated ${report.duplicated}, failed-and-reported ${outcomes.failedReported}` +
          ` (${[...failedBy].map(([code, n]) => `${code} ${n}`).join(', ') || 'none'})`,
        `faults: ${[...faults].map(([kind, n]) => `${kind} ${n}`).join(', ')}`,
        `removed members who saw their removal: ${removals.seenByRemoved} of ${removals.done}`,
        `time to recover (${recoveries.length} recoveries): p50 ${Math.round(percentile(0.5))} ms, max ${Math.round(percentile(1))} ms`,
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
