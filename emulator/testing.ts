// Helpers for test suites and scripts: signed-in supabase-js clients for fresh
// users of a running stack. Node 20 has no global WebSocket, so there the
// clients are given the `ws` implementation for Realtime (what a user stuck on
// Node 20 does too); on Node 22 and later they use the built-in one.

import { randomUUID } from 'node:crypto';
import { createClient, type Session, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

export interface StackInfo {
  url: string;
  anonKey: string;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  session: Session;
  /** A supabase-js client signed in as this user. */
  client: SupabaseClient;
}

/** A supabase-js client for the stack (anonymous unless signed in later). */
export function createStackClient(stack: StackInfo, key = stack.anonKey): SupabaseClient {
  return createClient(stack.url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: globalThis.WebSocket ? {} : { transport: WebSocket as unknown as typeof globalThis.WebSocket },
  });
}

/** Signs up a new user with email and password and returns a client signed in as them. */
export async function createUser(
  stack: StackInfo,
  options: { email?: string; password?: string; displayName?: string } = {},
): Promise<TestUser> {
  const email = options.email ?? `user-${randomUUID().slice(0, 12)}@example.test`;
  const password = options.password ?? `pw-${randomUUID()}`;
  const client = createStackClient(stack);
  const { data, error } = await client.auth.signUp({
    email,
    password,
    options: options.displayName ? { data: { display_name: options.displayName } } : undefined,
  });
  if (error || !data.session || !data.user) {
    throw new Error(`signing up ${email} failed: ${error?.message ?? 'no session returned'}`);
  }
  await client.realtime.setAuth(data.session.access_token);
  return { id: data.user.id, email, password, session: data.session, client };
}
