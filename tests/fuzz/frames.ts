// Generated WebSocket frames for /realtime/v1/websocket: Phoenix messages in
// the socket's serializer (vsn 1.0.0 objects, 2.0.0 arrays) or the other one's,
// with topics from a small pool so that joins, pushes and leaves meet; joins
// with garbage configs and tokens; broadcasts, presence, access tokens and
// unknown events on joined and unjoined topics; text that is not a message;
// kind-3 binary broadcasts with wrong lengths, encodings and truncations; and
// now and then a flood.

import fc from 'fast-check';
import type { Vsn } from '../../emulator/realtime/protocol.ts';
import { type TokenPool, tokenArb } from './tokens.ts';
import { mostly, nested, sometimes, stringArb, valueArb } from './values.ts';
import type { World } from './world.ts';

/** Replaced by a ref unique to the frame (f<index>), so that its reply can be told apart. */
const UNIQUE_REF = '\u0000unique';

export type Frame =
  | {
      kind: 'message';
      joinRef: unknown;
      ref: unknown;
      topic: unknown;
      event: unknown;
      payload: unknown;
      /** Encoded with the other serializer's shape (a V1 object on a V2 socket, and the reverse). */
      otherShape: boolean;
    }
  | { kind: 'text'; text: string }
  /** A text frame whose bytes need not be UTF-8. */
  | { kind: 'raw-text'; bytes: Uint8Array }
  | { kind: 'binary'; bytes: Uint8Array }
  /** The same message many times at once: past the per-socket limits. */
  | { kind: 'burst'; frame: Frame & { kind: 'message' }; count: number }
  /** Waits for a heartbeat's reply before going on, so that earlier work can finish. */
  | { kind: 'settle' };

export function topicsOf(world: World): string[] {
  const [alice] = world.users as [World['users'][0]];
  return [
    'realtime:fuzz-a',
    'realtime:fuzz-a',
    'realtime:fuzz-b',
    'realtime:',
    'phoenix',
    'fuzz-without-prefix',
    `realtime:user:${alice.id}`,
    ...world.conversations.flatMap((c) => [`realtime:${c.topic}`, `realtime:${c.live_topic}`]),
  ];
}

/** A boolean as the join schema takes it (also "true"/"false"), or something that is not one. */
const flexibleBoolean = fc.constantFrom<unknown>(true, false, 'true', 'FALSE', 'yes', 1, null, {}, []);

function joinPayloadArb(world: World, pool: TokenPool): fc.Arbitrary<unknown> {
  const anything = valueArb(world);
  const replay = fc.oneof(
    fc.record(
      {
        since: fc.oneof(
          fc.integer(),
          fc.constantFrom<unknown>(0, 1_700_000_000_000, 2 ** 60, -1e15, '1', 1.5),
        ),
        limit: fc.oneof(fc.integer({ min: -5, max: 40 }), fc.constantFrom<unknown>('10', null, 1e9)),
      },
      { requiredKeys: [] },
    ),
    anything,
  );
  const garbageConfig = fc.record(
    {
      broadcast: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record(
            { self: flexibleBoolean, ack: flexibleBoolean, replication_ready: flexibleBoolean, replay },
            { requiredKeys: [] },
          ),
        },
        anything,
      ),
      presence: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record(
            { enabled: flexibleBoolean, key: fc.oneof(fc.string({ maxLength: 10 }), anything) },
            { requiredKeys: [] },
          ),
        },
        anything,
      ),
      private: flexibleBoolean,
      postgres_changes: fc.oneof(
        fc.constant([]),
        fc.constant([{ event: '*', schema: 'public', table: 'messages' }]),
        fc.constant([null]),
        anything,
      ),
    },
    { requiredKeys: [] },
  );
  /** What supabase-js sends, with the settings varied: the way into a channel. */
  const rightConfig = fc.record({
    broadcast: fc.record({ self: fc.boolean(), ack: fc.boolean(), replay: sometimes(replay, 4) }),
    presence: fc.record({ enabled: fc.boolean(), key: fc.constantFrom('', 'alice', 'x') }),
    private: fc.boolean(),
    postgres_changes: fc.constant([]),
  });
  const userToken = fc.constantFrom(...pool.users);
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record(
        {
          config: mostly(rightConfig, fc.oneof({ weight: 6, arbitrary: garbageConfig }, anything), 2),
          access_token: mostly(userToken, tokenArb(pool), 2),
          user_token: sometimes(tokenArb(pool), 6),
        },
        { requiredKeys: ['config', 'access_token'] },
      ),
    },
    { weight: 1, arbitrary: anything },
  );
}

function pushPayloadArb(world: World, pool: TokenPool): fc.Arbitrary<{ event: string; payload: unknown }> {
  const anything = valueArb(world);
  const object = fc.dictionary(fc.string({ maxLength: 6 }), anything, { maxKeys: 3 });
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({
          event: fc.oneof(fc.constantFrom('typing', 'x', ''), stringArb(world), anything),
          payload: fc.oneof(object, anything),
        })
        .map((inner) => ({ event: 'broadcast', payload: { type: 'broadcast', ...inner } })),
    },
    {
      weight: 1,
      arbitrary: fc.constant({
        event: 'broadcast',
        payload: { type: 'broadcast', event: 'big', payload: { x: 'x'.repeat(300_000) } },
      }),
    },
    {
      weight: 3,
      arbitrary: fc
        .record(
          {
            event: fc.constantFrom<unknown>('track', 'untrack', 'TRACK', 'update', 5),
            payload: fc.oneof(object, anything),
          },
          { requiredKeys: ['event'] },
        )
        .map((inner) => ({ event: 'presence', payload: { type: 'presence', ...inner } })),
    },
    {
      weight: 2,
      arbitrary: mostly(fc.constantFrom(...pool.users), tokenArb(pool), 1).map((token) => ({
        event: 'access_token',
        payload: { access_token: token },
      })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom('phx_leave', 'heartbeat').map((event) => ({ event, payload: {} })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(stringArb(world), anything).map(([event, payload]) => ({ event, payload })),
    },
  );
}

/**
 * A Phoenix message. `wellFormed` ones have a string ref, topic and event (their payloads may be
 * anything), so that a sequence of them gets deep into channels; the others may break the frame.
 */
function messageArb(
  world: World,
  pool: TokenPool,
  wellFormed: boolean,
): fc.Arbitrary<Frame & { kind: 'message' }> {
  const garbage = wellFormed ? 0 : 1;
  const ref = fc.oneof(
    { weight: 12, arbitrary: fc.constant<unknown>(UNIQUE_REF) },
    { weight: garbage, arbitrary: fc.constantFrom<unknown>(null, 7, 1.5, '', {}, [], true) },
  );
  const topic = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom<unknown>(...topicsOf(world)) },
    {
      weight: garbage,
      arbitrary: fc.oneof(
        stringArb(world).map((t) => `realtime:${t}`),
        fc.constantFrom<unknown>(null, 3, {}),
      ),
    },
  );
  const action = fc.oneof(
    {
      weight: 3,
      arbitrary: joinPayloadArb(world, pool).map((payload) => ({ event: 'phx_join' as unknown, payload })),
    },
    { weight: 5, arbitrary: pushPayloadArb(world, pool) },
    {
      weight: garbage,
      arbitrary: fc.constantFrom<unknown>(null, 1, ['phx_join']).map((event) => ({ event, payload: {} })),
    },
  );
  return fc
    .record({
      joinRef: fc.oneof({ weight: 6, arbitrary: fc.constant<unknown>('1') }, ref),
      ref,
      topic,
      action,
      otherShape: fc.integer({ min: 0, max: wellFormed ? 0 : 30 }).map((roll) => roll === 0 && !wellFormed),
    })
    .map(({ action, ...rest }) => ({
      kind: 'message' as const,
      ...rest,
      event: action.event,
      payload: action.payload,
    }));
}

/** Lengths of kind-3 strings must fit a byte; these do, mostly. */
const shortText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('1', 'realtime:fuzz-a', 'typing', '') },
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

function binaryArb(): fc.Arbitrary<Uint8Array> {
  const encode = (text: string) => Buffer.from(text);
  const userBroadcast = fc
    .record({
      joinRef: shortText,
      ref: shortText,
      topic: fc.constantFrom('realtime:fuzz-a', 'realtime:fuzz-b', 'realtime:'),
      event: shortText,
      meta: fc.constantFrom('', '{}', '{"a":1}', '[1]', '{', 'null'),
      encoding: fc.constantFrom(0, 1, 1, 2, 255),
      payload: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }).map((value) => encode(JSON.stringify(value) ?? 'null')),
        fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
        fc.constant(encode(nested(1001, 'array'))),
        fc.constant(Buffer.from([0xc3, 0x28])),
      ),
    })
    .map((p) => {
      const parts = [p.joinRef, p.ref, p.topic, p.event, p.meta].map(encode);
      return Buffer.concat([
        Buffer.from([3, ...parts.map((part) => part.length), p.encoding]),
        ...parts,
        p.payload,
      ]);
    });
  const push = fc
    .tuple(
      shortText,
      shortText,
      fc.constantFrom('realtime:fuzz-a', 'phoenix'),
      fc.constantFrom('heartbeat', 'phx_join', 'broadcast'),
    )
    .map((parts) => {
      const bytes = parts.map(encode);
      return Buffer.concat([Buffer.from([0, ...bytes.map((b) => b.length)]), ...bytes, Buffer.from('{}')]);
    });
  /** One change to a well-formed frame: a length byte, the encoding byte, a cut, a flipped byte. */
  const mutated = (frame: fc.Arbitrary<Buffer>) =>
    fc
      .tuple(frame, fc.constantFrom('none', 'length', 'cut', 'flip'), fc.nat(), fc.nat({ max: 255 }))
      .map(([bytes, how, at, byte]) => {
        const copy = Buffer.from(bytes);
        if (how === 'length') copy[1 + (at % 5)] = byte;
        if (how === 'cut') return new Uint8Array(copy.subarray(0, at % copy.length));
        if (how === 'flip') copy[at % copy.length] = byte;
        return new Uint8Array(copy);
      });
  return fc.oneof(
    { weight: 6, arbitrary: mutated(userBroadcast) },
    { weight: 2, arbitrary: mutated(push) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 30 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(new Uint8Array([]), new Uint8Array([4, 0, 0, 0, 1]), new Uint8Array([3])),
    },
  );
}

function garbageTextArb(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.json({ maxDepth: 2 }),
    fc.constantFrom(
      '',
      '[]',
      '{}',
      'null',
      '[null,null,"realtime:fuzz-a","phx_join"]',
      '[null,null,"realtime:fuzz-a","phx_join",{},"extra"]',
      '{"topic":"realtime:fuzz-a","event":"phx_join"}',
      nested(1001, 'array'),
      nested(1001, 'object'),
      `["1","2","realtime:fuzz-a","broadcast",${nested(999, 'object')}]`,
    ),
  );
}

/** Past the 100 events a second a socket may send (its channels shut down), or the 1,000 frames (it is cut off). */
const burstArb: fc.Arbitrary<Frame> = fc
  .record({
    topic: fc.constantFrom('realtime:fuzz-a', 'phoenix'),
    event: fc.constantFrom('broadcast', 'heartbeat'),
    count: fc.constantFrom(150, 1100),
  })
  .map(({ topic, event, count }) => ({
    kind: 'burst' as const,
    count,
    frame: {
      kind: 'message' as const,
      joinRef: '1',
      ref: null,
      topic,
      event,
      payload: { type: 'broadcast', event: 'flood', payload: {} },
      otherShape: false,
    },
  }));

/** Frames of one socket: mostly well-formed messages only, else anything at all. */
export function framesArb(world: World, pool: TokenPool, vsn: Vsn): fc.Arbitrary<Frame[]> {
  const sequence = (wellFormed: boolean) => {
    const message = messageArb(world, pool, wellFormed);
    const garbage = wellFormed ? 0 : 1;
    const frame: fc.Arbitrary<Frame> = fc.oneof(
      { weight: 16, arbitrary: message },
      { weight: garbage, arbitrary: garbageTextArb().map((text) => ({ kind: 'text' as const, text })) },
      {
        weight: garbage,
        arbitrary: fc
          .oneof(fc.uint8Array({ maxLength: 20 }), fc.constant(new Uint8Array([0x22, 0xff, 0x22])))
          .map((bytes) => ({ kind: 'raw-text' as const, bytes })),
      },
      {
        weight: garbage * (vsn === '2.0.0' ? 4 : 1),
        arbitrary: binaryArb().map((bytes) => ({ kind: 'binary' as const, bytes })),
      },
      { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
      { weight: 1, arbitrary: burstArb },
    );
    return fc.array(frame, { minLength: 1, maxLength: 20 });
  };
  return fc
    .oneof({ weight: 3, arbitrary: sequence(true) }, { weight: 2, arbitrary: sequence(false) })
    .map((frames) =>
      frames.map((f, i) => {
        if (f.kind === 'message' && f.ref === UNIQUE_REF) return { ...f, ref: `f${i}` };
        return f;
      }),
    );
}

/** The frame's text as the serializer (or, for `otherShape`, the other one) writes it. */
export function encodeText(vsn: Vsn, frame: Frame & { kind: 'message' }): string {
  const asArray = (vsn === '2.0.0') !== frame.otherShape;
  return asArray
    ? JSON.stringify([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload])
    : JSON.stringify({
        topic: frame.topic,
        event: frame.event,
        payload: frame.payload,
        ref: frame.ref,
        join_ref: frame.joinRef,
      });
}

/** Whether the server owes this frame a phx_reply: joins and leaves, and heartbeats on `phoenix`. */
export function expectsReply(frame: Frame): frame is Frame & { kind: 'message'; ref: string } {
  if (frame.kind !== 'message' || typeof frame.ref !== 'string' || !/^f\d+$/.test(frame.ref)) return false;
  if (frame.otherShape || typeof frame.topic !== 'string') return false;
  if (typeof frame.joinRef === 'object' && frame.joinRef !== null) return false;
  if (typeof frame.joinRef === 'boolean') return false;
  if (frame.event === 'phx_join' || frame.event === 'phx_leave') return true;
  return frame.event === 'heartbeat' && frame.topic === 'phoenix';
}

/** Upgrade requests: the path, serializer version and API key varied (in the query, a header, or none). */
export function upgradeArb(
  world: World,
  pool: TokenPool,
): fc.Arbitrary<{ target: string; headers: Record<string, string> }> {
  return fc
    .record({
      path: mostly(
        fc.constant('/realtime/v1/websocket'),
        fc.constantFrom(
          '/realtime/v1/websocket/',
          '/realtime/v1/websocketx',
          '/realtime/v1/websocket/websocket',
          '/realtime/v1/socket',
          '/realtime/v1',
          '/nowhere',
        ),
        3,
      ),
      vsn: mostly(
        fc.constantFrom('1.0.0', '2.0.0'),
        fc.constantFrom(undefined, '1.0.9', '2.1.0', '3.0.0', '', 'x', '2.0.0.0'),
      ),
      key: mostly(fc.constant(world.stack.anonKey), tokenArb(pool), 2),
      keyIn: fc.constantFrom('query', 'query', 'apikey header', 'x-api-key header', 'nowhere'),
      extra: sometimes(fc.constantFrom('&apikey=', '&vsn=2.0.0', '&log_level=info', '&x=%zz'), 4),
    })
    .map((r) => {
      const query = [
        r.vsn === undefined ? '' : `vsn=${encodeURIComponent(r.vsn)}`,
        r.keyIn === 'query' ? `apikey=${encodeURIComponent(r.key)}` : '',
      ]
        .filter(Boolean)
        .join('&');
      const headers: Record<string, string> = {};
      if (r.keyIn === 'apikey header') headers.apikey = r.key;
      if (r.keyIn === 'x-api-key header') headers['x-api-key'] = r.key;
      return {
        target: `${r.path}?${query}${r.extra ?? ''}`,
        headers: Object.fromEntries(
          Object.entries(headers).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '')]),
        ),
      };
    });
}
