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
 * lets SQL choose the whole response, as PostgREST allows.
 */
function customError(error: PgError): HttpError {
  try {
    const body = JSON.parse(error.message) as Record<string, unknown>;
    const meta = JSON.parse(error.detail ?? '{}') as { status?: number; headers?: Record<string, string> };
    return restError(
      meta.status ?? 400,
      String(body.code ?? 'PGRST'),
      String(body.message ?? ''),
      body.details ?? null,
      (body.hint as string | undefined) ?? null,
      meta.headers ?? {},
    );
  } catch {
    return restError(
      500,
      'PGRST121',
      'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error',
      error.message,
    );
  }
}
