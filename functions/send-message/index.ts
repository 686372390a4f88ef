// send-message: stores a message as the caller and lets the database announce it.
// POST {conversation_id, client_id, body, reply_to?, metadata?} — the arguments of
// the send_message RPC, checked by it and answered exactly as supabase.rpc() would.
//   201 the stored message (with its seq) — first send
//   200 the same message — a retry with the same client_id (nothing new is written or sent)
// Errors come from the envelope: 400, 401, 403 (not a member, blocked), 404 (unknown
// conversation or reply target), 413 (too large), 429 (rate limited, with Retry-After).
// Sends arriving together are stored together (group commit, see send-batches.ts);
// each is answered alone.

import { requireUser } from '../_shared/auth.ts';
import { createHandler, json } from '../_shared/handler.ts';
import { readJsonBody } from '../_shared/request.ts';
import { sendMessage } from '../_shared/schemas.ts';
import { batchRunner, MAX_SEND_BATCH, SendBatches } from '../_shared/send-batches.ts';

interface Sent {
  message: { id: string; seq: number };
  created: boolean;
}

/** Batches in the database at once (SEND_LANES, default 2: one per core of a small instance). */
const lanes = Number(Deno.env.get('SEND_LANES') ?? 2);
const sends = new SendBatches<Sent>(batchRunner(lanes), lanes, MAX_SEND_BATCH);

export default createHandler('send-message', async (request, context) => {
  const caller = await requireUser(request);
  const input = await readJsonBody(request, Object.keys(sendMessage.arguments));
  const result = await sends.submit({ caller, input });
  context.log('sent', { message_id: result.message.id, seq: result.message.seq, created: result.created });
  return json(result.message, result.created ? 201 : 200);
});
