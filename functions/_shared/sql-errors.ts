// Turns errors raised by our SQL into the API envelope. Deliberate API errors
// use PostgREST's convention (`raise sqlstate 'PGRST'` with the body as JSON in
// the message and {status, headers} in the detail), so the same SQL gives the
// same answer through supabase.rpc() and through an Edge Function.

import { ApiError } from './errors.ts';

interface SqlError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

const isSqlError = (error: unknown): error is SqlError =>
  typeof error === 'object' && error !== null && typeof (error as SqlError).code === 'string';

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
  const message = error.message ?? 'The request was refused';
  if (code === '42501') return new ApiError(403, 'forbidden', message);
  if (code === '23505' || code === '23503')
    return new ApiError(409, 'conflict', message, error.detail ?? null);
  if (code.startsWith('22') || code === '23502' || code === '23514') {
    return new ApiError(400, 'invalid_input', message, error.detail ?? null, error.hint ?? null);
  }
  if (code === '57014') return new ApiError(503, 'timeout', 'The database took too long; try again');
  return undefined;
}
