// send-message: stores a message as the caller and lets the database announce it.
// POST {conversation_id, client_id, body, reply_to?, metadata?} — the arguments of
// the send_message RPC, checked by it and answered exactly as supabase.rpc() would.
//   201 the stored message (with its seq) — first send
//   200 the same message — a retry with the same client_id (nothing new is written or sent)
// Errors come from the envelope: 400, 401, 403 (not a member, blocked), 404 (unknown
// conversation or reply target), 413 (too large), 429 (rate limited, with Retry-After).

import { requireUser } from '../_shared/auth.ts';
import { callRpcAsCaller } from '../_shared/db.ts';
import { createHandler, json } from '../_shared/handler.ts';
import { readJsonBody } from '../_shared/request.ts';
import { sendMessage } from '../_shared/schemas.ts';

interface Sent {
  message: { id: string; seq: number };
  created: boolean;
}

export default createHandler('send-message', async (request, context) => {
  const caller = await requireUser(request);
  const input = await readJsonBody(request, Object.keys(sendMessage.arguments));
  const result = await callRpcAsCaller<Sent | null>(caller, sendMessage, input);
  if (!result) throw new Error('send_message returned nothing');
  context.log('sent', { message_id: result.message.id, seq: result.message.seq, created: result.created });
  return json(result.message, result.created ? 201 : 200);
});
