// Values and bodies of every type, size and depth: the real ids of the fuzz
// world next to random ones, strings PostgreSQL cannot store (NUL, lone
// surrogates), numbers past every integer type, JSON nested around and far
// past the 1,000-level limit, and bodies that are JSON only almost.

import fc from 'fast-check';
import type { World } from './world.ts';

/** `right` most of the time (6 in 7), else `wrong`: inputs that fail in one respect, not in all at once. */
export const mostly = <T, U>(right: fc.Arbitrary<T>, wrong: fc.Arbitrary<U>, weight = 6) =>
  fc.oneof({ weight, arbitrary: right }, { weight: 1, arbitrary: wrong });

/** `arbitrary` one time in `oneIn`, else undefined. */
export const sometimes = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

/** A JSON text nested `depth` levels deep, of arrays or objects. */
export function nested(depth: number, kind: 'array' | 'object', inner = '1'): string {
  return kind === 'array'
    ? '['.repeat(depth) + inner + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

/** Depths below, at and past MAX_JSON_DEPTH (1,000), and one that would overflow a recursive parser. */
const depthArb = fc.constantFrom(2, 20, 999, 1000, 1001, 20_000);

export function uuidArb(world: World): fc.Arbitrary<string> {
  const real = [
    ...world.users.map((user) => user.id),
    world.deletedUser.id,
    ...world.conversations.map((conversation) => conversation.id),
    ...world.messageIds,
  ];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...real) },
    { weight: 1, arbitrary: fc.uuid() },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '00000000-0000-0000-0000-000000000000',
        '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
      ),
    },
  );
}

export function stringArb(world: World): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) }, // lone surrogates too
    { weight: 2, arbitrary: uuidArb(world) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '\u0000',
        'a\u0000b',
        '\ud800',
        '0',
        '-1',
        '1e400',
        'NaN',
        'null',
        'true',
        '9223372036854775808',
        'offer',
        'track',
        '👍',
        'x'.repeat(4001),
        'é'.repeat(70_000),
        ...world.conversations.flatMap((conversation) => [conversation.topic, conversation.live_topic]),
      ),
    },
  );
}

export function numberArb(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer(),
    fc.integer({ min: -2, max: 30 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -0, 0.5, 2 ** 31, 2 ** 53 + 2, 2 ** 63, -(2 ** 63) - 2048, 1e308, 5e-324),
  );
}

/** Any argument value: right or wrong type, tiny or huge, flat or deep. */
export function valueArb(world: World): fc.Arbitrary<unknown> {
  const scalar = fc.oneof(stringArb(world), numberArb(), fc.boolean(), fc.constant(null));
  return fc.oneof(
    { weight: 6, arbitrary: scalar },
    { weight: 2, arbitrary: fc.array(fc.oneof(uuidArb(world), scalar), { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.array(uuidArb(world), { minLength: 90, maxLength: 120 }) },
    { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 4 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(depthArb, fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>)
        .map(([depth, kind]) => JSON.parse(nested(Math.min(depth, 1500), kind)) as unknown),
    },
  );
}

/** A value of a PostgreSQL type as JSON, near its edges (the SQL checks the rest), or of any other type. */
export function typedValueArb(world: World, type: string): fc.Arbitrary<unknown> {
  const right: Record<string, fc.Arbitrary<unknown>> = {
    uuid: uuidArb(world),
    'uuid[]': fc.array(uuidArb(world), { maxLength: 4 }),
    text: stringArb(world),
    bigint: fc.oneof(fc.integer({ min: -1, max: 5 }), numberArb()),
    integer: fc.oneof(fc.integer({ min: -1, max: 300 }), numberArb()),
    boolean: fc.boolean(),
    jsonb: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 6 }), valueArb(world), { maxKeys: 3 }),
      valueArb(world),
    ),
  };
  return mostly(right[type] ?? valueArb(world), valueArb(world), 4);
}

/** A JSON object naming some of `fields` (and now and then a field nobody takes). */
export function objectArb(
  fields: string[],
  value: fc.Arbitrary<unknown>,
): fc.Arbitrary<Record<string, unknown>> {
  const name = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...fields) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', '', 'id', 'role') },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );
  return fc.array(fc.tuple(name, value), { maxLength: fields.length + 1 }).map((entries) => {
    const body: Record<string, unknown> = {};
    for (const [key, value] of entries) {
      Object.defineProperty(body, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return body;
  });
}

/**
 * Arguments by name: each mostly present and of its type; now and then one missing, of another
 * type, or a name nobody takes.
 */
export function argsArb(
  world: World,
  args: { name: string; type: string }[],
): fc.Arbitrary<Record<string, unknown>> {
  const present = args.map(({ name, type }) =>
    fc
      .option(typedValueArb(world, type), { freq: 16, nil: undefined })
      .map((value) => [name, value] as const),
  );
  const unknown = sometimes(
    fc.tuple(fc.constantFrom('__proto__', 'id', 'role', 'user_id', '', 'x'), valueArb(world)),
    16,
  );
  return fc.tuple(fc.tuple(...present), unknown).map(([given, extra]) => {
    const body: Record<string, unknown> = {};
    for (const [name, value] of extra === undefined ? given : [...given, extra]) {
      if (value !== undefined)
        Object.defineProperty(body, name, { value, enumerable: true, writable: true, configurable: true });
    }
    return body;
  });
}

/**
 * A request body: mostly the JSON of `object`, else a near miss (cut short, trailing junk, a byte
 * order mark, duplicate keys, nested far too deep), another JSON value, text, or bytes that are
 * not UTF-8.
 */
export function bodyArb(object: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string | Uint8Array> {
  const text = object.map((value) => JSON.stringify(value));
  return fc.oneof(
    { weight: 10, arbitrary: text },
    {
      weight: 1,
      arbitrary: fc.tuple(text, fc.nat()).map(([json, at]) => json.slice(0, at % (json.length + 1))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(text, fc.constantFrom('x', ',', '}', ' {}', '\u0000', '\ufeff'))
        .map(([json, junk]) => json + junk),
    },
    { weight: 1, arbitrary: text.map((json) => `\ufeff${json}`) },
    {
      weight: 1,
      arbitrary: text.map((json) => (json === '{}' ? json : `${json.slice(0, -1)},"a":1,"a":{}}`)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(depthArb, fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>)
        .map(([depth, kind]) => `{"a":${nested(depth, kind)}}`),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', 'null', '[]', '"x"', '1', '{', '}', 'undefined', '\u0000'),
    },
    // Past the functions' 64 KB and the gateway's 1 MiB.
    {
      weight: 1,
      arbitrary: fc.constantFrom(70_000, 1_100_000).map((size) => `{"body":"${'x'.repeat(size)}"}`),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 50 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])) },
  );
}

export const contentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'application/json;;',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/vnd.pgrst.object+json',
      'application/jsonx',
      '',
      '*/*',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
);

/** Percent-encodes text for a URL; a lone surrogate (which has no UTF-8) becomes U+FFFD. */
export const encodeComponent = (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, '\ufffd'));

/** A query string, now and then with broken percent-encoding. */
export function queryArb(keys: string[], value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const encoded = value.map(encodeComponent);
  const pair = fc.tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...keys) },
      fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
    ),
    fc.oneof({ weight: 6, arbitrary: encoded }, fc.constantFrom('%', '%E0%A4%A', '%zz', '%00', '', '%FF%FE')),
  );
  return fc
    .array(pair, { maxLength: 4 })
    .map((pairs) =>
      pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&')}`,
    );
}

export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.constant('POST') },
  { weight: 4, arbitrary: fc.constant('GET') },
  { weight: 4, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom('PROPFIND', 'FUZZ', 'post') },
);

/** A date-like API version for GoTrue: today's, an older one, or garbage. */
export const apiVersionArb: fc.Arbitrary<string | undefined> = fc.constantFrom(
  '2024-01-01',
  '2024-01-01',
  undefined,
  '2023-12-31',
  '2099-02-30',
  '2024-1-1',
  'garbage',
  '',
);
