// HTTP plumbing shared by the emulator's services: Web Request/Response
// handlers, the JSON error envelope, and conversion from Node's http types.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

export type Handler = (request: Request) => Promise<Response>;

/** A response streamed from another HTTP server (a proxied one), without Web API objects. */
export interface NodeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/**
 * A handler on Node's own request (its body already read), for routes that only pass
 * requests on: it spares the Web Request/Response round trip. It may answer with a
 * Web Response (e.g. its own errors) or with a NodeResponse.
 */
export type NodeHandler = (req: IncomingMessage, body: Buffer, url: URL) => Promise<Response | NodeResponse>;

/** Headers that belong to one connection and are never passed on by a proxy. */
export const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
];

/** An error that becomes an HTTP response with a JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** The envelope used by the gateway itself: {code, message, details, hint}. */
export function errorBody(
  code: string,
  message: string,
  hint: string | null = null,
  details: unknown = null,
) {
  return { code, message, details, hint };
}

export const corsHeaders: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers':
    'authorization, x-client-info, apikey, content-type, content-profile, accept-profile, prefer, range, x-supabase-api-version, x-region',
  'access-control-expose-headers': 'content-range, content-location, x-supabase-api-version, retry-after',
  'access-control-max-age': '3600',
};

/**
 * How deeply a JSON request body may nest. The platform's own limits are higher (GoTrue's JSON
 * decoder stops at 10,000 levels, PostgreSQL's parser runs out of stack at about that depth);
 * here Node's JSON.stringify would overflow long before, so every service refuses deeper bodies.
 */
export const MAX_JSON_DEPTH = 1000;

/** True when `text` nests arrays and objects deeper than `limit` (strings are skipped, not parsed). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c)
        i++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      if (++depth > limit) return true;
    } else if (char === 0x5d || char === 0x7d) depth--;
  }
  return false;
}

/**
 * Reads a JSON body; an empty body is `undefined`. Malformed JSON, or JSON nested deeper than
 * MAX_JSON_DEPTH, throws `badJson(problem)` (the problem is given for the depth only).
 */
export async function readJson(request: Request, badJson: (problem?: string) => HttpError): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return undefined;
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw badJson(`The request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badJson();
  }
}

export class BodyTooLargeError extends Error {}

/** The client went away (or broke the framing) before its body was read: nobody is left to answer. */
export class ClientGoneError extends Error {}

/** Reads a Node request body, failing once it passes `limit` bytes. */
export async function readNodeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new BodyTooLargeError();
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw new ClientGoneError((error as Error).message);
  }
  return Buffer.concat(chunks);
}

/**
 * A whole HTTP/1.1 response with a JSON body, for places that write to the raw socket. It carries
 * the CORS headers every other answer has, so that a browser can read why it was refused.
 */
export function rawJsonResponse(status: number, reason: string, body: unknown): string {
  const text = JSON.stringify(body);
  const cors = Object.entries(corsHeaders)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n${cors}` +
    `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`
  );
}

/** Builds a Web Request from a Node request whose body has already been read. */
export function toWebRequest(req: IncomingMessage, body: Buffer, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD' && body.length > 0;
  return new Request(new URL(req.url ?? '/', origin), {
    method,
    headers,
    body: hasBody ? new Uint8Array(body) : undefined,
  });
}

/** Writes a NodeResponse to a Node response, streaming its body; `defaults` fill headers it lacks. */
export async function sendNodeResponse(
  res: ServerResponse,
  response: NodeResponse,
  defaults: Record<string, string>,
): Promise<void> {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && !HOP_BY_HOP.includes(name)) headers[name] = value;
  }
  for (const [name, value] of Object.entries(defaults)) headers[name] ??= value;
  res.writeHead(response.status, headers);
  // A plain pipe: stream.pipeline() would make an AbortController (and a DOMException) per response.
  await new Promise<void>((resolve) => {
    const fail = () => {
      res.destroy();
      resolve();
    };
    response.body.once('error', fail);
    res.once('close', () => {
      // The client went away first: stop reading what is left.
      if (!res.writableFinished) response.body.destroy();
      resolve();
    });
    response.body.pipe(res);
  });
}

/** Writes a Web Response to a Node response, streaming its body. */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie') return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body) res.write(chunk);
  res.end();
}
