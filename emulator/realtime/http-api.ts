// The HTTP broadcast API (what realtime-js's httpSend() and its REST fallback call):
//   POST /realtime/v1/api/broadcast                           {messages: [{topic, event, payload, private?, id?}]}
//   POST /realtime/v1/api/broadcast/<topic>/events/<event>    body = the payload (JSON or octet-stream), ?private=true
// The caller is the bearer token (else the API key). Private messages pass the
// same RLS write check as a channel's first broadcast. As on the platform, the
// batch route silently skips private messages the caller may not send (202),
// while the single route answers 403; a bad token is 401, a bad body 422.
// Errors carry the platform's `message` (and `errors` per field for a 422) and,
// beyond the platform, a `code`.

import { json, MAX_JSON_DEPTH, nestsDeeperThan } from '../http.ts';
import { TokenBucket } from '../token-bucket.ts';
import type { AuthorizationContext } from './authorization.ts';
import { emptyPolicies } from './authorization.ts';
import type { RealtimeContext } from './context.ts';
import { payloadByteLimit } from './limits.ts';
import { isRecord } from './protocol.ts';
import { spaceOf } from './registry.ts';
import { checkToken } from './tokens.ts';

const fail = (status: number, code: string, message: string, errors?: unknown) =>
  json(errors === undefined ? { code, message } : { code, message, errors }, status);
const invalid = (errors: unknown) => fail(422, 'invalid_request', 'The request is invalid', errors);
const tooDeep = () =>
  fail(400, 'invalid_json', `The request body nests deeper than ${MAX_JSON_DEPTH} levels`);
const notJson = () => fail(400, 'invalid_json', 'The request body is not valid JSON');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface BatchMessage {
  topic: string;
  event: string;
  payload: Record<string, unknown>;
  private: boolean;
  id?: string;
}

const asBoolean = (value: unknown): boolean | undefined => {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
};

export function createBroadcastApi(context: RealtimeContext) {
  const { limits, log } = context;
  // The platform limits events per second per project; the API shares one budget.
  const budget = new TokenBucket(limits.maxEventsPerSecond, limits.maxEventsPerSecond);

  const caller = async (request: Request): Promise<Omit<AuthorizationContext, 'topic'> | null> => {
    const authorization = request.headers.get('authorization');
    let token: string | null = null;
    if (authorization) {
      const [scheme, value] = authorization.split(' ');
      if (scheme?.toLowerCase() === 'bearer' && value) token = value;
    }
    token ??= request.headers.get('apikey') ?? new URL(request.url).searchParams.get('apikey');
    if (!token) return null;
    const checked = await checkToken(context.keys, token);
    if (!checked.ok) return null;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { claims: checked.claims, role: checked.role, headers };
  };

  /** The caller's broadcast write permission on a topic; a Response when the check itself failed. */
  const mayWrite = async (who: Omit<AuthorizationContext, 'topic'>, topic: string) => {
    const result = await context.authorizer.write(emptyPolicies(), { ...who, topic });
    if (result.ok) return result.policies.broadcast.write === true;
    log.warn(`${result.kind} while authorizing an HTTP broadcast to ${topic}: ${result.message}`);
    switch (result.kind) {
      case 'rls_policy_error':
        return fail(422, result.kind, 'RLS policy error');
      case 'missing_partition':
        return fail(422, result.kind, 'Missing messages partition');
      case 'query_canceled':
        return fail(422, result.kind, 'Query canceled');
      case 'database_unavailable':
        return fail(422, result.kind, 'Tenant database unavailable');
    }
  };

  async function batch(request: Request, who: Omit<AuthorizationContext, 'topic'>): Promise<Response> {
    let body: unknown;
    const text = await request.text();
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return tooDeep();
    try {
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      return notJson();
    }
    const list = isRecord(body) ? body.messages : undefined;
    if (!Array.isArray(list) || list.length === 0) return invalid({ messages: ["can't be blank"] });
    const problems: Record<string, string[]>[] = [];
    const messages: BatchMessage[] = [];
    for (const entry of list) {
      const errors: Record<string, string[]> = {};
      const item = isRecord(entry) ? entry : {};
      if (typeof item.topic !== 'string' || item.topic === '') errors.topic = ["can't be blank"];
      if (typeof item.event !== 'string' || item.event === '') errors.event = ["can't be blank"];
      if (!isRecord(item.payload))
        errors.payload = item.payload === undefined ? ["can't be blank"] : ['is invalid'];
      else if (Buffer.byteLength(JSON.stringify(item.payload)) > payloadByteLimit(limits)) {
        errors.payload = ['Payload size exceeds tenant limit'];
      }
      const isPrivate = item.private === undefined || item.private === null ? false : asBoolean(item.private);
      if (isPrivate === undefined) errors.private = ['is invalid'];
      if (item.id !== undefined && item.id !== null && (typeof item.id !== 'string' || !UUID.test(item.id))) {
        errors.id = ['is invalid'];
      }
      problems.push(errors);
      if (Object.keys(errors).length === 0) {
        messages.push({
          topic: item.topic as string,
          event: item.event as string,
          payload: item.payload as Record<string, unknown>,
          private: isPrivate as boolean,
          id: typeof item.id === 'string' ? item.id : undefined,
        });
      }
    }
    if (messages.length < list.length) return invalid({ messages: problems });
    for (let i = 0; i < messages.length; i++) {
      if (!budget.take()) {
        return fail(
          429,
          'rate_limited',
          i === 0
            ? 'You have exceeded your rate limit'
            : 'Too many messages to broadcast, please reduce the batch size',
        );
      }
    }

    const send = (item: BatchMessage) => {
      const payload: Record<string, unknown> = {
        payload: item.payload,
        event: item.event,
        type: 'broadcast',
      };
      if (item.id) payload.meta = { id: item.id };
      context.registry.deliver(spaceOf(item.private, item.topic), {
        kind: 'broadcast',
        payload,
        messageId: item.id,
      });
    };
    for (const item of messages.filter((m) => !m.private)) send(item);
    const privateByTopic = new Map<string, BatchMessage[]>();
    for (const item of messages.filter((m) => m.private)) {
      privateByTopic.set(item.topic, [...(privateByTopic.get(item.topic) ?? []), item]);
    }
    for (const [topic, items] of privateByTopic) {
      // Denied (or unverifiable) topics are skipped without an error, like the platform's batch API.
      if ((await mayWrite(who, topic)) === true) for (const item of items) send(item);
    }
    return new Response(null, { status: 202 });
  }

  async function single(
    request: Request,
    who: Omit<AuthorizationContext, 'topic'>,
    topic: string,
    event: string,
  ): Promise<Response> {
    const contentType = request.headers.get('content-type');
    const kind = contentType?.split(';')[0]?.trim().toLowerCase();
    if (contentType && kind !== 'application/json' && kind !== 'application/octet-stream') {
      return fail(
        415,
        'unsupported_media_type',
        'Unsupported Media Type. Use application/json or application/octet-stream',
      );
    }
    const isPrivate = new URL(request.url).searchParams.get('private') === 'true';
    let broadcast: { event: string; encoding: 'json' | 'binary'; payload: Buffer };
    const bytes = Buffer.from(await request.arrayBuffer());
    if (kind === 'application/octet-stream') {
      broadcast = { event, encoding: 'binary', payload: bytes };
    } else {
      let payload: unknown = {};
      if (bytes.length > 0) {
        const text = bytes.toString('utf8');
        if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return tooDeep();
        try {
          payload = JSON.parse(text);
        } catch {
          return notJson();
        }
      }
      // Phoenix puts a JSON body that is not an object under "_json".
      if (!isRecord(payload)) payload = { _json: payload };
      broadcast = { event, encoding: 'json', payload: Buffer.from(JSON.stringify(payload)) };
    }
    if (broadcast.payload.length > payloadByteLimit(limits)) {
      return invalid({ payload: ['Payload size exceeds tenant limit'] });
    }
    if (!budget.take()) return fail(429, 'rate_limited', 'You have exceeded your rate limit');
    if (isPrivate) {
      const allowed = await mayWrite(who, topic);
      if (allowed instanceof Response) return allowed;
      if (!allowed) return fail(403, 'forbidden', 'Unauthorized');
    }
    context.registry.deliver(spaceOf(isPrivate, topic), { kind: 'user-broadcast', broadcast });
    return new Response(null, { status: 202 });
  }

  return async function handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname.replace(/^\/realtime\/v1/, '');
    const route = /^\/api\/broadcast(?:\/([^/]+)\/events\/([^/]+))?\/?$/.exec(path);
    if (!route) return fail(404, 'not_found', 'Not Found');
    if (request.method !== 'POST') return fail(405, 'method_not_allowed', 'Method Not Allowed');
    const who = await caller(request);
    if (!who) return fail(401, 'unauthorized', 'Unauthorized');
    if (route[1] === undefined) return batch(request, who);
    let topic: string;
    let event: string;
    try {
      topic = decodeURIComponent(route[1]);
      event = decodeURIComponent(route[2] as string);
    } catch {
      return fail(400, 'invalid_path', 'The topic or event in the path is not valid URL encoding');
    }
    return single(request, who, topic, event);
  };
}
