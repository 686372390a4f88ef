// PostgREST's error contract: {code, message, details, hint} with the HTTP
// status PostgREST derives from the SQLSTATE (or that the SQL asked for).

import { HttpError } from '../http.ts';

export function restError(
  status: number,
  code: string,
  message: string,
  details: unknown = null,
  hint: string | null = null,
  headers: Record<string, string> = {},
) {
  return new HttpError(status, { code, message, details, hint }, headers);
}

/** The HTTP status PostgREST gives a PostgreSQL error. */
export function statusForSqlState(code: string, authenticated: boolean): number {
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  const exact: Record<string, number> = {
    '23503': 409,
    '23505': 409,
    '25006': 405,
    '42883': 404,
    '42P01': 404,
    '42P17': 500,
    '42501': authenticated ? 403 : 401,
    P0001: 400,
  };
  if (code in exact) return exact[code] as number;
  const byClass: Record<string, number> = {
    '08': 503,
    '09': 500,
    '0L': 403,
    '0P': 403,
    '25': 500,
    '28': 403,
    '2D': 500,
    '38': 500,
    '39': 500,
    '3B': 500,
    '40': 500,
    '53': 503,
    '54': 500,
    '55': 500,
    '57': 500,
    '58': 500,
    F0: 500,
    HV: 500,
    P0: 500,
    XX: 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}

interface PgError {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** Turns an error raised by the SQL into PostgREST's response. */
export function fromPgError(error: PgError, authenticated: boolean): HttpError {
  const code = error.code ?? 'XX000';
  if (code === 'PGRST') return customError(error);
  const status = statusForSqlState(code, authenticated);
  const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {};
  return restError(status, code, error.message, error.detail ?? null, error.hint ?? null, headers);
}

/**
 * `raise sqlstate 'PGRST' using message = '{"code":..,"message":..}', detail = '{"status":..,"headers":{..}}'`
 * lets SQL choose the whole response, as PostgREST allows — on PostgREST's terms:
 * the message is an object with text `code` and `message` and optional text (or
 * null) `details` and `hint`; the detail an object with a numeric `status`, `headers`
 * of text values and an optional `status_text`. Anything else is PostgREST's 500 PGRST121.
 */
function customError(error: PgError): HttpError {
  const body = parseJsonObject(error.message);
  const meta = error.detail === undefined ? undefined : parseJsonObject(error.detail);
  const text = (value: unknown) => typeof value === 'string';
  const textOrNull = (value: unknown) => value === undefined || value === null || typeof value === 'string';
  if (
    !body ||
    !text(body.code) ||
    !text(body.message) ||
    !textOrNull(body.details) ||
    !textOrNull(body.hint)
  ) {
    return unparsable(
      `Invalid JSON value for MESSAGE: '${error.message}'`,
      "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.",
    );
  }
  if (error.detail === undefined) {
    return unparsable('DETAIL is missing in the RAISE statement', DETAIL_HINT);
  }
  const headers = meta?.headers;
  if (
    !meta ||
    typeof meta.status !== 'number' ||
    !headers ||
    typeof headers !== 'object' ||
    Array.isArray(headers) ||
    !Object.values(headers).every(text) ||
    !textOrNull(meta.status_text)
  ) {
    return unparsable(`Invalid JSON value for DETAIL: '${error.detail}'`, DETAIL_HINT);
  }
  return restError(
    meta.status,
    body.code as string,
    body.message as string,
    (body.details as string | undefined) ?? null,
    (body.hint as string | undefined) ?? null,
    headers as Record<string, string>,
  );
}

const DETAIL_HINT =
  "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.";

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function unparsable(details: string, hint: string): HttpError {
  return restError(
    500,
    'PGRST121',
    'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error',
    details,
    hint,
  );
}
