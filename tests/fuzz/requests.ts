// Generated HTTP requests, one family per service: the gateway's own paths,
// Auth's endpoints, every RPC, the Edge Functions (the Twilio webhook with
// signatures right and wrong), and Realtime's HTTP broadcast API. Each family
// aims near the valid request, so that the fuzzer gets past the first check.

import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import type { FuzzRequest } from './answers.ts';
import { authorizationArb, headerSafe, type TokenPool, tokenArb, userAuthorizationArb } from './tokens.ts';
import {
  apiVersionArb,
  argsArb,
  bodyArb,
  contentTypeArb,
  encodeComponent,
  methodArb,
  mostly,
  objectArb,
  queryArb,
  sometimes,
  stringArb,
  typedValueArb,
  uuidArb,
  valueArb,
} from './values.ts';
import type { World } from './world.ts';

interface Parts {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | undefined>;
  body: string | Uint8Array | undefined;
}

/** Drops absent headers and the body of GET and HEAD (fetch sends none). */
function request({ method, path, query, headers, body }: Parts): FuzzRequest {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) present[name] = headerSafe(value);
  const bodiless = ['GET', 'HEAD'].includes(method.toUpperCase());
  return { method, target: path + query, headers: present, body: bodiless ? undefined : body };
}

/** A path segment: the real one mostly, else empty, encoded oddly, or random. */
const segmentArb = (real: string[]) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...real) },
    { weight: 1, arbitrary: fc.constantFrom('', '%E0%A4%A', '%2F', '..', '%00', 'x'.repeat(300)) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((s) => encodeURIComponent(s)),
    },
  );

/** Where the API key goes: the anon key in its header mostly, else another key, a token, or none. */
function apiKeyArb(world: World, pool: TokenPool) {
  return mostly(
    fc.constant({ header: world.stack.anonKey as string | undefined, query: '' }),
    fc.oneof(
      fc.constant({ header: world.stack.serviceRoleKey, query: '' }),
      fc.constant({ header: undefined, query: `apikey=${world.stack.anonKey}` }),
      tokenArb(pool).map((token) => ({ header: token, query: '' })),
      fc.constant({ header: undefined, query: '' }),
    ),
    4,
  );
}

/** The generated parts of a request to an API behind the gateway's key check. */
interface KeyedParts {
  method: string;
  key: { header: string | undefined; query: string };
  authorization: string | undefined;
  contentType: string | undefined;
  extra?: Record<string, string>;
  body: string | Uint8Array;
}

/** The request those parts make on `path` with `query` (the API key joins the query when it goes there). */
function keyedRequest(
  r: KeyedParts,
  path: string,
  query: string,
  headers: Record<string, string | undefined> = {},
): FuzzRequest {
  const keyQuery = r.key.query;
  return request({
    method: r.method,
    path,
    query: keyQuery === '' ? query : query === '' ? `?${keyQuery}` : `${query}&${keyQuery}`,
    headers: {
      ...r.extra,
      ...headers,
      apikey: r.key.header,
      authorization: r.authorization,
      'content-type': r.contentType,
    },
    body: r.body,
  });
}

/** Headers any client may send, with values that mean something to some service; mostly none. */
const extraHeadersArb = mostly(
  fc.constant({}),
  fc.record(
    {
      accept: fc.constantFrom(
        'application/json',
        'application/vnd.pgrst.object+json',
        'text/csv',
        '*/*',
        'x',
      ),
      prefer: fc.constantFrom(
        'return=representation',
        'params=single-object',
        'count=exact',
        'tx=rollback',
        'x',
      ),
      'content-profile': fc.constantFrom('public', 'graphql_public', 'private', 'auth', 'nope'),
      'accept-profile': fc.constantFrom('public', 'private', 'realtime', ''),
      'x-request-id': fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
      'x-client-info': fc.constantFrom('supabase-js/2.119.1', ''),
      'x-forwarded-for': fc.constantFrom('10.0.0.1', 'garbage', '::1, 1.2.3.4'),
      range: fc.constantFrom('0-9', 'items=0-1', 'x'),
      cookie: fc.constantFrom('sb-access-token=x', ''),
    },
    { requiredKeys: [] },
  ),
  3,
);

const jsonType = mostly(fc.constant('application/json' as string | undefined), contentTypeArb);
const post = mostly(fc.constant('POST'), methodArb);

export function gatewayRequestArb(world: World, pool: TokenPool): fc.Arbitrary<FuzzRequest> {
  const path = fc.oneof(
    fc.constantFrom(
      '/',
      '/nowhere',
      '//auth/v1/health',
      '/auth',
      '/auth/v2/health',
      '/rest',
      '/rest/v1',
      '/rest/v1/',
      '/rest/v1/profiles',
      '/rest/v1/rpc',
      '/rest/v1/rpc/',
      '/realtime/v1',
      '/realtime/v1/websocket',
      '/functions/v1',
      '/functions/v1/',
      '/storage/v1/object',
      '/graphql/v1',
      '/%',
      '/..%2f..%2fetc%2fpasswd',
      `/${'a'.repeat(15_000)}`,
    ),
    fc.webPath(),
  );
  return fc
    .record({
      method: methodArb,
      path,
      query: queryArb(['apikey', 'select', 'vsn'], stringArb(world)),
      key: apiKeyArb(world, pool),
      authorization: authorizationArb(pool),
      extra: extraHeadersArb,
      contentType: contentTypeArb,
      body: bodyArb(objectArb(['a'], valueArb(world))),
    })
    .map((r) => keyedRequest(r, r.path, r.query));
}

/** Auth's endpoints with the method each takes; the fuzzer also tries the others. */
const AUTH_ENDPOINTS: [string, string][] = [
  ['/signup', 'POST'],
  ['/token?grant_type=password', 'POST'],
  ['/token?grant_type=refresh_token', 'POST'],
  ['/user', 'GET'],
  ['/user', 'PUT'],
  ['/logout', 'POST'],
  ['/logout?scope=others', 'POST'],
  ['/admin/users', 'POST'],
  ['/admin/users/{id}', 'GET'],
  ['/admin/users/{id}', 'DELETE'],
  ['/settings', 'GET'],
  ['/health', 'GET'],
  ['/.well-known/jwks.json', 'GET'],
  ['/token?grant_type=pkce', 'POST'],
  ['/token', 'POST'],
  ['/verify', 'POST'],
  ['/otp', 'POST'],
];

export function authRequestArb(world: World, pool: TokenPool): fc.Arbitrary<FuzzRequest> {
  const [alice] = world.users as [World['users'][0]];
  const email = fc.oneof(
    fc.constantFrom(
      alice.email,
      'fuzz-new@example.test',
      'UPPER@EXAMPLE.TEST',
      'a@b',
      '@example.test',
      'a@@b.c',
      `${'a'.repeat(250)}@example.test`,
    ),
    fc.string({ maxLength: 20 }).map((name) => `${name}@example.test`),
  );
  const password = fc.oneof(
    fc.constantFrom(alice.password, 'short', 'p'.repeat(73), 'long-enough'),
    fc.string({ maxLength: 80 }),
  );
  const metadata = fc.dictionary(fc.string({ maxLength: 8 }), valueArb(world), { maxKeys: 3 });
  const field = (name: string, right: fc.Arbitrary<unknown>) => ({
    name,
    value: mostly(right, valueArb(world), 4),
  });
  const fields = [
    field('email', email),
    field('password', password),
    field('phone', fc.constantFrom('+14155550123', '')),
    field('data', metadata),
    field('refresh_token', fc.oneof(fc.constant(alice.session.refresh_token), fc.string({ maxLength: 20 }))),
    field('user_metadata', metadata),
    field('app_metadata', metadata),
    field('email_confirm', fc.boolean()),
  ];
  const body = fc
    .tuple(...fields.map(({ name, value }) => fc.option(value, { freq: 2 }).map((v) => [name, v] as const)))
    .map((entries) => Object.fromEntries(entries.filter(([, v]) => v !== null)));
  const endpoint = fc
    .tuple(fc.constantFrom(...AUTH_ENDPOINTS), uuidArb(world))
    .map(([[path, method], id]) => ({
      path: `/auth/v1${path.replace('{id}', id)}`,
      method,
    }));
  return fc
    .record({
      endpoint,
      method: sometimes(methodArb, 8),
      suffix: sometimes(fc.constantFrom('/', '/x', '?scope=nope', '?grant_type=x'), 10),
      key: apiKeyArb(world, pool),
      authorization: userAuthorizationArb(pool),
      version: mostly(fc.constant('2024-01-01' as string | undefined), apiVersionArb, 3),
      contentType: jsonType,
      body: bodyArb(body),
    })
    .map((r) => {
      const [path, query = ''] = (r.endpoint.path + (r.suffix ?? '')).split(/(?=\?)/);
      return keyedRequest({ ...r, method: r.method ?? r.endpoint.method }, path as string, query, {
        'x-supabase-api-version': r.version,
      });
    });
}

/** A query-string value for GET /rpc/<fn>?name=value: what PostgREST reads as text. */
const asQueryValue = (value: unknown) =>
  encodeComponent(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

export function restRequestArb(world: World, pool: TokenPool): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...world.rpcs).chain((rpc) => {
    const args = argsArb(world, rpc.args);
    return fc
      .record({
        method: mostly(fc.constant('POST'), fc.constantFrom('GET', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH')),
        name: segmentArb([rpc.name]),
        args,
        body: bodyArb(args),
        key: apiKeyArb(world, pool),
        authorization: userAuthorizationArb(pool),
        extra: extraHeadersArb,
        contentType: jsonType,
      })
      .map((r) => {
        const query = ['GET', 'HEAD'].includes(r.method)
          ? `?${Object.entries(r.args)
              .map(([name, value]) => `${encodeComponent(name)}=${asQueryValue(value)}`)
              .join('&')}`
          : '';
        return keyedRequest(r, `/rest/v1/rpc/${r.name}`, query);
      });
  });
}

/** Each chat function's body fields, with the SQL type each is handed to its RPC as. */
const FUNCTION_FIELDS: Record<string, { name: string; type: string }[]> = {
  'send-message': [
    { name: 'conversation_id', type: 'uuid' },
    { name: 'client_id', type: 'text' },
    { name: 'body', type: 'text' },
    { name: 'reply_to', type: 'uuid' },
    { name: 'metadata', type: 'jsonb' },
  ],
  'mark-read': [
    { name: 'conversation_id', type: 'uuid' },
    { name: 'seq', type: 'bigint' },
  ],
  signal: [
    { name: 'conversation_id', type: 'uuid' },
    { name: 'to', type: 'uuid' },
    { name: 'type', type: 'signal type' },
    { name: 'payload', type: 'jsonb' },
  ],
  whoami: [],
  // Called by the database to send the outbox; takes any body.
  'twilio-send': [{ name: 'x', type: 'jsonb' }],
};

export function functionRequestArb(world: World, pool: TokenPool): fc.Arbitrary<FuzzRequest> {
  const names = world.stack.functionNames.filter((name) => name in FUNCTION_FIELDS);
  return fc.constantFrom(...names).chain((name) => {
    const fields = (FUNCTION_FIELDS[name] as { name: string; type: string }[]).map((field) =>
      field.type === 'signal type' ? { ...field, type: 'text' } : field,
    );
    const args = argsArb(world, fields);
    return fc
      .record({
        method: post,
        name: segmentArb([name, ...world.stack.functionNames]),
        suffix: sometimes(fc.constantFrom('/', '/extra/path', '?a=1'), 10),
        authorization: userAuthorizationArb(pool),
        apikey: fc.option(fc.constant(world.stack.anonKey)),
        extra: extraHeadersArb,
        contentType: jsonType,
        body: bodyArb(args),
      })
      .map((r) =>
        request({
          method: r.method,
          path: `/functions/v1/${r.name}${r.suffix ?? ''}`,
          query: '',
          headers: {
            ...r.extra,
            apikey: r.apikey ?? undefined,
            authorization: r.authorization,
            'content-type': r.contentType,
          },
          body: r.body,
        }),
      );
  });
}

/** A chat function and the RPC it wraps: the function's body field → the RPC's argument, and which are required. */
const TWINS: { fn: string; rpc: string; fields: Record<string, string>; required: string[] }[] = [
  {
    fn: 'send-message',
    rpc: 'send_message',
    fields: {
      conversation_id: 'conversation_id',
      client_id: 'client_id',
      body: 'body',
      reply_to: 'reply_to',
      metadata: 'metadata',
    },
    required: ['conversation_id', 'client_id', 'body'],
  },
  {
    fn: 'mark-read',
    rpc: 'mark_read',
    fields: { conversation_id: 'conversation_id', seq: 'seq' },
    required: ['conversation_id', 'seq'],
  },
  {
    fn: 'signal',
    rpc: 'send_signal',
    fields: { conversation_id: 'conversation_id', to: 'to_user', type: 'signal_type', payload: 'payload' },
    required: ['conversation_id', 'to', 'type'],
  },
];

/**
 * The same input twice: to a chat function and to the RPC it wraps, as one signed-in user, with
 * every required field and no other (where the two differ by design: PostgREST answers a missing
 * argument with PGRST202 and an unknown one too, the function with its own checks).
 */
export function twinRequestsArb(
  world: World,
  pool: TokenPool,
): fc.Arbitrary<{ fn: FuzzRequest; rpc: FuzzRequest }> {
  return fc.constantFrom(...TWINS).chain((twin) => {
    const fields = (FUNCTION_FIELDS[twin.fn] as { name: string; type: string }[]).map((field) =>
      field.type === 'signal type' ? { ...field, type: 'text' } : field,
    );
    const input = fc
      .tuple(
        ...fields.map((field) => {
          const value = typedValueArb(world, field.type);
          const given = twin.required.includes(field.name) ? value : fc.option(value, { nil: undefined });
          return given.map((v) => [field.name, v] as const);
        }),
      )
      .map((entries) => Object.fromEntries(entries.filter(([, v]) => v !== undefined)));
    return fc.record({ input, token: fc.constantFrom(...pool.users) }).map(({ input, token }) => {
      const headers = {
        apikey: world.stack.anonKey,
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      };
      const args = Object.fromEntries(
        Object.entries(input).map(([name, value]) => [twin.fields[name], value]),
      );
      return {
        fn: { method: 'POST', target: `/functions/v1/${twin.fn}`, headers, body: JSON.stringify(input) },
        rpc: { method: 'POST', target: `/rest/v1/rpc/${twin.rpc}`, headers, body: JSON.stringify(args) },
      };
    });
  });
}

/** Twilio's signature, HMAC-SHA1 over the URL and the sorted parameters (Twilio's documented scheme). */
function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  let payload = url;
  for (const name of [...new Set(params.keys())].sort()) {
    for (const value of params.getAll(name).sort()) payload += name + value;
  }
  return createHmac('sha1', authToken).update(payload).digest('base64');
}

/** The form fields of what Twilio posts: an inbound message (twilio-webhook) or a status callback (twilio-status). */
function twilioFormArb(world: World, callback: boolean): fc.Arbitrary<URLSearchParams> {
  const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 });
  const sid = hex.map((h) => `SM${h}`);
  const field = (name: string, right: fc.Arbitrary<string>) =>
    fc.option(mostly(right, stringArb(world), 4), { freq: 6 }).map((value) => [name, value] as const);
  const fields = callback
    ? [
        field('MessageSid', sid),
        field(
          'MessageStatus',
          fc.constantFrom(
            'queued',
            'sending',
            'sent',
            'delivered',
            'read',
            'failed',
            'undelivered',
            'canceled',
            '',
          ),
        ),
        field('ErrorCode', fc.constantFrom('30003', '', 'x'.repeat(21))),
      ]
    : [
        field('MessageSid', sid),
        field(
          'From',
          fc.constantFrom('+14155550123', 'whatsapp:+447700900123', '+1', 'whatsapp:', '0', '+0123456789'),
        ),
        field('Body', fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', ' ', 'x'.repeat(1601)))),
        field('NumMedia', fc.constantFrom('0', '1', '2', '11', '-1', '1.5', 'x')),
        field('ProfileName', fc.oneof(fc.string({ maxLength: 20 }), fc.constant('p'.repeat(201)))),
        field('MediaUrl0', fc.webUrl()),
        field('MediaContentType0', fc.constantFrom('image/png', '')),
      ];
  return fc
    .tuple(
      fc.tuple(...fields),
      field(
        'AccountSid',
        hex.map((h) => `AC${h}`),
      ),
      sometimes(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), 6),
    )
    .map(
      ([given, account, extra]) =>
        new URLSearchParams(
          [...given, account, ...(extra ? [extra] : [])].flatMap(([name, value]) =>
            value === null ? [] : [[name, value]],
          ),
        ),
    );
}

/** What Twilio posts to `fn` (twilio-webhook or twilio-status), signed mostly right, else wrong or not at all. */
export function twilioRequestArb(
  world: World,
  fn: 'twilio-webhook' | 'twilio-status',
): fc.Arbitrary<FuzzRequest> {
  const callback = fn === 'twilio-status';
  const query = callback
    ? fc.oneof(
        { weight: 6, arbitrary: uuidArb(world).map((id) => `?message_id=${id}`) },
        fc.constantFrom('', '?message_id=x', '?message_id=%zz', '?a=1'),
      )
    : fc.constantFrom('', '', '', '?a=1', '?%zz');
  return fc
    .record({
      method: post,
      query,
      params: twilioFormArb(world, callback),
      signature: fc.constantFrom('valid', 'valid', 'valid', 'valid', 'wrong', 'none', 'empty'),
      contentType: mostly(
        fc.constant('application/x-www-form-urlencoded' as string | undefined),
        contentTypeArb,
      ),
      raw: sometimes(fc.string({ maxLength: 40 }), 8),
    })
    .map((r) => {
      const body = r.raw ?? r.params.toString();
      const url = `${world.stack.url}/functions/v1/${fn}${r.query}`;
      const signature = {
        valid: twilioSignature(world.twilioAuthToken, url, new URLSearchParams(body)),
        wrong: twilioSignature('not-the-token', url, new URLSearchParams(body)),
        none: undefined,
        empty: '',
      }[r.signature];
      return request({
        method: r.method,
        path: `/functions/v1/${fn}`,
        query: r.query,
        headers: { 'content-type': r.contentType, 'x-twilio-signature': signature },
        body,
      });
    });
}

export function realtimeApiRequestArb(world: World, pool: TokenPool): fc.Arbitrary<FuzzRequest> {
  const topics = world.conversations.flatMap((conversation) => [conversation.topic, conversation.live_topic]);
  const topic = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...topics, `user:${world.users[0]?.id}`, 'fuzz-public', '') },
    stringArb(world),
  );
  const message = fc.record(
    {
      topic,
      event: fc.oneof(fc.constantFrom('typing', 'message.created', 'x', ''), stringArb(world)),
      payload: fc.oneof(
        { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), valueArb(world)) },
        valueArb(world),
      ),
      private: fc.oneof(fc.boolean(), fc.constantFrom('true', 'FALSE', 'yes', 1, null)),
      id: fc.oneof(fc.uuid(), stringArb(world)),
    },
    { requiredKeys: [] },
  );
  const batch = fc.oneof(
    { weight: 6, arbitrary: fc.array(message, { maxLength: 4 }).map((messages) => ({ messages })) },
    { weight: 1, arbitrary: objectArb(['messages'], valueArb(world)) },
  );
  const path = fc.oneof(
    { weight: 4, arbitrary: fc.constant('/realtime/v1/api/broadcast') },
    {
      weight: 4,
      arbitrary: fc
        .tuple(segmentArb(topics.map(encodeURIComponent)), segmentArb(['typing', 'x']))
        .map(([t, e]) => `/realtime/v1/api/broadcast/${t}/events/${e}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '/realtime/v1/api/broadcast/',
        '/realtime/v1/api/tenants',
        '/realtime/v1/api',
      ),
    },
  );
  return fc
    .record({
      method: post,
      path,
      query: queryArb(['private'], fc.constantFrom('true', 'false', 'TRUE', '1', '')),
      key: apiKeyArb(world, pool),
      authorization: userAuthorizationArb(pool),
      contentType: mostly(jsonType, fc.constant('application/octet-stream'), 4),
      body: bodyArb(batch),
    })
    .map((r) => keyedRequest(r, r.path, r.query));
}
