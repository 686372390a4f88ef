// signal: relays a WebRTC signaling message (offer, answer, ICE candidate, bye)
// from the caller to another member of the same conversation.
// POST {conversation_id, to, type, payload}
//   202 {} — delivered as event `signal` {from, conversation_id, type, payload} on the
//   target's private user:<to> topic, and to no one else.
// 403 unless both are members; 413 over the size cap; 429 past the rate limit
// (sized for ICE bursts).

import type { JSONValue } from 'postgres';
import { requireUser } from '../_shared/auth.ts';
import { asCaller } from '../_shared/db.ts';
import { createHandler, json } from '../_shared/handler.ts';
import { readJsonBody } from '../_shared/request.ts';
import { signalRequest } from '../_shared/schemas.ts';

/** An SDP offer with many candidates fits easily; anything larger is not signaling. */
const SIGNAL_BODY_LIMIT = 32 * 1024;

export default createHandler('signal', async (request) => {
  const caller = await requireUser(request);
  const input = await readJsonBody(request, signalRequest, SIGNAL_BODY_LIMIT);
  await asCaller(caller, async (sql) => {
    await sql`select public.send_signal(${input.conversation_id}::uuid, ${input.to}::uuid, ${input.type},
                                         ${sql.json((input.payload ?? null) as JSONValue)})`;
  });
  return json({}, 202);
});
