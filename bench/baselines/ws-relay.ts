// The baseline for `npm run bench:send`: a hand-written chat relay of the
// classic kind (Node `ws` + `pg`, the design of most Socket.IO chat servers).
// A client connects with an opaque session token, joins rooms it is a member
// of, and sends messages over its socket; the server inserts each message into
// PostgreSQL and, once the insert returns, broadcasts the stored row to every
// socket in the room, the sender's included. No JWTs, no RLS, no idempotency,
// no sequence numbers, no receipts or inbox events, no replication: the least
// a chat server can do and still store what it relays.
//
// Protocol (JSON text frames):
//   connect  ws://127.0.0.1:<port>/?token=<session token>   (unknown token: closed with 4001)
//   → {t: 'join', conversation_id}                         ← {t: 'joined', conversation_id} | {t: 'error', …}
//   → {t: 'send', conversation_id, client_id, body}        ← to the room: {t: 'message', message: row}
//
// Run by the benchmark with fork(): RELAY_DB_URL names the database; it answers
// {ready: {port, pid}} over IPC once listening, and stops on {cmd: 'stop'}.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { WebSocket, WebSocketServer } from 'ws';

/** The relay's tables; the benchmark fills sessions and members. */
export const RELAY_SCHEMA = `
  create schema if not exists relay;
  create table if not exists relay.sessions (token text primary key, user_id uuid not null);
  create table if not exists relay.members (
    conversation_id uuid not null,
    user_id uuid not null,
    primary key (conversation_id, user_id)
  );
  create table if not exists relay.messages (
    id bigint generated always as identity primary key,
    conversation_id uuid not null,
    sender_id uuid not null,
    client_id text not null,
    body text not null,
    created_at timestamptz not null default now()
  );
  create index if not exists messages_conversation_id_idx on relay.messages (conversation_id, id);
`;

interface Client {
  userId: string;
  rooms: Set<string>;
}

export interface RelayServer {
  port: number;
  close(): Promise<void>;
}

export async function startRelay(dbUrl: string, poolSize = 10): Promise<RelayServer> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: poolSize });
  await pool.query(RELAY_SCHEMA);
  const rooms = new Map<string, Set<WebSocket>>();
  const clients = new Map<WebSocket, Client>();
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });

  const reply = (ws: WebSocket, message: unknown) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  };

  const join = async (ws: WebSocket, client: Client, conversationId: string) => {
    const { rowCount } = await pool.query(
      'select 1 from relay.members where conversation_id = $1 and user_id = $2',
      [conversationId, client.userId],
    );
    if (!rowCount) return reply(ws, { t: 'error', conversation_id: conversationId, message: 'not a member' });
    client.rooms.add(conversationId);
    let room = rooms.get(conversationId);
    if (!room) {
      room = new Set();
      rooms.set(conversationId, room);
    }
    room.add(ws);
    reply(ws, { t: 'joined', conversation_id: conversationId });
  };

  const relay = async (ws: WebSocket, client: Client, message: Record<string, unknown>) => {
    const conversationId = String(message.conversation_id);
    if (!client.rooms.has(conversationId)) {
      return reply(ws, { t: 'error', client_id: message.client_id, message: 'join the room first' });
    }
    const { rows } = await pool.query(
      `insert into relay.messages (conversation_id, sender_id, client_id, body) values ($1, $2, $3, $4)
       returning id, conversation_id, sender_id, client_id, body, created_at`,
      [conversationId, client.userId, String(message.client_id), String(message.body)],
    );
    const frame = JSON.stringify({ t: 'message', message: rows[0] });
    for (const member of rooms.get(conversationId) ?? []) {
      if (member.readyState === WebSocket.OPEN) member.send(frame);
    }
  };

  wss.on('connection', async (ws, req) => {
    const token = new URL(req.url ?? '/', 'http://relay').searchParams.get('token') ?? '';
    // Frames may arrive while the session is looked up: hold them until then.
    const early: Buffer[] = [];
    const hold = (data: Buffer) => early.push(data);
    ws.on('message', hold);
    let userId: string | undefined;
    try {
      const { rows } = await pool.query<{ user_id: string }>(
        'select user_id from relay.sessions where token = $1',
        [token],
      );
      userId = rows[0]?.user_id;
    } catch {
      ws.close(1011, 'session lookup failed');
      return;
    }
    if (!userId) {
      ws.close(4001, 'unknown session');
      return;
    }
    const client: Client = { userId, rooms: new Set() };
    clients.set(ws, client);
    const handle = (data: Buffer) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(data.toString());
      } catch {
        ws.close(1007, 'malformed message');
        return;
      }
      const work =
        message.t === 'join'
          ? join(ws, client, String(message.conversation_id))
          : message.t === 'send'
            ? relay(ws, client, message)
            : Promise.resolve(reply(ws, { t: 'error', message: 'unknown message type' }));
      work.catch((error: Error) =>
        reply(ws, { t: 'error', client_id: message.client_id, message: error.message }),
      );
    };
    ws.off('message', hold);
    ws.on('message', handle);
    for (const data of early) handle(data);
    ws.on('close', () => {
      for (const conversationId of client.rooms) rooms.get(conversationId)?.delete(ws);
      clients.delete(ws);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

// Started as a child process by the benchmark.
if (process.send && process.env.RELAY_DB_URL) {
  const relay = await startRelay(process.env.RELAY_DB_URL, Number(process.env.RELAY_POOL_SIZE ?? 10));
  const stop = async () => {
    await relay.close();
    process.exit(0);
  };
  process.on('message', (message: { cmd?: string }) => {
    if (message.cmd === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  process.send({ ready: { port: relay.port, pid: process.pid } });
}
