// signal: relays a WebRTC signaling message (offer, answer, ICE candidate, bye)
// from the caller to another member of the same conversation.
// POST {conversation_id, to, type, payload} — the send_signal RPC's conversation_id,
// to_user, signal_type and payload, checked by it and answered exactly as
// supabase.rpc() would.
//   202 {} — delivered as event `signal` {from, conversation_id, type, payload} on the
//   target's private user:<to> topic, and to no one else.
// 403 unless both are members; 413 over the size cap; 429 past the rate limit
// (sized for ICE bursts).

import { requireUser } from '../_shared/auth.ts';
import { asCaller, callRpc } from '../_shared/db.ts';
import { createHandler, json } from '../_shared/handler.ts';
import { readJsonBody } from '../_shared/request.ts';
import { sendSignal } from '../_shared/schemas.ts';

/** An SDP offer with many candidates fits easily; anything larger is not signaling. */
const SIGNAL_BODY_LIMIT = 32 * 1024;

/** The body's field names for the RPC's arguments. */
const FIELDS: Record<string, string> = {
  conversation_id: 'conversation_id',
  to: 'to_user',
  type: 'signal_type',
  payload: 'payload',
};

export default createHandler('signal', async (request) => {
  const caller = await requireUser(request);
  const input = await readJsonBody(request, Object.keys(FIELDS), SIGNAL_BODY_LIMIT);
  const args = Object.fromEntries(Object.entries(input).map(([field, value]) => [FIELDS[field], value]));
  await asCaller(caller, (sql) => callRpc(sql, sendSignal, args));
  return json({}, 202);
});
