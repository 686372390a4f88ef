// What every function Twilio calls does first: read the form-encoded body (POST,
// form content type, size cap) and check X-Twilio-Signature against the URL Twilio
// requested, with the account's auth token. A bad signature is 403 before anything
// is read from the form or written.

import { ApiError } from './errors.ts';
import { isValidSignature } from './twilio-signature.ts';

const BODY_LIMIT = 64 * 1024;

/**
 * The public URL of function `name` as Twilio requested it (what it signed): the URL
 * configured in `configuredVariable` when the function sits behind another address,
 * else SUPABASE_URL/functions/v1/<name>, with the request's query string.
 */
export function publicUrl(request: Request, name: string, configuredVariable: string): string {
  const search = new URL(request.url).search;
  const configured = Deno.env.get(configuredVariable);
  if (configured) return configured.includes('?') ? configured : configured + search;
  return `${Deno.env.get('SUPABASE_URL')}/functions/v1/${name}${search}`;
}

async function readForm(request: Request): Promise<URLSearchParams> {
  if (request.method !== 'POST')
    throw new ApiError(405, 'method_not_allowed', `Use POST, not ${request.method}`);
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    throw new ApiError(
      415,
      'unsupported_media_type',
      'Twilio webhooks are application/x-www-form-urlencoded',
    );
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > BODY_LIMIT)
    throw new ApiError(413, 'payload_too_large', `The body exceeds ${BODY_LIMIT} bytes`);
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

/** The authentic form of a request from Twilio, else an ApiError (503, 405, 415, 413, 403). */
export async function readSignedForm(
  request: Request,
  url: string,
  log: (event: string, fields?: Record<string, unknown>) => void,
): Promise<URLSearchParams> {
  const authToken = Deno.env.get('TWILIO_AUTH_TOKEN');
  if (!authToken) {
    log('not_configured', { missing: 'TWILIO_AUTH_TOKEN' });
    throw new ApiError(503, 'not_configured', 'The Twilio integration is not configured');
  }
  const params = await readForm(request);
  if (!(await isValidSignature(authToken, request.headers.get('x-twilio-signature'), url, params))) {
    log('invalid_signature');
    throw new ApiError(403, 'invalid_signature', 'The X-Twilio-Signature header does not match this request');
  }
  return params;
}
