// Drives one Realtime socket through a generated sequence of frames and says
// what was wrong with how the server took it: every frame it sends must be a
// well-formed message of the socket's serializer; every join, leave and
// heartbeat is answered exactly once while the socket stays open; a socket the
// server closes is closed cleanly, with 1007 (malformed), 1008 (flood) or 1009
// (too big); and once the socket is gone the server holds nothing of it.

import WebSocket from 'ws';
import type { Vsn } from '../../emulator/realtime/protocol.ts';
import { encodeText, expectsReply, type Frame } from './frames.ts';
import type { Ledger } from './ledger.ts';
import { ANSWER_BOUND_MS } from './options.ts';

/** Codes a server may close a garbage-fed socket with: malformed, policy (flood), too big. */
const CLEAN_CLOSES = new Set([1007, 1008, 1009]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isRef = (value: unknown) => value === null || typeof value === 'string';

interface Message {
  ref: unknown;
  topic: string;
  event: string;
  payload: unknown;
}

/** A text frame from the server, decoded, or what is wrong with it. */
function decodeServerText(vsn: Vsn, text: string): Message | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `a text frame that is not JSON: ${text.slice(0, 80)}`;
  }
  if (vsn === '2.0.0') {
    if (!Array.isArray(parsed) || parsed.length !== 5) return `not a V2 array: ${text.slice(0, 80)}`;
    const [joinRef, ref, topic, event, payload] = parsed;
    if (!isRef(joinRef) || !isRef(ref) || typeof topic !== 'string' || typeof event !== 'string')
      return `a V2 message with wrong field types: ${text.slice(0, 80)}`;
    return { ref, topic, event, payload };
  }
  if (
    !isRecord(parsed) ||
    typeof parsed.topic !== 'string' ||
    typeof parsed.event !== 'string' ||
    !isRef(parsed.ref)
  )
    return `not a V1 message: ${text.slice(0, 80)}`;
  if (!('payload' in parsed)) return `a V1 message without payload: ${text.slice(0, 80)}`;
  return { ref: parsed.ref, topic: parsed.topic, event: parsed.event, payload: parsed.payload };
}

/** What is wrong with a message's payload for its event (empty: nothing). */
function payloadProblems(message: Message): string[] {
  const { event, payload } = message;
  if (event === 'phx_reply') {
    if (
      !isRecord(payload) ||
      (payload.status !== 'ok' && payload.status !== 'error') ||
      !('response' in payload)
    )
      return [`a reply that is not {status, response}: ${JSON.stringify(payload).slice(0, 80)}`];
  } else if (event === 'system') {
    if (!isRecord(payload) || typeof payload.message !== 'string' || typeof payload.status !== 'string')
      return [`a system message without status and message: ${JSON.stringify(payload).slice(0, 80)}`];
  } else if (['broadcast', 'presence_state', 'presence_diff', 'phx_close'].includes(event)) {
    if (!isRecord(payload)) return [`a ${event} whose payload is not an object`];
  } else {
    return [`an event the server does not send: ${event}`];
  }
  return [];
}

/** A kind-4 binary broadcast: [4, topic, event, meta lengths, encoding] + the strings + the payload. */
function binaryProblems(vsn: Vsn, bytes: Buffer): string[] {
  if (vsn !== '2.0.0') return ['a binary frame on a 1.0.0 socket'];
  if (bytes[0] !== 4 || bytes.length < 5) return [`a binary frame of kind ${bytes[0]}`];
  const [topicLength, eventLength, metaLength] = [bytes[1], bytes[2], bytes[3]] as [number, number, number];
  const start = 5 + topicLength + eventLength + metaLength;
  if (start > bytes.length) return ['a binary broadcast shorter than its lengths say'];
  if (bytes[4] !== 0 && bytes[4] !== 1) return [`a binary broadcast with encoding ${bytes[4]}`];
  if (bytes[4] === 1) {
    try {
      JSON.parse(bytes.subarray(start).toString('utf8'));
    } catch {
      return ['a binary broadcast whose JSON payload is not JSON'];
    }
  }
  return [];
}

const EVENTS = ['phx_join', 'phx_leave', 'heartbeat', 'broadcast', 'presence', 'access_token'];
const messageKind = (event: unknown) =>
  typeof event === 'string' && EVENTS.includes(event) ? event : 'other message';

export interface RealtimeCounts {
  connections: number;
  users: number;
  channels: number;
  topics: number;
  presences: number;
}

const sameCounts = (a: RealtimeCounts, b: RealtimeCounts) =>
  a.connections === b.connections &&
  a.users === b.users &&
  a.channels === b.channels &&
  a.topics === b.topics &&
  a.presences === b.presences;

/** Resolves when `done()` holds, re-checked after every event of the socket; false after the bound. */
function waiter(ws: WebSocket) {
  const checks = new Set<() => void>();
  const recheck = () => {
    for (const check of [...checks]) check();
  };
  ws.on('message', recheck);
  ws.on('close', recheck);
  return (done: () => boolean, boundMs = ANSWER_BOUND_MS) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), boundMs);
      const check = () => {
        if (done()) finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        checks.delete(check);
        resolve(ok);
      };
      checks.add(check);
      check();
    });
}

export interface SocketTarget {
  url: string;
  apiKey: string;
  ledger: Ledger;
  /** The server's counts with nothing but the canary connected. */
  baseline: RealtimeCounts;
  counts: () => RealtimeCounts;
}

/** Plays `frames` on a fresh socket of serializer `vsn`; returns everything that went wrong. */
export async function playFrames(target: SocketTarget, vsn: Vsn, frames: Frame[]): Promise<string[]> {
  const { ledger } = target;
  const problems: string[] = [];
  const ws = new WebSocket(`${target.url}?apikey=${target.apiKey}&vsn=${vsn}`);
  const replies = new Map<string, number>();
  const joins = new Set(
    frames.filter((f) => expectsReply(f) && f.event === 'phx_join').map((f) => (f as { ref: string }).ref),
  );
  let closed: { code: number; reason: string } | undefined;
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
  });
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) {
      problems.push(...binaryProblems(vsn, data));
      return;
    }
    const message = decodeServerText(vsn, data.toString('utf8'));
    if (typeof message === 'string') {
      problems.push(message);
      return;
    }
    problems.push(...payloadProblems(message));
    if (message.event === 'phx_reply' && typeof message.ref === 'string') {
      replies.set(message.ref, (replies.get(message.ref) ?? 0) + 1);
      if (joins.has(message.ref)) ledger.joinAnswered(message.payload);
    }
  });
  // After the handlers above, so that a check sees what the event brought.
  const until = waiter(ws);
  const opened = await new Promise<string | undefined>((resolve) => {
    ws.once('open', () => resolve(undefined));
    ws.once('error', (error) => resolve(error.message));
  });
  if (opened !== undefined) return [`the socket did not open: ${opened}`];
  ws.on('error', (error) => problems.push(`the client saw a broken frame: ${error.message}`));
  ledger.sockets += 1;

  const isOpen = () => ws.readyState === WebSocket.OPEN;
  let probes = 0;
  const heartbeat = async () => {
    const ref = `probe${probes++}`;
    ws.send(
      encodeText(vsn, {
        kind: 'message',
        joinRef: null,
        ref,
        topic: 'phoenix',
        event: 'heartbeat',
        payload: {},
        otherShape: false,
      }),
    );
    ledger.frame('heartbeat');
    if (!(await until(() => replies.has(ref) || closed !== undefined)))
      problems.push(`heartbeat ${ref} got no reply`);
  };

  for (const frame of frames) {
    if (!isOpen()) break;
    switch (frame.kind) {
      case 'message':
        ws.send(encodeText(vsn, frame));
        break;
      case 'text':
        ws.send(frame.text);
        break;
      case 'raw-text':
        ws.send(Buffer.from(frame.bytes), { binary: false });
        break;
      case 'binary':
        ws.send(Buffer.from(frame.bytes), { binary: true });
        break;
      case 'burst':
        for (let i = 0; i < frame.count; i++) ws.send(encodeText(vsn, frame.frame));
        ledger.frame(`${messageKind(frame.frame.event)} (in bursts)`, frame.count);
        continue;
      case 'settle':
        await heartbeat();
        continue;
    }
    ledger.frame(frame.kind === 'message' ? messageKind(frame.event) : frame.kind);
  }
  if (isOpen()) await heartbeat();

  const owed = frames.filter(expectsReply).map((frame) => frame.ref);
  if (closed === undefined) {
    const answered = await until(() => closed !== undefined || owed.every((ref) => replies.has(ref)));
    if (!answered) problems.push(`never answered: ${owed.filter((ref) => !replies.has(ref)).join(', ')}`);
  }
  for (const ref of owed)
    if ((replies.get(ref) ?? 0) > 1) problems.push(`${ref} answered ${replies.get(ref)} times`);

  if (closed === undefined) {
    ws.close(1000);
    if (!(await until(() => closed !== undefined)))
      problems.push('the server did not finish the close handshake');
    ledger.socketClosed('by the fuzzer');
  } else {
    ledger.socketClosed(`by the server, ${closed.code}`);
    if (!CLEAN_CLOSES.has(closed.code)) problems.push(`closed with ${closed.code} ${closed.reason}`);
  }
  problems.push(...(await leftovers(target)));
  return problems;
}

/** Waits (within the bound) for the server to let go of a socket; what it still holds if it does not. */
export async function leftovers(target: SocketTarget): Promise<string[]> {
  for (let waited = 0; waited < ANSWER_BOUND_MS; waited += 20) {
    if (sameCounts(target.counts(), target.baseline)) return [];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return [
    `the server still holds ${JSON.stringify(target.counts())}, not ${JSON.stringify(target.baseline)}`,
  ];
}

export interface Upgrade {
  /** Path and query of the upgrade request. */
  target: string;
  headers: Record<string, string>;
}

/**
 * Asks for a socket; either it opens (and is closed again) or the refusal is a JSON error with a
 * code and a message. What was wrong, if anything.
 */
export async function tryUpgrade(baseUrl: string, upgrade: Upgrade, ledger: Ledger): Promise<string[]> {
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + upgrade.target, { headers: upgrade.headers });
  const outcome = await new Promise<string[]>((resolve) => {
    const timer = setTimeout(
      () => resolve([`no answer to the upgrade within ${ANSWER_BOUND_MS / 1000} s`]),
      ANSWER_BOUND_MS,
    );
    const done = (problems: string[]) => {
      clearTimeout(timer);
      resolve(problems);
    };
    ws.once('open', () => {
      ledger.upgrade('accepted');
      ws.close(1000);
      ws.once('close', () => done([]));
    });
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => {
        ledger.upgrade(`refused ${response.statusCode}`);
        const problems: string[] = [];
        if ((response.statusCode ?? 500) >= 500) problems.push(`status ${response.statusCode}`);
        try {
          const body = JSON.parse(text) as { code?: unknown; message?: unknown };
          if (typeof body.code !== 'string' || typeof body.message !== 'string')
            problems.push(`a refusal without code and message: ${text}`);
        } catch {
          problems.push(`a refusal that is not JSON: ${response.statusCode} ${text.slice(0, 100)}`);
        }
        done(problems);
      });
    });
    ws.once('error', (error) => {
      if (error.message.startsWith('Unexpected server response')) return; // 'unexpected-response' tells
      done([`the upgrade failed: ${error.message}`]);
    });
  });
  ws.terminate();
  return outcome;
}
