// The Phoenix wire format spoken by @supabase/realtime-js, both serializers:
//   vsn 1.0.0: text frames holding JSON objects {topic, event, payload, ref[, join_ref]};
//   vsn 2.0.0: text frames holding JSON arrays [join_ref, ref, topic, event, payload],
//              plus binary user broadcasts: kind 3 from the client, kind 4 to it.
// Decoding never throws: a frame that is not a message comes back as an error,
// and so does JSON nested deeper than the emulator handles (MAX_JSON_DEPTH).

import { MAX_JSON_DEPTH, nestsDeeperThan } from '../http.ts';

export type Vsn = '1.0.0' | '2.0.0';
export type Ref = string | null;

/** A user broadcast as carried by binary frames (and by database broadcasts). */
export interface UserBroadcast {
  event: string;
  /** 'json': `payload` holds UTF-8 JSON text; 'binary': raw bytes. */
  encoding: 'json' | 'binary';
  payload: Buffer;
  /** Sent to clients as the frame's metadata (e.g. `{id}` of a database broadcast). */
  meta?: Record<string, unknown>;
}

export interface InboundMessage {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  /** The JSON payload; for a binary user broadcast, `{type, event}` (the bytes are in `userBroadcast`). */
  payload: unknown;
  userBroadcast?: UserBroadcast;
}

export type Decoded = { ok: true; message: InboundMessage } | { ok: false; reason: string };

const USER_BROADCAST_PUSH = 3;
const USER_BROADCAST = 4;
const PUSH = 0;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Which serializer a `vsn` query parameter selects (Phoenix: `~> 1.0.0` and `~> 2.0.0`); null if none. */
export function negotiateVsn(vsn: string | null): Vsn | null {
  const requested = vsn ?? '1.0.0'; // Phoenix's default when the client names none
  if (/^1\.0\.\d+$/.test(requested)) return '1.0.0';
  if (/^2\.0\.\d+$/.test(requested)) return '2.0.0';
  return null;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Phoenix accepts any JSON scalar as a ref; realtime-js sends strings. */
function toRef(value: unknown): Ref | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function message(joinRef: unknown, ref: unknown, topic: unknown, event: unknown, payload: unknown): Decoded {
  const j = toRef(joinRef);
  const r = toRef(ref);
  if (j === undefined || r === undefined)
    return { ok: false, reason: 'refs must be strings, numbers or null' };
  if (typeof topic !== 'string') return { ok: false, reason: 'the topic must be a string' };
  if (typeof event !== 'string') return { ok: false, reason: 'the event must be a string' };
  return { ok: true, message: { joinRef: j, ref: r, topic, event, payload } };
}

function decodeText(vsn: Vsn, text: string): Decoded {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return { ok: false, reason: `the frame nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the frame is not valid JSON' };
  }
  if (vsn === '2.0.0') {
    if (!Array.isArray(parsed) || parsed.length < 5) {
      return { ok: false, reason: 'expected a V2 array [join_ref, ref, topic, event, payload]' };
    }
    const [joinRef, ref, topic, event, payload] = parsed;
    return message(joinRef, ref, topic, event, payload);
  }
  if (!isRecord(parsed) || !('topic' in parsed) || !('event' in parsed) || !('payload' in parsed)) {
    return { ok: false, reason: 'expected a V1 object {topic, event, payload, ref}' };
  }
  return message(parsed.join_ref, parsed.ref, parsed.topic, parsed.event, parsed.payload);
}

/** Reads `count` length-prefixed UTF-8 strings laid out back to back from `offset`. */
function readStrings(
  buffer: Buffer,
  offset: number,
  lengths: number[],
): { strings: string[]; end: number } | null {
  const strings: string[] = [];
  let at = offset;
  for (const length of lengths) {
    if (at + length > buffer.length) return null;
    try {
      strings.push(utf8.decode(buffer.subarray(at, at + length)));
    } catch {
      return null;
    }
    at += length;
  }
  return { strings, end: at };
}

function decodeBinary(vsn: Vsn, buffer: Buffer): Decoded {
  if (vsn !== '2.0.0') return { ok: false, reason: 'binary frames need the 2.0.0 serializer' };
  const kind = buffer[0];
  if (kind === USER_BROADCAST_PUSH) {
    if (buffer.length < 7) return { ok: false, reason: 'truncated user broadcast frame' };
    const lengths = [buffer[1], buffer[2], buffer[3], buffer[4], buffer[5]] as number[];
    const encoding = buffer[6] === 0 ? 'binary' : 'json';
    const read = readStrings(buffer, 7, lengths);
    if (!read) return { ok: false, reason: 'truncated or non-UTF-8 user broadcast frame' };
    const [joinRef, ref, topic, event, metaText] = read.strings as [string, string, string, string, string];
    let meta: Record<string, unknown> = {};
    if (metaText !== '') {
      try {
        const parsed: unknown = JSON.parse(metaText);
        if (!isRecord(parsed)) return { ok: false, reason: 'broadcast metadata must be a JSON object' };
        meta = parsed;
      } catch {
        return { ok: false, reason: 'broadcast metadata is not valid JSON' };
      }
    }
    const payload = buffer.subarray(read.end);
    if (encoding === 'json') {
      // The platform forwards these bytes unread; a client given broken JSON would throw on
      // them, so check here to keep one client's bad frame from reaching everyone else.
      let text: string;
      try {
        text = utf8.decode(payload);
        JSON.parse(text);
      } catch {
        return { ok: false, reason: 'the JSON payload of a user broadcast is not valid JSON' };
      }
      if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
        return { ok: false, reason: `the JSON payload nests deeper than ${MAX_JSON_DEPTH} levels` };
      }
    }
    return {
      ok: true,
      message: {
        joinRef: joinRef === '' ? null : joinRef,
        ref: ref === '' ? null : ref,
        topic,
        event: 'broadcast',
        payload: { type: 'broadcast', event },
        userBroadcast: { event, encoding, payload: Buffer.from(payload), meta },
      },
    };
  }
  if (kind === PUSH) {
    if (buffer.length < 5) return { ok: false, reason: 'truncated push frame' };
    const lengths = [buffer[1], buffer[2], buffer[3], buffer[4]] as number[];
    const read = readStrings(buffer, 5, lengths);
    if (!read) return { ok: false, reason: 'truncated or non-UTF-8 push frame' };
    const [joinRef, ref, topic, event] = read.strings as [string, string, string, string];
    return message(joinRef || null, ref || null, topic, event, { binary: buffer.length - read.end });
  }
  return { ok: false, reason: `unknown binary frame kind ${kind}` };
}

export function decodeFrame(vsn: Vsn, data: Buffer, isBinary: boolean): Decoded {
  if (isBinary) {
    if (data.length === 0) return { ok: false, reason: 'empty binary frame' };
    return decodeBinary(vsn, data);
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { ok: false, reason: 'the text frame is not UTF-8' };
  }
  return decodeText(vsn, text);
}

export interface OutboundMessage {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  payload: unknown;
}

/** A text frame. V1 carries no join_ref, exactly like Phoenix's V1 serializer. */
export function encodeMessage(vsn: Vsn, m: OutboundMessage): string {
  if (vsn === '2.0.0') return JSON.stringify([m.joinRef, m.ref, m.topic, m.event, m.payload]);
  return JSON.stringify({ topic: m.topic, event: m.event, payload: m.payload, ref: m.ref });
}

export function encodeReply(
  vsn: Vsn,
  to: { joinRef: Ref; ref: Ref; topic: string },
  status: 'ok' | 'error',
  response: unknown,
): string {
  return encodeMessage(vsn, { ...to, event: 'phx_reply', payload: { status, response } });
}

/**
 * A user broadcast to one client: the binary kind-4 frame for 2.0.0; for 1.0.0, the JSON
 * broadcast `{type, event, payload, meta?}` when the payload is JSON, nothing when it is binary
 * (the platform's V1 serializer cannot carry bytes either).
 */
export function encodeUserBroadcast(
  vsn: Vsn,
  topic: string,
  broadcast: UserBroadcast,
): string | Buffer | null {
  const metaText = broadcast.meta ? JSON.stringify(broadcast.meta) : '';
  const topicBytes = Buffer.from(topic);
  const eventBytes = Buffer.from(broadcast.event);
  const metaBytes = Buffer.from(metaText);
  const fitsBinary = topicBytes.length <= 255 && eventBytes.length <= 255 && metaBytes.length <= 255;
  if (vsn === '2.0.0' && fitsBinary) {
    const header = Buffer.from([
      USER_BROADCAST,
      topicBytes.length,
      eventBytes.length,
      metaBytes.length,
      broadcast.encoding === 'json' ? 1 : 0,
    ]);
    return Buffer.concat([header, topicBytes, eventBytes, metaBytes, broadcast.payload]);
  }
  if (broadcast.encoding === 'binary') return null;
  // The payload bytes are already JSON: splice them in rather than parse and re-encode.
  const meta = broadcast.meta ? `,"meta":${metaText}` : '';
  const inner = `{"event":${JSON.stringify(broadcast.event)}${meta},"payload":${broadcast.payload.toString('utf8')},"type":"broadcast"}`;
  if (vsn === '2.0.0') return `[null,null,${JSON.stringify(topic)},"broadcast",${inner}]`;
  return `{"topic":${JSON.stringify(topic)},"event":"broadcast","payload":${inner},"ref":null}`;
}

export { isRecord };
