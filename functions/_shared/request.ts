// Reads a JSON request body: method, content type, a size cap, well-formed
// JSON nested no deeper than MAX_JSON_DEPTH, and a JSON object naming only
// expected fields. Each failure is a clear 4xx. The values themselves are the
// SQL's to check: it is the authority, and checking them here as well would
// answer differently from supabase.rpc() for the same input.

import { ApiError } from './errors.ts';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Deeper JSON would overflow JSON.stringify (a few thousand levels) on its way to the database. */
export const MAX_JSON_DEPTH = 1000;

/** Whether `value` nests arrays and objects deeper than `limit` (walked without recursion). */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

export async function readJsonBody(
  request: Request,
  fields: readonly string[],
  limit = DEFAULT_BODY_LIMIT,
): Promise<Record<string, unknown>> {
  if (request.method !== 'POST') {
    throw new ApiError(405, 'method_not_allowed', `Use POST, not ${request.method}`);
  }
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new ApiError(415, 'unsupported_media_type', 'Send the request body as application/json');
  }
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > limit) throw tooLarge(limit);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON');
  }
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw new ApiError(400, 'invalid_json', `The request body nests deeper than ${MAX_JSON_DEPTH} levels`, {
      max_depth: MAX_JSON_DEPTH,
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'invalid_json', 'The request body must be a JSON object');
  }
  const unknown = Object.keys(body).find((field) => !fields.includes(field));
  if (unknown !== undefined) {
    throw new ApiError(400, 'invalid_argument', `Unknown field ${JSON.stringify(unknown)}.`, {
      argument: unknown,
    });
  }
  return body as Record<string, unknown>;
}

const tooLarge = (limit: number) =>
  new ApiError(413, 'payload_too_large', `The request body exceeds ${limit} bytes`, { max_bytes: limit });
