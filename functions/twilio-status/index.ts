// twilio-status (verify_jwt = false): Twilio's status callbacks for the messages
// twilio-send sent (StatusCallback = this URL with ?message_id=<our message id>).
// Signed like every Twilio webhook: a bad X-Twilio-Signature is 403 and writes
// nothing. MessageStatus queued / sending / sent / delivered / read / failed /
// undelivered becomes the message's external delivery state, which only moves forward
// (callbacks come out of order) and is announced as delivery.changed on the
// conversation's topic. A callback for a message still in doubt records its sid.
// Answers 200 (also for a status that changes nothing, so that Twilio does not retry).
//
// Configuration: TWILIO_AUTH_TOKEN, and TWILIO_STATUS_CALLBACK_URL when the URL Twilio
// calls is not SUPABASE_URL/functions/v1/twilio-status.

import { z } from 'zod';
import { database } from '../_shared/db.ts';
import { ApiError } from '../_shared/errors.ts';
import { createHandler } from '../_shared/handler.ts';
import { publicUrl, readSignedForm } from '../_shared/twilio-request.ts';

const callback = z.object({
  message_id: z.uuid(),
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'must be a Twilio message SID'),
  MessageStatus: z.string().min(1).max(40),
  ErrorCode: z.string().max(20).optional(),
});

export default createHandler('twilio-status', async (request, context) => {
  const params = await readSignedForm(
    request,
    publicUrl(request, 'twilio-status', 'TWILIO_STATUS_CALLBACK_URL'),
    context.log,
  );
  const parsed = callback.safeParse({
    ...Object.fromEntries(params),
    message_id: new URL(request.url).searchParams.get('message_id') ?? undefined,
  });
  if (!parsed.success) {
    throw new ApiError(
      400,
      'invalid_callback',
      `The request is not a status callback of ours: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const { message_id, MessageSid, MessageStatus, ErrorCode } = parsed.data;
  const [row] = await database()<{ outcome: string }[]>`
    select private.apply_external_status(${message_id}::uuid, ${MessageSid}, ${MessageStatus},
                                         ${ErrorCode || null}) as outcome`;
  context.log('status', { message_id, sid: MessageSid, status: MessageStatus, outcome: row?.outcome });
  return new Response(null, { status: 200 });
});
