// For the integration tests: users signed in with the real supabase-js against
// the shared emulator stack, with a fetch that can be cut, a socket that can be
// cut, and a wait that fails with a description when its bound runs out.

import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import WebSocket from 'ws';
import { createUser } from '../../../emulator/testing.ts';
import { type ChatClient, type ChatOptions, createChat } from '../../src/chat.ts';
import { memoryStorage } from '../../src/outbox-storage.ts';
import { singleTab } from '../../src/tabs.ts';

export const stack = inject('stack');

export interface Person {
  id: string;
  email: string;
  password: string;
  supabase: SupabaseClient;
  /** Requests to /functions/v1/<name>, counted. */
  functionCalls: Map<string, number>;
  /** While set, every HTTP request of this client fails as if offline ('down'), or is made but its answer lost ('lose-answers'). */
  network: { outage: 'down' | 'lose-answers' | null };
}

const chats: ChatClient[] = [];
const clients: SupabaseClient[] = [];
afterAll(async () => {
  for (const chat of chats) chat.close();
  await Promise.all(clients.map((client) => client.removeAllChannels()));
});

/** A new user (or `as` an existing one, signed in again: another tab or device). */
export async function person(as?: Pick<Person, 'email' | 'password'>): Promise<Person> {
  const user = as ?? (await createUser(stack));
  const functionCalls = new Map<string, number>();
  const network: Person['network'] = { outage: null };
  const supabase = createClient(stack.url, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
    global: {
      fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = String(input instanceof Request ? input.url : input);
        const name = /\/functions\/v1\/([^/?]+)/.exec(url)?.[1];
        if (name) functionCalls.set(name, (functionCalls.get(name) ?? 0) + 1);
        if (network.outage === 'down') throw new TypeError('fetch failed (test outage)');
        const response = await fetch(input, init);
        if (network.outage === 'lose-answers') throw new TypeError('fetch failed (answer lost)');
        return response;
      },
    },
  });
  clients.push(supabase);
  const { data, error } = await supabase.auth.signInWithPassword({
    email: user.email,
    password: user.password,
  });
  if (error || !data.user) throw new Error(`signing in ${user.email} failed: ${error?.message}`);
  return { id: data.user.id, email: user.email, password: user.password, supabase, functionCalls, network };
}

export function chatFor(who: Person, options: ChatOptions = {}): ChatClient {
  const chat = createChat(who.supabase, { storage: memoryStorage(), tabs: singleTab(), ...options });
  chats.push(chat);
  return chat;
}

/** Kills the client's WebSocket as a network failure would (no close handshake). */
export function cutSocket(who: Person): void {
  const realtime = who.supabase.realtime as unknown as {
    socketAdapter: { socket: { conn: WebSocket | null } };
  };
  const conn = realtime.socketAdapter.socket.conn;
  if (!conn) throw new Error('no socket to cut');
  conn.terminate();
}

export async function groupOf(owner: Person, title: string, members: Person[]): Promise<string> {
  const { data, error } = await owner.supabase.rpc('create_group_conversation', {
    title,
    member_ids: members.map((m) => m.id),
  });
  if (error) throw new Error(`create_group_conversation: ${error.message}`);
  return (data as { id: string }).id;
}

export async function sendAs(who: Person, conversationId: string, body: string): Promise<number> {
  const { data, error } = await who.supabase.functions.invoke('send-message', {
    body: { conversation_id: conversationId, client_id: crypto.randomUUID(), body },
  });
  if (error) throw new Error(`send-message: ${error.message}`);
  return (data as { seq: number }).seq;
}

/** Polls until `check` returns a value; fails naming `what` after `timeoutMs` (a bound, never an assertion). */
export async function waitFor<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function sql(): pg.Pool {
  const pool = new pg.Pool({ connectionString: stack.dbUrl, max: 2 });
  afterAll(() => pool.end());
  return pool;
}
