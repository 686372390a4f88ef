// Wraps a function's logic: CORS and preflight, a request id, one catch-all
// that turns typed errors (ours or the SQL's) into the envelope and anything
// unexpected into a 500 with a logged id and no internals.

import { corsHeaders } from './cors.ts';
import { ApiError } from './errors.ts';
import { apiErrorFromSql } from './sql-errors.ts';

export interface Context {
  requestId: string;
  log(event: string, fields?: Record<string, unknown>): void;
}

export type Logic = (request: Request, context: Context) => Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers });
}

export function createHandler(
  name: string,
  logic: Logic,
): { fetch: (request: Request) => Promise<Response> } {
  return {
    async fetch(request) {
      const requestId = request.headers.get('x-request-id') ?? crypto.randomUUID();
      const started = performance.now();
      const log = (event: string, fields: Record<string, unknown> = {}) =>
        console.log(JSON.stringify({ fn: name, request_id: requestId, event, ...fields }));
      const headers = { ...corsHeaders, 'x-request-id': requestId };
      if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers });
      let response: Response;
      try {
        response = await logic(request, { requestId, log });
      } catch (error) {
        const known = error instanceof ApiError ? error : apiErrorFromSql(error);
        if (known) {
          response = known.toResponse();
        } else {
          log('unexpected_error', {
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          });
          response = new ApiError(
            500,
            'internal_error',
            `Something went wrong on our side (request id ${requestId})`,
          ).toResponse();
        }
      }
      for (const [key, value] of Object.entries(headers)) response.headers.set(key, value);
      if (response.status >= 500) log('failed', { status: response.status, ms: performance.now() - started });
      return response;
    },
  };
}
