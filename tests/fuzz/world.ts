// The fuzz suite's own stack and the little world the fuzzer aims at: users
// with real tokens, a direct and a group conversation with a message, every
// RPC as the database declares it, and a log that keeps what the stack said
// (warnings are expected from garbage; errors are findings).

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../emulator/log.ts';
import { type Stack, startStack } from '../../emulator/stack.ts';
import type { TestUser } from '../../emulator/testing.ts';

export interface Conversation {
  id: string;
  topic: string;
  live_topic: string;
}

export interface Rpc {
  name: string;
  /** Input arguments in order, as PostgREST would see them. */
  args: { name: string; type: string }[];
}

export interface World {
  stack: Stack;
  /** As the superuser: snapshots read every table, past RLS. */
  admin: pg.Pool;
  wsUrl: string;
  /** Signed-in users the fuzzer may act as (their ids and topics are fair game too). */
  users: TestUser[];
  /** A user deleted through the admin API, whose access token still verifies. */
  deletedUser: TestUser;
  conversations: Conversation[];
  messageIds: string[];
  rpcs: Rpc[];
  twilioAuthToken: string;
  /** Lines the stack logged at error level, or that name an unexpected failure. */
  findings(): string[];
}

/** Function-host lines that mean a function failed unexpectedly (they are logged as info by the host). */
const UNEXPECTED = /unexpected_error|threw:|failed to boot/;

/** Keeps the stack's log in memory: the fuzzer makes it warn a lot, on purpose. */
function recordingLogger(lines: string[], service = 'emulator'): Logger {
  const write = (level: string, message: string) => {
    if (level === 'error' || UNEXPECTED.test(message)) lines.push(`${level} [${service}] ${message}`);
  };
  return {
    info: (message) => write('info', message),
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
    child: (name) => recordingLogger(lines, name),
  };
}

async function rpc<T>(user: TestUser, name: string, args: Record<string, unknown>): Promise<T> {
  const { data, error } = await user.client.rpc(name, args);
  if (error) throw new Error(`${name} failed: ${error.message}`);
  return data as T;
}

export async function startWorld(): Promise<World> {
  const findings: string[] = [];
  const twilioAuthToken = randomBytes(16).toString('hex');
  const stack = await startStack({
    port: 0,
    dbPort: 0,
    log: recordingLogger(findings),
    // twilio-send needs an account; its API is a closed port on loopback (the outbox stays empty:
    // the world has no support team, so nobody can answer an external conversation).
    functionSecrets: {
      TWILIO_AUTH_TOKEN: twilioAuthToken,
      TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
    },
    // Every request comes from 127.0.0.1: per-address limits would answer 429 to nearly all of
    // them after the first burst, and the fuzzer would never get past Auth's rate limiter.
    authRateLimits: false,
  });
  const admin = new pg.Pool({ connectionString: stack.dbAdminUrl ?? stack.dbUrl, max: 2 });
  const [alice, bob, carol, deletedUser] = (await Promise.all(
    [0, 1, 2, 3].map(() => stack.createUser()),
  )) as [TestUser, TestUser, TestUser, TestUser];
  const direct = await rpc<Conversation>(alice, 'get_or_create_direct_conversation', {
    other_user_id: bob.id,
  });
  const group = await rpc<Conversation>(alice, 'create_group_conversation', {
    title: 'Fuzz',
    member_ids: [bob.id, carol.id],
  });
  const sent = await rpc<{ message: { id: string } }>(alice, 'send_message', {
    conversation_id: direct.id,
    client_id: 'fuzz-world',
    body: 'hello',
  });
  const deleted = await fetch(`${stack.url}/auth/v1/admin/users/${deletedUser.id}`, {
    method: 'DELETE',
    headers: { apikey: stack.serviceRoleKey, authorization: `Bearer ${stack.serviceRoleKey}` },
  });
  if (!deleted.ok) throw new Error(`deleting a user failed: ${deleted.status}`);

  const { rows } = await admin.query<Rpc>(
    `select p.proname as name,
            coalesce((select json_agg(json_build_object('name', a.name, 'type', format_type(a.type, null)) order by a.ord)
                        from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargmodes, p.proargnames)
                             with ordinality as a(type, mode, name, ord)
                       where coalesce(a.mode, 'i') in ('i', 'b', 'v')),
                     '[]') as args
       from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and has_function_privilege('authenticated', p.oid, 'execute')
      order by 1`,
  );
  if (rows.length === 0) throw new Error('no RPC is executable by authenticated');

  return {
    stack,
    admin,
    wsUrl: `${stack.url.replace(/^http/, 'ws')}/realtime/v1/websocket`,
    users: [alice, bob, carol],
    deletedUser,
    conversations: [direct, group],
    messageIds: [sent.message.id],
    rpcs: rows,
    twilioAuthToken,
    findings: () => [...findings],
  };
}

export async function stopWorld(world: World | undefined): Promise<void> {
  if (!world) return;
  for (const user of [...world.users, world.deletedUser]) await user.client.removeAllChannels();
  await world.admin.end();
  await world.stack.stop();
}
