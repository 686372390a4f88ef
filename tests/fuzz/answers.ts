// What a well-formed answer is. Every request gets one within the bound; no
// answer is a 5xx; every error is JSON with a code and a message, in the shape
// of the service that answered (PostgREST, GoTrue, Realtime, the functions'
// envelope, the gateway's own), names nothing of the implementation, and
// carries CORS headers like every other answer.

import { ANSWER_BOUND_MS } from './options.ts';

export interface FuzzRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export type Service = 'auth' | 'rest' | 'realtime' | 'functions' | 'gateway';

export function serviceOf(target: string): Service {
  const pathname = target.split('?')[0] ?? '';
  for (const service of ['auth', 'rest', 'realtime', 'functions'] as const) {
    if (pathname === `/${service}/v1` || pathname.startsWith(`/${service}/v1/`)) return service;
  }
  return 'gateway';
}

/** Sends a request to the stack; a request that gets no answer within the bound throws. */
export async function send(baseUrl: string, request: FuzzRequest): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(baseUrl + request.target, {
      method: request.method,
      headers: request.headers,
      body: request.body as BodyInit | undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(ANSWER_BOUND_MS),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    throw new Error(
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${ANSWER_BOUND_MS / 1000} s (a hang)`
        : `no answer: ${(error as Error).message}${cause ? ` (${cause.message})` : ''}`,
    );
  }
}

/** Words that would betray the implementation behind an error. */
const INTERNALS =
  /node_modules|\.ts:\d|\bat [\w.<>]+ \(|RangeError|URIError|TypeError|SyntaxError|ReferenceError|stack size|ECONNREFUSED/;

/** The gateway's own errors, which any route may answer before its service sees the request. */
const GATEWAY_CODES = new Set([
  'no_api_key',
  'invalid_api_key',
  'payload_too_large',
  'not_found',
  'bad_request',
  'headers_too_large',
  'request_timeout',
]);
/** The platform's function relay answers these itself, as {code, message}. */
const RELAY_CODES = new Set([
  'UNAUTHORIZED_NO_AUTH_HEADER',
  'UNAUTHORIZED_INVALID_JWT_FORMAT',
  'UNAUTHORIZED_INVALID_JWT',
  'NOT_FOUND',
]);

type Body = Record<string, unknown>;
const isString = (value: unknown) => typeof value === 'string' && value !== '';
const isRecord = (value: unknown): value is Body =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** {code, message, details, hint}: PostgREST's, the gateway's and the functions' envelope. */
function envelopeProblems(body: Body): string[] {
  const problems: string[] = [];
  if (!isString(body.code)) problems.push('no string code');
  if (typeof body.message !== 'string') problems.push('no string message');
  if (!('details' in body)) problems.push('no details');
  if (!('hint' in body) || (body.hint !== null && typeof body.hint !== 'string'))
    problems.push('hint is neither a string nor null');
  return problems;
}

/** GoTrue's: {code, message} for API version 2024-01-01 and later, {code: <status>, error_code, msg} before. */
function authProblems(body: Body, request: FuzzRequest, answer: Answer): string[] {
  const version = Object.entries(request.headers)
    .find(([name]) => name.toLowerCase() === 'x-supabase-api-version')?.[1]
    ?.trim();
  const versioned =
    version !== undefined &&
    /^\d{4}-\d{2}-\d{2}$/.test(version) &&
    !Number.isNaN(Date.parse(version)) &&
    version >= '2024-01-01';
  const code = versioned ? body.code : body.error_code;
  const problems: string[] = [];
  if (versioned) {
    if (!isString(body.code) || typeof body.message !== 'string') problems.push('not {code, message}');
  } else if (body.code !== answer.status || !isString(body.error_code) || typeof body.msg !== 'string') {
    problems.push('not {code: <status>, error_code, msg}');
  }
  if (answer.headers.get('x-sb-error-code') !== code) problems.push('x-sb-error-code does not name the code');
  return problems;
}

/** Realtime's HTTP API: {code, message}, plus `errors` for a 422. */
function realtimeProblems(body: Body, answer: Answer): string[] {
  const problems: string[] = [];
  if (!isString(body.code) || typeof body.message !== 'string') problems.push('not {code, message}');
  if (answer.status === 422 && body.code === 'invalid_request' && !isRecord(body.errors))
    problems.push('a 422 without errors');
  return problems;
}

function functionProblems(body: Body): string[] {
  if (typeof body.code === 'string' && RELAY_CODES.has(body.code)) {
    return typeof body.message === 'string' ? [] : ['no string message'];
  }
  return envelopeProblems(body);
}

/**
 * The emulator serves no table routes and no OpenAPI document: a documented 501 (README, differences).
 * A HEAD answer has no body to name its code.
 */
const documentedGap = (service: Service, status: number, body: Body | undefined) =>
  service === 'rest' && status === 501 && (body === undefined || body.code === 'not_implemented');

/** Everything wrong with an answer to `request` (empty when it is well-formed). */
export function answerProblems(request: FuzzRequest, answer: Answer): string[] {
  const service = serviceOf(request.target);
  const problems: string[] = [];
  if (answer.headers.get('access-control-allow-origin') !== '*') problems.push('no CORS header');
  if (answer.status < 300) return problems;
  if (request.method === 'HEAD') {
    return answer.status >= 500 && !documentedGap(service, answer.status, undefined)
      ? [...problems, `status ${answer.status}`]
      : problems;
  }

  if (INTERNALS.test(answer.text)) problems.push('the body names internals');
  if (!/^application\/json\b/.test(answer.headers.get('content-type') ?? '')) {
    return [...problems, `status ${answer.status} of type ${answer.headers.get('content-type')}, not JSON`];
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [...problems, `status ${answer.status} with a body that is not JSON`];
  }
  if (!isRecord(body)) return [...problems, `status ${answer.status} with a body that is not a JSON object`];
  if (answer.status >= 500 && !documentedGap(service, answer.status, body))
    problems.push(`status ${answer.status}`);
  if (typeof body.code === 'string' && GATEWAY_CODES.has(body.code) && envelopeProblems(body).length === 0) {
    return problems; // the gateway answered for the service
  }
  switch (service) {
    case 'auth':
      return [...problems, ...authProblems(body, request, answer)];
    case 'realtime':
      return [...problems, ...realtimeProblems(body, answer)];
    case 'functions':
      return [...problems, ...functionProblems(body)];
    case 'rest':
    case 'gateway':
      return [...problems, ...envelopeProblems(body)];
  }
}
