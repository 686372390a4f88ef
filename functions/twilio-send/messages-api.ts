// Twilio's Messages API, the two calls we make: create a message
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, From, Body,
// StatusCallback) and list recent ones between two numbers (GET, To, From, DateSent>=),
// with HTTP basic auth (account SID, auth token). Answers are classified by what they
// tell us about whether Twilio now has the message.

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
  /** https://api.twilio.com, or a loopback server in tests and local development. */
  baseUrl: string;
  timeoutMs: number;
}

export interface TwilioError {
  /** Twilio's error code (e.g. 21211), or ours when there was no answer. */
  code: string;
  message: string;
  /** The HTTP status, when there was an answer. */
  status?: number;
}

export type CreateOutcome =
  /** Twilio has it. */
  | { kind: 'created'; sid: string; status: string }
  /** A 4xx other than 429: Twilio refused it for good; do not retry. */
  | { kind: 'refused'; error: TwilioError }
  /** 429: not created; retry, not before Retry-After (seconds) when given. */
  | { kind: 'throttled'; error: TwilioError; retryAfterSeconds: number | null }
  /** A 5xx, a timeout or a lost connection: Twilio may or may not have created it. */
  | { kind: 'in_doubt'; error: TwilioError };

export interface OutboundMessage {
  to: string;
  from: string;
  body: string;
  statusCallback: string;
}

export interface FoundMessage {
  sid: string;
  status: string;
}

const messagesUrl = (account: TwilioAccount) =>
  `${account.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(account.accountSid)}/Messages.json`;

const authorization = (account: TwilioAccount) =>
  `Basic ${btoa(`${account.accountSid}:${account.authToken}`)}`;

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/** What an answer to a create call means. */
export function classifyCreateAnswer(status: number, headers: Headers, body: unknown): CreateOutcome {
  const fields = (body ?? {}) as { sid?: unknown; status?: unknown; code?: unknown; message?: unknown };
  const error: TwilioError = {
    code: fields.code !== undefined && fields.code !== null ? String(fields.code) : `http_${status}`,
    message: typeof fields.message === 'string' ? fields.message : `Twilio answered HTTP ${status}`,
    status,
  };
  if (status >= 200 && status < 300) {
    if (typeof fields.sid === 'string' && fields.sid !== '') {
      return {
        kind: 'created',
        sid: fields.sid,
        status: typeof fields.status === 'string' ? fields.status : 'queued',
      };
    }
    return {
      kind: 'in_doubt',
      error: { ...error, code: 'no_sid', message: 'Twilio answered without a sid' },
    };
  }
  if (status === 429)
    return { kind: 'throttled', error, retryAfterSeconds: retryAfterSeconds(headers.get('retry-after')) };
  if (status >= 400 && status < 500) return { kind: 'refused', error };
  return { kind: 'in_doubt', error };
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function requestFailure(error: unknown, account: TwilioAccount): TwilioError {
  const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
  return timedOut
    ? { code: 'timeout', message: `Twilio did not answer within ${account.timeoutMs} ms` }
    : { code: 'network_error', message: `Could not reach Twilio: ${(error as Error).message}` };
}

export async function createMessage(
  account: TwilioAccount,
  message: OutboundMessage,
): Promise<CreateOutcome> {
  let response: Response;
  try {
    response = await fetch(messagesUrl(account), {
      method: 'POST',
      headers: {
        authorization: authorization(account),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({
        To: message.to,
        From: message.from,
        Body: message.body,
        StatusCallback: message.statusCallback,
      }),
      signal: AbortSignal.timeout(account.timeoutMs),
    });
  } catch (error) {
    return { kind: 'in_doubt', error: requestFailure(error, account) };
  }
  return classifyCreateAnswer(response.status, response.headers, await readJson(response));
}

interface ListedMessage {
  sid?: string;
  status?: string;
  body?: string;
  direction?: string;
  date_created?: string;
}

/**
 * The message Twilio created for an attempt that began at `since`, if any: an outbound
 * message from `from` to `to` with exactly this body, created no earlier than `since`
 * (less five minutes for clock skew), and not among `taken` (sids other messages of
 * ours already have). Reads the newest page of 50. Throws when Twilio cannot say.
 */
export async function findMessage(
  account: TwilioAccount,
  query: {
    to: string;
    from: string;
    body: string;
    since: Date;
    taken: (sids: string[]) => Promise<Set<string>>;
  },
): Promise<FoundMessage | null> {
  const earliest = query.since.getTime() - 5 * 60_000;
  const search = new URLSearchParams({
    To: query.to,
    From: query.from,
    'DateSent>': new Date(earliest).toISOString().slice(0, 10),
    PageSize: '50',
  });
  let response: Response;
  try {
    response = await fetch(`${messagesUrl(account)}?${search}`, {
      headers: { authorization: authorization(account), accept: 'application/json' },
      signal: AbortSignal.timeout(account.timeoutMs),
    });
  } catch (error) {
    throw new LookupError(requestFailure(error, account));
  }
  const body = (await readJson(response)) as { messages?: ListedMessage[] } | null;
  if (!response.ok || !Array.isArray(body?.messages)) {
    throw new LookupError({
      code: `http_${response.status}`,
      message: `Twilio answered HTTP ${response.status} to the lookup`,
      status: response.status,
    });
  }
  const candidates = body.messages.filter(
    (message) =>
      typeof message.sid === 'string' &&
      message.direction?.startsWith('outbound') &&
      message.body === query.body &&
      Date.parse(message.date_created ?? '') >= earliest,
  );
  if (candidates.length === 0) return null;
  const taken = await query.taken(candidates.map((message) => message.sid as string));
  const match = candidates.find((message) => !taken.has(message.sid as string));
  return match ? { sid: match.sid as string, status: match.status ?? 'queued' } : null;
}

export class LookupError extends Error {
  constructor(readonly error: TwilioError) {
    super(error.message);
  }
}
