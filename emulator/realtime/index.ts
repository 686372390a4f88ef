// Realtime (/realtime/v1): the service @supabase/realtime-js talks to.
//
//   limits.ts         the platform's limits and the counters that enforce them
//   protocol.ts       Phoenix frames, vsn 1.0.0 and 2.0.0 (binary user broadcasts)
//   join-schema.ts    the phx_join payload (zod, mirroring the platform's schema)
//   tokens.ts         JWT checks with the platform's error names and messages
//   authorization.ts  the RLS probe on realtime.messages for private channels
//   registry.ts       topics in their public and private spaces; fan-out
//   presence.ts       presence state and diffs
//   channel.ts        a joined channel: join, broadcast, presence, token refresh, shutdown
//   connection.ts     a WebSocket: frames, heartbeats, per-socket limits
//   replication.ts    Broadcast from Database: logical replication (pgoutput.ts decodes it)
//   replay.ts         broadcast.replay on join
//   http-api.ts       POST /api/broadcast and /api/broadcast/<topic>/events/<event>
//
// startRealtime() wires them together; the gateway hands it WebSocket upgrades
// (handleUpgrade) and HTTP requests (handle).

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { errorBody, type Handler, rawJsonResponse } from '../http.ts';
import type { Keys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { createAuthorizer } from './authorization.ts';
import { Connection } from './connection.ts';
import type { RealtimeContext } from './context.ts';
import { createBroadcastApi } from './http-api.ts';
import { payloadByteLimit, type RealtimeLimits, resolveLimits } from './limits.ts';
import { PresenceTracker } from './presence.ts';
import { negotiateVsn } from './protocol.ts';
import { Registry, spaceOf } from './registry.ts';
import { type MessageRow, type ReplicationStats, startReplication } from './replication.ts';
import { checkToken } from './tokens.ts';
import { ConcurrentUsers } from './users.ts';

export type { RealtimeLimits } from './limits.ts';

export interface RealtimeDeps {
  keys: Keys;
  /** The server's own database connection: supabase_admin, as on the platform (it replicates, probes, replays). */
  dbUrl: string;
  log: Logger;
  limits?: Partial<RealtimeLimits>;
  /** Stream database broadcasts (default true). */
  replication?: boolean;
}

export interface RealtimeStats {
  connections: number;
  users: number;
  channels: number;
  topics: number;
  presences: number;
  replication: ReplicationStats | undefined;
}

export interface RealtimeService {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The HTTP broadcast API. */
  handle: Handler;
  readonly limits: RealtimeLimits;
  /** Resolves once database broadcasts stream (immediately if they are switched off). */
  whenStreaming(): Promise<void>;
  stats(): RealtimeStats;
  /**
   * Closes every socket (1001, as a deploy of the platform's Realtime does) and stops; `abrupt`
   * cuts them without a close frame instead, as a crash would.
   */
  stop(options?: { abrupt?: boolean }): Promise<void>;
}

/** Refuses a WebSocket upgrade with the gateway's JSON envelope (the platform answers with no body). */
function rejectUpgrade(socket: Duplex, status: number, text: string, body: ReturnType<typeof errorBody>) {
  socket.end(rawJsonResponse(status, text, body));
}

/**
 * Starts the service. Resolves once database broadcasts stream, so that a row
 * committed after start-up reaches subscribers (after 10 s it resolves anyway
 * and the stream keeps trying in the background).
 */
export async function startRealtime(deps: RealtimeDeps): Promise<RealtimeService> {
  const { keys, log } = deps;
  const limits = resolveLimits(deps.limits);
  const registry = new Registry();
  const presence = new PresenceTracker();
  const authorizer = createAuthorizer({ url: deps.dbUrl, log });
  const connections = new Set<Connection>();
  let channelIds = 0;
  let stopping = false;

  const deliverRow = (row: MessageRow) => {
    const broadcast =
      row.payload.encoding === 'json'
        ? {
            event: row.event,
            encoding: 'json' as const,
            payload: Buffer.from(row.payload.text),
            meta: { id: row.id },
          }
        : { event: row.event, encoding: 'binary' as const, payload: row.payload.bytes, meta: { id: row.id } };
    if (broadcast.payload.length > payloadByteLimit(limits)) {
      log.warn(`UnableToBroadcastChanges: the payload of message ${row.id} exceeds the size limit`);
      return;
    }
    registry.deliver(spaceOf(row.private, row.topic), {
      kind: 'user-broadcast',
      broadcast,
      messageId: row.id,
    });
  };

  const replication =
    deps.replication === false
      ? undefined
      : startReplication({
          url: deps.dbUrl,
          log,
          onRow: deliverRow,
          onBadRow: (reason) => log.warn(`UnableToBroadcastChanges: ${reason}`),
        });

  const context: RealtimeContext = {
    keys,
    log,
    limits,
    authorizer,
    registry,
    presence,
    replication,
    users: new ConcurrentUsers(limits),
    nextChannelId: () => ++channelIds,
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes,
    perMessageDeflate: false,
  });
  // A handshake ws itself refuses (no valid key, version or Upgrade header) gets the JSON
  // envelope too, rather than ws's text/html answer.
  wss.on('wsClientError', (error, socket, req) => {
    const get = req.method === 'GET';
    rejectUpgrade(
      socket,
      get ? 400 : 405,
      get ? 'Bad Request' : 'Method Not Allowed',
      errorBody(
        get ? 'bad_request' : 'method_not_allowed',
        `Not a valid WebSocket handshake: ${error.message}`,
      ),
    );
  });
  const api = createBroadcastApi(context);

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (stopping) {
      return rejectUpgrade(
        socket,
        503,
        'Service Unavailable',
        errorBody('service_unavailable', 'Realtime is stopping'),
      );
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const apiKey = header('apikey') ?? header('x-api-key') ?? url.searchParams.get('apikey') ?? undefined;
    if (!apiKey) {
      return rejectUpgrade(
        socket,
        401,
        'Unauthorized',
        errorBody(
          'no_api_key',
          'No API key found in request',
          'No `apikey` request header or url param was found.',
        ),
      );
    }
    if (!keys.apiKeyRole(apiKey)) {
      return rejectUpgrade(socket, 401, 'Unauthorized', errorBody('invalid_api_key', 'Invalid API key'));
    }
    const vsn = negotiateVsn(url.searchParams.get('vsn'));
    if (!vsn) {
      return rejectUpgrade(
        socket,
        403,
        'Forbidden',
        errorBody('unsupported_serializer', 'The serializer version (vsn) must be 1.0.0 or 2.0.0'),
      );
    }
    const checked = await checkToken(keys, apiKey);
    if (!checked.ok) {
      return rejectUpgrade(socket, 401, 'Unauthorized', errorBody('invalid_jwt', checked.shutdownMessage));
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-') && value !== undefined)
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (stopping) {
        ws.close(1001, 'server shutting down');
        return;
      }
      // The gateway names the client's address in X-Forwarded-For.
      const address = header('x-forwarded-for') ?? req.socket.remoteAddress ?? '';
      const connection = new Connection(context, ws, { vsn, apiKey, address, headers }, (closed) =>
        connections.delete(closed),
      );
      connections.add(connection);
    });
  };

  if (replication) {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 10_000);
    });
    if (await Promise.race([replication.whenStreaming().then(() => false), gaveUp])) {
      log.warn('database broadcasts are not streaming yet; the emulator keeps trying in the background');
    }
    clearTimeout(timer);
  }

  return {
    limits,
    handleUpgrade: (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      upgrade(req, socket, head).catch((error: Error) => {
        log.error(`a realtime WebSocket upgrade failed: ${error.stack ?? error}`);
        rejectUpgrade(
          socket,
          500,
          'Internal Server Error',
          errorBody('internal_error', 'Internal error; see the emulator log'),
        );
      });
    },
    handle: api,
    whenStreaming: () => replication?.whenStreaming() ?? Promise.resolve(),
    stats: () => {
      let channels = 0;
      for (const connection of connections) channels += connection.channelCount();
      return {
        connections: connections.size,
        users: context.users.size,
        channels,
        topics: registry.spaceCount,
        presences: presence.size,
        replication: replication?.stats(),
      };
    },
    stop: async (options = {}) => {
      stopping = true;
      if (options.abrupt) for (const ws of wss.clients) ws.terminate();
      for (const connection of [...connections]) connection.close(1001, 'server shutting down');
      // Give clients a moment to see the close frame, then cut whatever is left.
      for (let waited = 0; wss.clients.size > 0 && waited < 1000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const ws of wss.clients) ws.terminate();
      await replication?.stop();
      await authorizer.stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
