// Supabase Auth's error shape: clients that send X-Supabase-Api-Version
// (supabase-js does) get {code, message}; the error code names are Auth's own.

import { HttpError } from '../http.ts';

export const API_VERSION = '2024-01-01';

export function authError(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return new HttpError(status, { code, message, ...extra }, { 'x-supabase-api-version': API_VERSION });
}

export const invalidCredentials = () => authError(400, 'invalid_credentials', 'Invalid login credentials');
export const validationFailed = (message: string) => authError(400, 'validation_failed', message);
export const badJson = () => authError(400, 'bad_json', 'Could not parse request body as JSON');
export const noAuthorization = () =>
  authError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
export const badJwt = (detail: string) => authError(403, 'bad_jwt', `invalid JWT: ${detail}`);
export const notAdmin = () => authError(403, 'not_admin', 'User not allowed');
