// Turns errors raised by our SQL into the API envelope, the way PostgREST turns
// them into supabase.rpc() responses, so that the same SQL answers the same
// through both routes. Deliberate API errors use PostgREST's convention
// (`raise sqlstate 'PGRST'` with the body as JSON in the message and
// {status, headers} in the detail); any other error the client caused (a value
// that does not convert, a violated constraint) is its SQLSTATE as the code,
// with PostgREST's status. Errors PostgREST answers with 5xx are our fault:
// undefined here, so the handler logs them and reveals nothing.

import { ApiError } from './errors.ts';

interface SqlError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

// A SQLSTATE is five digits and capitals, at least one a digit (42P01, P0001, XX000). The
// driver's own errors when a connection is lost (CONNECTION_CLOSED, EPIPE, ECONNRESET…) are
// not, and are our fault: a 5xx the client retries.
const isSqlError = (error: unknown): error is SqlError =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as SqlError).code === 'string' &&
  /^((?=.*\d)[0-9A-Z]{5}|PGRST)$/.test((error as SqlError).code as string);

/** SQLSTATEs (and classes) PostgREST answers with a 5xx: trouble on the server's side. */
const SERVER_SIDE = /^(08|09|21|25|2D|38|39|3B|40|42P17|53|54|55|57|58|F0|HV|P0|XX)/;

/** PostgREST's status for a SQLSTATE raised by a signed-in caller's request (undefined: a 5xx). */
function statusOf(code: string): number | undefined {
  const exact: Record<string, number> = {
    '23503': 409,
    '23505': 409,
    '25006': 405,
    '42883': 404,
    '42P01': 404,
    '42501': 403,
    P0001: 400,
  };
  if (code in exact) return exact[code];
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  if (/^(0L|0P|28)/.test(code)) return 403;
  return SERVER_SIDE.test(code) ? undefined : 400;
}

/** The ApiError a database error stands for, or undefined for one that is our fault (a 500). */
export function apiErrorFromSql(error: unknown): ApiError | undefined {
  if (!isSqlError(error)) return undefined;
  const code = error.code as string;
  if (code === 'PGRST') {
    try {
      const body = JSON.parse(error.message ?? '{}') as Record<string, unknown>;
      const meta = JSON.parse(error.detail ?? '{}') as { status?: number; headers?: Record<string, string> };
      return new ApiError(
        meta.status ?? 400,
        String(body.code ?? 'invalid_request'),
        String(body.message ?? 'The request was refused'),
        body.details ?? null,
        typeof body.hint === 'string' ? body.hint : null,
        meta.headers ?? {},
      );
    } catch {
      return undefined;
    }
  }
  const status = statusOf(code);
  if (status === undefined) return undefined;
  return new ApiError(
    status,
    code,
    error.message ?? 'The request was refused',
    error.detail ?? null,
    error.hint ?? null,
  );
}
