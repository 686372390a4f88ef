// send-message: stores a message as the caller and lets the database announce it.
// POST {conversation_id, client_id, body, reply_to?, metadata?}
//   201 the stored message (with its seq) — first send
//   200 the same message — a retry with the same client_id (nothing new is written or sent)
// Errors come from the envelope: 400, 401, 403 (not a member, blocked), 404 (unknown
// conversation or reply target), 413 (too large), 429 (rate limited, with Retry-After).

import type { JSONValue } from 'postgres';
import { requireUser } from '../_shared/auth.ts';
import { asCaller } from '../_shared/db.ts';
import { createHandler, json } from '../_shared/handler.ts';
import { readJsonBody } from '../_shared/request.ts';
import { sendMessageRequest } from '../_shared/schemas.ts';

export default createHandler('send-message', async (request, context) => {
  const caller = await requireUser(request);
  const input = await readJsonBody(request, sendMessageRequest);
  const result = await asCaller(caller, async (sql) => {
    const [row] = await sql<{ result: { message: { id: string; seq: number }; created: boolean } }[]>`
      select public.send_message(
        ${input.conversation_id}::uuid, ${input.client_id}, ${input.body},
        ${input.reply_to ?? null}::uuid, ${sql.json((input.metadata ?? {}) as JSONValue)}
      ) as result`;
    return row?.result;
  });
  if (!result) throw new Error('send_message returned nothing');
  context.log('sent', { message_id: result.message.id, seq: result.message.seq, created: result.created });
  return json(result.message, result.created ? 201 : 200);
});
