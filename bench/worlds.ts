// The worlds `npm run bench` measures, each in processes of its own:
//
// - the stack (bench/stack-server.ts): N users signed up for real, in N/2
//   direct conversations of two, the first G of them also in one group; every
//   user on a socket of its own, subscribed to the private topics of its
//   conversations (RLS-authorized), as supabase-js does it;
// - the relay (bench/baselines/ws-relay.ts on a PostgreSQL cluster of its own):
//   the same users, rooms and sockets.
//
// Receipts go to a Router keyed by the message's client_id.

import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { quietLogger } from '../emulator/log.ts';
import { embeddedBinDir, SUPERUSER, startCluster } from '../emulator/postgres/cluster.ts';
import { freePort } from '../emulator/stack.ts';
import { createUser, type TestUser } from '../emulator/testing.ts';
import { RELAY_SCHEMA } from './baselines/ws-relay.ts';
import type { CpuSources } from './lib.ts';
import { type Answer, forkServer, inBatches, now, postJson, type Router, stopServer } from './load.ts';
import type { StackServerInfo } from './stack-server.ts';

export interface Layout {
  /** Users; user 2c and 2c+1 share direct conversation c. */
  users: number;
  /** Users 0 … group−1 are also in one group (0 owns it). */
  group: number;
}

export interface Room {
  id: string;
  topic: string;
}

export interface StackWorld {
  info: StackServerInfo;
  users: TestUser[];
  pairs: Room[];
  group: Room;
  /** The stack's database as its superuser (floor inserts, statistics). */
  admin: pg.Pool;
  /** send-message as user `sender`, as a browser would call it. */
  send(sender: number, room: Room, key: string, done: (answer: Answer) => void): void;
  cpu(): CpuSources;
  stop(): Promise<void>;
}

async function subscribe(user: TestUser, topic: string, onMessage: (clientId: string) => void) {
  const channel = user.client.channel(topic, { config: { private: true } });
  channel.on('broadcast', { event: 'message.created' }, (message) => {
    const record = (message.payload as { record?: { client_id?: string } }).record;
    onMessage(record?.client_id ?? '');
  });
  await new Promise<void>((resolve, reject) =>
    channel.subscribe((status, error) => {
      if (status === 'SUBSCRIBED') resolve();
      else reject(new Error(`subscribing to ${topic} failed: ${status} ${error?.message ?? ''}`));
    }),
  );
}

export async function startStackWorld(layout: Layout, router: Router): Promise<StackWorld> {
  const { child, ready: info } = await forkServer<StackServerInfo>('bench/stack-server.ts', {
    // Room for the world's sockets and the catch-up pair.
    BENCH_STACK_OPTIONS: JSON.stringify({ realtime: { maxConcurrentUsers: layout.users + 20 } }),
  });
  console.log(`stack: up at ${info.url}; rate limits lifted in its throwaway database`);
  const started = now();
  const users = await inBatches(Array.from({ length: layout.users }), 8, () => createUser(info));
  console.log(`stack: ${layout.users} users signed up in ${((now() - started) / 1000).toFixed(1)} s`);
  const pairs = await inBatches(Array.from({ length: layout.users / 2 }), 8, async (_, c) => {
    const [a, b] = [users[2 * c] as TestUser, users[2 * c + 1] as TestUser];
    const { data, error } = await a.client.rpc('get_or_create_direct_conversation', { other_user_id: b.id });
    if (error) throw new Error(`creating conversation ${c} failed: ${error.message}`);
    return data as Room;
  });
  const owner = users[0] as TestUser;
  const { data, error } = await owner.client.rpc('create_group_conversation', {
    title: 'benchmark group',
    member_ids: users.slice(1, layout.group).map((user) => user.id),
  });
  if (error) throw new Error(`creating the group failed: ${error.message}`);
  const group = data as Room;
  await inBatches(users, 20, async (user, index) => {
    const deliver = (clientId: string) => router.deliver('socket', index, clientId, now());
    await subscribe(user, (pairs[Math.floor(index / 2)] as Room).topic, deliver);
    if (index < layout.group) await subscribe(user, group.topic, deliver);
  });
  console.log(
    `stack: ${layout.users} sockets subscribed to ${pairs.length} direct conversations, ` +
      `${layout.group} of them to a group too`,
  );

  const admin = new pg.Pool({ connectionString: info.dbAdminUrl ?? info.dbUrl, max: 10 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
  const url = new URL('/functions/v1/send-message', info.url);
  return {
    info,
    users,
    pairs,
    group,
    admin,
    send(sender, room, key, done) {
      const headers = {
        authorization: `Bearer ${(users[sender] as TestUser).session.access_token}`,
        apikey: info.anonKey,
      };
      const body = JSON.stringify({ conversation_id: room.id, client_id: key, body: `benchmark ${key}` });
      postJson(agent, url, headers, body, done);
    },
    cpu: () => ({
      processes: {
        'load generator': process.pid,
        'node: gateway, auth, realtime': info.pid,
        'deno: edge functions': info.denoPid,
      },
      postmaster: info.postmasterPid,
    }),
    async stop() {
      await Promise.all(users.map((user) => user.client.removeAllChannels()));
      agent.destroy();
      await admin.end();
      await stopServer(child);
    },
  };
}

export interface RelayWorld {
  pairs: string[];
  group: string;
  send(sender: number, room: string, key: string, done: (answer: Answer) => void): void;
  cpu(): CpuSources;
  stop(): Promise<void>;
}

/** The baseline relay (bench/baselines/ws-relay.ts) with its users signed in and in their rooms. */
export interface Relay {
  port: number;
  /** The relay's Node process and its PostgreSQL's postmaster, for CPU accounting. */
  pid: number;
  postmaster: number | undefined;
  /** Sends as user `sender` over its socket; `done` gets the sender's own copy of the broadcast (its answer). */
  send(sender: number, room: string, key: string, body: string, done: (answer: Answer) => void): void;
  stop(): Promise<void>;
}

/**
 * Starts the relay on a PostgreSQL of its own, started exactly like the emulator's (fsync off):
 * `userCount` sessions, user `index` a member of roomsOf(index) and on a socket of its own that
 * has joined them. Every message a socket receives goes to onMessage(index, client_id, at).
 */
export async function startRelay(
  userCount: number,
  roomsOf: (index: number) => string[],
  onMessage: (index: number, key: string, at: number) => void,
): Promise<Relay> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-relay-'));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres OS user when we are root
  const cluster = await startCluster({
    binDir: await embeddedBinDir(),
    dataDir: path.join(dataDir, 'postgres'),
    port: await freePort(),
    ephemeral: true,
    log: quietLogger('relay-postgres'),
  });
  const dbUrl = cluster.url(SUPERUSER);
  const users = Array.from({ length: userCount }, () => ({
    id: randomUUID(),
    token: randomBytes(24).toString('hex'),
  }));
  const memberships = users.flatMap((user, index) => roomsOf(index).map((room) => [room, user.id]));
  const setup = new pg.Client({ connectionString: dbUrl });
  await setup.connect();
  await setup.query(RELAY_SCHEMA);
  await setup.query(
    'insert into relay.sessions (token, user_id) select * from unnest($1::text[], $2::uuid[])',
    [users.map((user) => user.token), users.map((user) => user.id)],
  );
  await setup.query(
    'insert into relay.members (conversation_id, user_id) select * from unnest($1::uuid[], $2::uuid[])',
    [memberships.map(([room]) => room), memberships.map(([, user]) => user)],
  );
  await setup.end();

  const { child, ready } = await forkServer<{ port: number; pid: number }>('bench/baselines/ws-relay.ts', {
    RELAY_DB_URL: dbUrl,
  });
  const waiting = new Map<string, (answer: Answer) => void>();
  const sockets = await inBatches(users, 20, async (user, index) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ready.port}/?token=${user.token}`, {
      perMessageDeflate: false,
    });
    const rooms = roomsOf(index);
    let joined = 0;
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (data) => {
        const at = now();
        const frame = JSON.parse(data.toString()) as {
          t: string;
          message?: { client_id: string };
          client_id?: string;
        };
        if (frame.t === 'message' && frame.message) {
          const key = frame.message.client_id;
          onMessage(index, key, at);
          waiting.get(`${index}:${key}`)?.({ status: 200, at });
          waiting.delete(`${index}:${key}`);
        } else if (frame.t === 'joined') {
          joined += 1;
          if (joined === rooms.length) resolve();
        } else if (frame.t === 'error') {
          const answer = waiting.get(`${index}:${frame.client_id}`);
          if (answer) answer({ status: 500, at, body: JSON.stringify(frame) });
          else reject(new Error(`relay: ${JSON.stringify(frame)}`));
        }
      });
      ws.once('open', () => {
        for (const room of rooms) ws.send(JSON.stringify({ t: 'join', conversation_id: room }));
      });
    });
    return ws;
  });
  return {
    port: ready.port,
    pid: ready.pid,
    postmaster: cluster.pid,
    send(sender, room, key, body, done) {
      waiting.set(`${sender}:${key}`, done);
      (sockets[sender] as WebSocket).send(
        JSON.stringify({ t: 'send', conversation_id: room, client_id: key, body }),
      );
    },
    async stop() {
      for (const ws of sockets) ws.terminate();
      await stopServer(child);
      await cluster.stop();
      if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startRelayWorld(layout: Layout, router: Router): Promise<RelayWorld> {
  const pairs = Array.from({ length: layout.users / 2 }, () => randomUUID());
  const group = randomUUID();
  const roomsOf = (index: number) => [
    pairs[Math.floor(index / 2)] as string,
    ...(index < layout.group ? [group] : []),
  ];
  const relay = await startRelay(layout.users, roomsOf, (index, key, at) =>
    router.deliver('socket', index, key, at),
  );
  console.log(`relay: up on port ${relay.port}; ${layout.users} sockets joined ${pairs.length + 1} rooms`);
  return {
    pairs,
    group,
    send: (sender, room, key, done) => relay.send(sender, room, key, `benchmark ${key}`, done),
    cpu: () => ({
      processes: { 'load generator': process.pid, 'node: ws relay': relay.pid },
      postmaster: relay.postmaster,
    }),
    stop: () => relay.stop(),
  };
}
