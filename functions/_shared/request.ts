// Reads and validates a JSON request body: method, content type, a size cap,
// well-formed JSON, then the zod schema. Each failure is a clear 4xx.

import { z } from 'zod';
import { ApiError } from './errors.ts';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export async function readJsonBody<T extends z.ZodType>(
  request: Request,
  schema: T,
  limit = DEFAULT_BODY_LIMIT,
): Promise<z.infer<T>> {
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
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON');
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new ApiError(
      400,
      'invalid_request',
      `The request body is invalid: ${z.prettifyError(result.error).replaceAll('\n', ' ')}`,
      result.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
        code: issue.code,
      })),
    );
  }
  return result.data;
}

const tooLarge = (limit: number) =>
  new ApiError(413, 'payload_too_large', `The request body exceeds ${limit} bytes`, { max_bytes: limit });
