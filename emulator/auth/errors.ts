// Supabase Auth's errors. Their shape depends on the X-Supabase-Api-Version a
// client sends, as in GoTrue: 2024-01-01 or later (supabase-js sends it) gets
// {code, message} and the version echoed back; no version gets the original
// {code: <status>, error_code, msg}. Every error names its code in the
// x-sb-error-code header too. The error code names are Auth's own.

import { HttpError, json } from '../http.ts';

export const API_VERSION = '2024-01-01';

export class AuthError extends HttpError {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(status, { code, message, ...extra });
  }
}

export const authError = (status: number, code: string, message: string, extra?: Record<string, unknown>) =>
  new AuthError(status, code, message, extra);

/** Whether the request asked for API version 2024-01-01 or later (an unparsable one counts as none). */
function wantsVersioned(request: Request): boolean {
  const requested = request.headers.get('x-supabase-api-version')?.trim() ?? '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(requested) || Number.isNaN(Date.parse(requested))) return false;
  return requested >= API_VERSION;
}

export function authErrorResponse(error: AuthError, request: Request): Response {
  const headers: Record<string, string> = { 'x-sb-error-code': error.code };
  if (wantsVersioned(request)) {
    headers['x-supabase-api-version'] = API_VERSION;
    return json({ code: error.code, message: error.message, ...error.extra }, error.status, headers);
  }
  return json(
    { code: error.status, error_code: error.code, msg: error.message, ...error.extra },
    error.status,
    headers,
  );
}

export const invalidCredentials = () => authError(400, 'invalid_credentials', 'Invalid login credentials');
export const validationFailed = (message: string) => authError(400, 'validation_failed', message);
export const badJson = (problem?: string) =>
  authError(400, 'bad_json', problem ?? 'Could not parse request body as JSON');
export const noAuthorization = () =>
  authError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
export const badJwt = (detail: string) => authError(403, 'bad_jwt', `invalid JWT: ${detail}`);
export const notAdmin = () => authError(403, 'not_admin', 'User not allowed');
export const overRateLimit = () => authError(429, 'over_request_rate_limit', 'Request rate limit reached');
