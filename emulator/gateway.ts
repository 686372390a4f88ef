// One HTTP entry point, like the platform's API gateway: routes /auth/v1,
// /rest/v1, /functions/v1 and /realtime/v1 to their services, checks the API
// key where the platform does, caps request bodies, adds CORS, and turns any
// failure into a JSON error instead of a crash, down to requests that are not
// HTTP at all. Like the platform's edge it tells the services who the client
// is: X-Forwarded-For is the address of the connection, whatever the client sent.

import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  BodyTooLargeError,
  ClientGoneError,
  corsHeaders,
  errorBody,
  type Handler,
  json,
  type NodeHandler,
  rawJsonResponse,
  readNodeBody,
  sendNodeResponse,
  sendWebResponse,
  toWebRequest,
} from './http.ts';
import type { Keys } from './keys.ts';
import type { Logger } from './log.ts';

interface RouteOptions {
  prefix: string;
  /** Whether the platform's gateway demands a project API key on this route. */
  requiresApiKey: boolean;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Paths under the prefix that need no API key (e.g. the JWKS). */
  openPaths?: string[];
}

/** A service behind a prefix: a Web handler, or (for routes that proxy) a handler of Node's own request. */
export type Route = RouteOptions &
  ({ handle: Handler; handleNode?: undefined } | { handleNode: NodeHandler; handle?: undefined });

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface Gateway {
  readonly port: number;
  readonly url: string;
  setRoutes(routes: Route[]): void;
  setUpgrade(path: string, handler: UpgradeHandler): void;
  close(): Promise<void>;
}

const apiKeyOf = (req: IncomingMessage, url: URL) =>
  (req.headers.apikey as string | undefined) ?? url.searchParams.get('apikey') ?? undefined;

export async function startGateway(options: {
  port: number;
  keys: Keys;
  log: Logger;
  home?: Handler;
}): Promise<Gateway> {
  const { keys, log } = options;
  let routes: Route[] = [];
  const upgrades = new Map<string, UpgradeHandler>();

  const send = async (res: ServerResponse, response: Response) => {
    for (const [name, value] of Object.entries(corsHeaders)) {
      if (!response.headers.has(name)) response.headers.set(name, value);
    }
    await sendWebResponse(res, response);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    req.headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      res.setHeader('connection', 'close');
      return send(res, json(errorBody('bad_request', 'An HTTP/1.1 request must have a Host header'), 400));
    }
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', origin);
    } catch {
      return send(res, json(errorBody('bad_request', 'The request URL could not be parsed'), 400));
    }
    const route = routes.find((r) => url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`));
    if (!route) {
      if (options.home && !url.pathname.match(/^\/(auth|rest|functions|realtime)\//)) {
        return send(res, await options.home(toWebRequest(req, Buffer.alloc(0), origin)));
      }
      return send(res, json(errorBody('not_found', `No route matches ${req.method} ${url.pathname}`), 404));
    }
    const isFunction = route.prefix === '/functions/v1';
    if (req.method === 'OPTIONS' && !isFunction) return send(res, new Response(null, { status: 204 }));
    const subPath = url.pathname.slice(route.prefix.length);
    if (route.requiresApiKey && !route.openPaths?.includes(subPath)) {
      const apiKey = apiKeyOf(req, url);
      if (!apiKey) {
        return send(
          res,
          json(
            errorBody(
              'no_api_key',
              'No API key found in request',
              'No `apikey` request header or url param was found.',
            ),
            401,
          ),
        );
      }
      if (!keys.apiKeyRole(apiKey))
        return send(res, json(errorBody('invalid_api_key', 'Invalid API key'), 401));
    }
    let body: Buffer;
    try {
      body = await readNodeBody(req, route.bodyLimit);
    } catch (error) {
      if (error instanceof ClientGoneError) {
        res.destroy();
        return;
      }
      if (error instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        return send(
          res,
          json(
            errorBody('payload_too_large', `Request body exceeds the limit of ${route.bodyLimit} bytes`),
            413,
          ),
        );
      }
      throw error;
    }
    if (route.handleNode) {
      const answer = await route.handleNode(req, body, url);
      if (answer instanceof Response) return send(res, answer);
      return sendNodeResponse(res, answer, corsHeaders);
    }
    return send(res, await (route.handle as Handler)(toWebRequest(req, body, origin)));
  };

  // Node answers a request without Host itself, with an empty 400; serve() answers it with JSON.
  const server = http.createServer({ requireHostHeader: false }, (req, res) => {
    serve(req, res).catch((error: unknown) => {
      const id = randomUUID();
      log.error(
        `request ${id} (${req.method} ${req.url}) failed: ${error instanceof Error ? error.stack : error}`,
      );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json', ...corsHeaders });
      res.end(JSON.stringify(errorBody('internal_error', `Internal error (id ${id}); see the emulator log`)));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    // The endpoint's own path (a trailing slash allowed), not everything that starts with it.
    const handler = upgrades.get(pathname.replace(/(.)\/$/, '$1'));
    if (handler) {
      req.headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
      handler(req, socket, head);
      return;
    }
    socket.end(
      rawJsonResponse(404, 'Not Found', errorBody('not_found', 'No WebSocket endpoint at this path')),
    );
  });
  // Requests Node cannot parse: oversized headers, a broken request line, Content-Length or chunk size.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    socket.end(
      error.code === 'HPE_HEADER_OVERFLOW'
        ? rawJsonResponse(
            431,
            'Request Header Fields Too Large',
            errorBody('headers_too_large', 'The request headers exceed 16 KB'),
          )
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? rawJsonResponse(408, 'Request Timeout', errorBody('request_timeout', 'The request took too long'))
          : rawJsonResponse(
              400,
              'Bad Request',
              errorBody('bad_request', 'The request is not valid HTTP/1.1'),
            ),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${options.port} is already in use on 127.0.0.1 (is another emulator running?)`)
          : error,
      ),
    );
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    setRoutes: (next) => {
      routes = next;
    },
    setUpgrade: (path, handler) => {
      upgrades.set(path, handler);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
