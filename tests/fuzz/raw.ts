// Bytes no HTTP client would send: a valid request mutated (bytes inserted,
// deleted or replaced, cut short, a Content-Length that lies, a chunked body
// that breaks), written straight to the gateway's socket; and a WebSocket
// handshake followed by frames the WebSocket protocol forbids. Whatever comes
// back is read as HTTP/1.1 (or as WebSocket frames) by hand.

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { ANSWER_BOUND_MS } from './options.ts';
import { sometimes } from './values.ts';

export interface RawAnswer {
  /** The first response's status, if one came. */
  status?: number;
  headers: Headers;
  body: string;
  /** Whether the server closed the connection within the bound. */
  closed: boolean;
}

/** Writes `bytes`, half-closes, and collects what comes back until the server closes (or the bound). */
export function exchange(port: number, bytes: Uint8Array): Promise<Buffer & { closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    const timer = setTimeout(() => finish(false), ANSWER_BOUND_MS);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Object.assign(Buffer.concat(chunks), { closed }));
    };
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset ends it too
    socket.on('close', () => finish(true));
  });
}

/** The first HTTP/1.1 response in `bytes` (Content-Length or chunked; as much body as came). */
export function parseResponse(bytes: Buffer & { closed: boolean }): RawAnswer {
  let text = bytes.toString('latin1');
  // Interim answers (100 Continue) come before the response.
  let skipped = 0;
  while (/^HTTP\/1\.1 1\d\d /.test(text) && !text.startsWith('HTTP/1.1 101')) {
    const interim = text.indexOf('\r\n\r\n');
    if (interim === -1) break;
    skipped += interim + 4;
    text = text.slice(interim + 4);
  }
  bytes = Object.assign(bytes.subarray(skipped), { closed: bytes.closed });
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
  const headers = new Headers();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = end === -1 ? Buffer.alloc(0) : bytes.subarray(end + 4);
  if (headers.get('transfer-encoding') === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      if (lineEnd === -1) break;
      const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers.has('content-length')) {
    body = body.subarray(0, Number(headers.get('content-length')));
  }
  return {
    status: status ? Number(status) : undefined,
    headers,
    body: body.toString('utf8'),
    closed: bytes.closed,
  };
}

/** A request line and headers for the gateway, ready to be broken. */
function template(host: string, apiKey: string) {
  const body = '{"query":"ab","max_rows":2}';
  return fc.constantFrom(
    `POST /rest/v1/rpc/search_profiles HTTP/1.1\r\nHost: ${host}\r\napikey: ${apiKey}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    `GET /auth/v1/settings HTTP/1.1\r\nHost: ${host}\r\napikey: ${apiKey}\r\n\r\n`,
    `POST /functions/v1/whoami HTTP/1.1\r\nHost: ${host}\r\nauthorization: Bearer ${apiKey}\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    `POST /realtime/v1/api/broadcast HTTP/1.1\r\nHost: ${host}\r\napikey: ${apiKey}\r\ncontent-type: application/json\r\ncontent-length: 14\r\n\r\n{"messages":1}`,
    `GET /realtime/v1/websocket?apikey=${apiKey}&vsn=2.0.0 HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
  );
}

type Mutation =
  | { kind: 'insert' | 'replace'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'cut'; at: number }
  | { kind: 'header'; line: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('insert' as const, 'replace' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({
    kind: fc.constantFrom('insert' as const, 'replace' as const),
    at: fc.nat(),
    bytes: fc
      .constantFrom('\r\n', '\n', ' ', ':', '\u0000', '\r\n\r\n', 'Transfer-Encoding: chunked\r\n')
      .map((s) => Buffer.from(s, 'latin1')),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('header' as const),
    line: fc.constantFrom(
      'content-length: 99999',
      'content-length: -1',
      'content-length: 3, 4',
      'transfer-encoding: chunked',
      'transfer-encoding: gzip',
      'expect: 100-continue',
      'connection: close',
      `x-big: ${'a'.repeat(17_000)}`,
      'host: ',
      'apikey: \u00ff',
    ),
  }),
);

/** The request with its mutations applied, as Latin-1 text (one character a byte, readable in a counterexample). */
function mutate(request: string, mutations: Mutation[]): string {
  let bytes = Buffer.from(request, 'latin1');
  for (const m of mutations) {
    if (m.kind === 'header') {
      const lineEnd = bytes.indexOf('\r\n');
      if (lineEnd === -1) continue;
      bytes = Buffer.concat([
        bytes.subarray(0, lineEnd + 2),
        Buffer.from(`${m.line}\r\n`, 'latin1'),
        bytes.subarray(lineEnd + 2),
      ]);
      continue;
    }
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    else if (m.kind === 'replace')
      bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at + m.bytes.length)]);
    else if (m.kind === 'delete')
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    else bytes = bytes.subarray(0, at);
  }
  return bytes.toString('latin1');
}

export function rawRequestArb(host: string, apiKey: string): fc.Arbitrary<string> {
  return fc
    .tuple(template(host, apiKey), fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
    .map(([request, mutations]) => mutate(request, mutations));
}

/** A client frame of the WebSocket protocol (masked, as clients must), from its parts. */
function wsFrame(
  fin: boolean,
  rsv: number,
  opcode: number,
  masked: boolean,
  payload: Uint8Array,
  declared?: number,
): Buffer {
  const length = declared ?? payload.length;
  const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)) & 0xff];
  const mask = masked ? 0x80 : 0;
  const extra: number[] = [];
  if (length < 126) head.push(mask | length);
  else if (length < 65_536) {
    head.push(mask | 126);
    extra.push(length >> 8, length & 0xff);
  } else {
    head.push(mask | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    extra.push(...big);
  }
  const key = masked ? [1, 2, 3, 4] : [];
  const body = Buffer.from(payload).map((byte, i) => (masked ? byte ^ (key[i % 4] as number) : byte));
  return Buffer.concat([Buffer.from([...head, ...extra, ...key]), body]);
}

/** WebSocket frames after a good handshake: reserved bits and opcodes, no mask, lying lengths, bad close codes. */
export function rawFramesArb(): fc.Arbitrary<Buffer> {
  const frame = fc
    .record({
      fin: fc.boolean(),
      rsv: fc.constantFrom(0, 0, 0, 1, 4, 7),
      opcode: fc.constantFrom(0x0, 0x1, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb, 0xf),
      masked: fc.constantFrom(true, true, true, false),
      payload: fc.oneof(
        fc.uint8Array({ maxLength: 20 }),
        fc.constant(Buffer.from('[null,"1","phoenix","heartbeat",{}]')),
        fc.constantFrom(
          Buffer.from([0x03, 0xe8]),
          Buffer.from([0x00, 0x01]),
          Buffer.from([0x13, 0x88, 0xff]),
          Buffer.from([0x03]),
        ),
      ),
      declared: sometimes(fc.constantFrom(0, 1, 200, 70_000, 6_000_000), 5),
    })
    .map((f) => wsFrame(f.fin, f.rsv, f.opcode, f.masked, f.payload, f.declared));
  return fc.array(frame, { minLength: 1, maxLength: 4 }).map((frames) => Buffer.concat(frames));
}

/** The handshake for a raw WebSocket connection to Realtime. */
export function upgradeRequest(host: string, apiKey: string): Buffer {
  return Buffer.from(
    `GET /realtime/v1/websocket?apikey=${apiKey}&vsn=2.0.0 HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\n` +
      `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
    'latin1',
  );
}

/** The close code of the first close frame the server sent after its 101, if any. */
export function serverCloseCode(bytes: Buffer): number | undefined {
  const start = bytes.indexOf('\r\n\r\n');
  if (start === -1) return undefined;
  let at = start + 4;
  while (at + 2 <= bytes.length) {
    const opcode = (bytes[at] as number) & 0x0f;
    let length = (bytes[at + 1] as number) & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset));
      offset += 8;
    }
    if (opcode === 0x8) return length >= 2 ? bytes.readUInt16BE(offset) : 1005;
    at = offset + length;
  }
  return undefined;
}
