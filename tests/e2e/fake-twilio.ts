// A loopback server that speaks the part of Twilio's Messages API we use, for tests:
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json (HTTP basic auth, form-encoded
// To, From, Body, StatusCallback) answers 201 with a new message's sid, unless told to
// fail (500, 503, 429 with Retry-After, 400 with a Twilio error code — or to accept the
// message and then answer 500, or to accept it and never answer); GET of the same path
// lists messages filtered by To, From and DateSent>. It records every request, and
// sends status callbacks to a message's StatusCallback, signed as Twilio signs them
// (HMAC-SHA1 of the URL and the sorted parameters, with the auth token).

import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  status: string;
  direction: 'outbound-api';
  date_created: string;
  date_sent: string;
  statusCallback: string | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The form (POST) or the query (GET). */
  params: URLSearchParams;
  authorized: boolean;
}

/** What the next create request gets instead of a plain success. */
export type Failure =
  | { status: 500 | 503; accepted?: boolean }
  | { status: 429; retryAfter?: number }
  | { status: 400; code: number; message: string }
  | { hang: true };

/** Twilio's X-Twilio-Signature for a form POST to `url`. */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  let signed = url;
  for (const name of [...new Set(params.keys())].sort()) {
    for (const value of params.getAll(name).sort()) signed += name + value;
  }
  return createHmac('sha1', authToken).update(signed).digest('base64');
}

const rfc2822 = (date: Date) => date.toUTCString().replace('GMT', '+0000');

export async function startFakeTwilio(options: { accountSid: string; authToken: string }) {
  const messages: FakeMessage[] = [];
  const requests: RecordedRequest[] = [];
  const failures: Failure[] = [];
  const hanging: ServerResponse[] = [];
  const path = `/2010-04-01/Accounts/${options.accountSid}/Messages.json`;
  const expectedAuth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;

  const answer = (
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) =>
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

  const create = (form: URLSearchParams): FakeMessage => {
    const now = new Date();
    const message: FakeMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to: form.get('To') ?? '',
      from: form.get('From') ?? '',
      body: form.get('Body') ?? '',
      status: 'queued',
      direction: 'outbound-api',
      date_created: rfc2822(now),
      date_sent: rfc2822(now),
      statusCallback: form.get('StatusCallback'),
    };
    messages.push(message);
    return message;
  };
  const resource = ({ statusCallback: _, ...message }: FakeMessage) => ({
    ...message,
    account_sid: options.accountSid,
  });

  const server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => {
      raw += chunk;
    });
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const authorized = request.headers.authorization === expectedAuth;
      const params = request.method === 'GET' ? url.searchParams : new URLSearchParams(raw);
      requests.push({ method: request.method ?? '', path: url.pathname, params, authorized });
      if (url.pathname !== path)
        return answer(response, 404, { code: 20404, message: 'Not found', status: 404 });
      if (!authorized) return answer(response, 401, { code: 20003, message: 'Authenticate', status: 401 });

      if (request.method === 'GET') {
        const since = params.get('DateSent>');
        const listed = messages
          .filter((m) => !params.get('To') || m.to === params.get('To'))
          .filter((m) => !params.get('From') || m.from === params.get('From'))
          .filter((m) => !since || new Date(m.date_sent).toISOString().slice(0, 10) >= since)
          .reverse()
          .slice(0, Number(params.get('PageSize') ?? 50))
          .map(resource);
        return answer(response, 200, {
          messages: listed,
          page: 0,
          page_size: listed.length,
          next_page_uri: null,
        });
      }

      if (!params.get('To') || !params.get('From') || !params.get('Body')) {
        return answer(response, 400, {
          code: 21604,
          message: 'A required parameter is missing.',
          status: 400,
        });
      }
      const failure = failures.shift();
      if (!failure) return answer(response, 201, resource(create(params)));
      if ('hang' in failure) {
        create(params);
        hanging.push(response);
        return;
      }
      if (failure.status === 429) {
        const headers: Record<string, string> = failure.retryAfter
          ? { 'retry-after': String(failure.retryAfter) }
          : {};
        return answer(response, 429, { code: 20429, message: 'Too Many Requests', status: 429 }, headers);
      }
      if (failure.status === 400) {
        return answer(response, 400, { code: failure.code, message: failure.message, status: 400 });
      }
      if (failure.accepted) create(params);
      return answer(response, failure.status, {
        code: 20500,
        message: 'Internal Server Error',
        status: failure.status,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    messages,
    requests,
    /** The create requests received so far (POSTs to the Messages resource). */
    creates: () => requests.filter((r) => r.method === 'POST' && r.path === path),
    lookups: () => requests.filter((r) => r.method === 'GET' && r.path === path),
    /** The next create requests fail (or hang) as given, one each, in order. */
    failNext(...next: Failure[]) {
      failures.push(...next);
    },
    /** Drops the connections of requests told to hang, without an answer. */
    releaseHangs() {
      for (const response of hanging.splice(0)) response.socket?.destroy();
    },
    /** Posts a status callback for `sid` to its StatusCallback, signed with `authToken` (default: the real one). */
    async sendStatus(sid: string, status: string, extra: { errorCode?: string; authToken?: string } = {}) {
      const message = messages.find((m) => m.sid === sid);
      if (!message?.statusCallback) throw new Error(`no message ${sid} with a status callback`);
      message.status = status;
      const params = new URLSearchParams({
        AccountSid: options.accountSid,
        ApiVersion: '2010-04-01',
        From: message.from,
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: message.to,
        ...(extra.errorCode ? { ErrorCode: extra.errorCode } : {}),
      });
      const signature = twilioSignature(extra.authToken ?? options.authToken, message.statusCallback, params);
      const response = await fetch(message.statusCallback, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body: params.toString(),
      });
      await response.body?.cancel();
      return response.status;
    },
    close() {
      for (const response of hanging.splice(0)) response.socket?.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeTwilio = Awaited<ReturnType<typeof startFakeTwilio>>;
