// twilio-webhook (verify_jwt = false): inbound SMS and WhatsApp messages from
// Twilio. The X-Twilio-Signature header is checked against TWILIO_AUTH_TOKEN
// before anything else; a bad signature gets 403 and writes nothing. The sender
// maps to an external contact whose conversation (with the support team) is
// created on first contact; the message is stored as kind 'external' and flows
// through the same triggers and events as any other. Idempotent on MessageSid.
// Answers an empty TwiML document.
//
// Configuration: TWILIO_AUTH_TOKEN (the account's auth token, a secret),
// TWILIO_WEBHOOK_URL (the public URL configured in Twilio; defaults to
// SUPABASE_URL/functions/v1/twilio-webhook) and the team in private.external_team_members.

import type { JSONValue } from 'postgres';
import { database } from '../_shared/db.ts';
import { ApiError } from '../_shared/errors.ts';
import { createHandler } from '../_shared/handler.ts';
import { parseInbound } from './inbound.ts';
import { isValidSignature } from './signature.ts';

const BODY_LIMIT = 64 * 1024;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/** The URL Twilio requested, which is what it signed (the function itself sits behind a gateway). */
function publicUrl(request: Request): string {
  const search = new URL(request.url).search;
  const configured = Deno.env.get('TWILIO_WEBHOOK_URL');
  if (configured) return configured.includes('?') ? configured : configured + search;
  return `${Deno.env.get('SUPABASE_URL')}/functions/v1/twilio-webhook${search}`;
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

export default createHandler('twilio-webhook', async (request, context) => {
  const authToken = Deno.env.get('TWILIO_AUTH_TOKEN');
  if (!authToken) {
    context.log('not_configured', { missing: 'TWILIO_AUTH_TOKEN' });
    throw new ApiError(503, 'not_configured', 'The Twilio webhook is not configured');
  }
  const params = await readForm(request);
  if (
    !(await isValidSignature(
      authToken,
      request.headers.get('x-twilio-signature'),
      publicUrl(request),
      params,
    ))
  ) {
    context.log('invalid_signature');
    throw new ApiError(403, 'invalid_signature', 'The X-Twilio-Signature header does not match this request');
  }
  const parsed = parseInbound(params);
  if (!parsed.ok)
    throw new ApiError(400, 'invalid_webhook', `The webhook is not a message: ${parsed.problem}`);
  const { message } = parsed;
  const sql = database();
  const [row] = await sql<{ result: { message_id: string; conversation_id: string; created: boolean } }[]>`
    select private.receive_external_message(
      ${message.channel}, ${message.address}, ${message.profileName}, ${message.messageSid}, ${message.body},
      ${sql.json(message.media as unknown as JSONValue)}
    ) as result`;
  context.log('received', { channel: message.channel, ...row?.result });
  return new Response(EMPTY_TWIML, { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' } });
});
