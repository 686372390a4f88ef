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
// SUPABASE_URL/functions/v1/twilio-webhook) and the team (add_team_member).

import type { JSONValue } from 'postgres';
import { database } from '../_shared/db.ts';
import { ApiError } from '../_shared/errors.ts';
import { createHandler } from '../_shared/handler.ts';
import { publicUrl, readSignedForm } from '../_shared/twilio-request.ts';
import { parseInbound } from './inbound.ts';

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export default createHandler('twilio-webhook', async (request, context) => {
  const params = await readSignedForm(
    request,
    publicUrl(request, 'twilio-webhook', 'TWILIO_WEBHOOK_URL'),
    context.log,
  );
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
