// mark-read: moves the caller's read marker in a conversation forward.
// POST {conversation_id, seq} — the arguments of the mark_read RPC, checked by it
// and answered exactly as supabase.rpc() would.
//   200 {conversation_id, last_seq, last_read_seq, last_delivered_seq, unread_count}
// Never moves backwards: a lower seq changes nothing and returns the current state.
// A seq past the conversation's last message is refused with 400 invalid_seq (a
// client cannot have read what does not exist yet); 0 is allowed.

import { requireUser } from '../_shared/auth.ts';
import { asCaller, callRpc } from '../_shared/db.ts';
import { createHandler, json } from '../_shared/handler.ts';
import { readJsonBody } from '../_shared/request.ts';
import { markRead } from '../_shared/schemas.ts';

interface ReadState {
  conversation_id: string;
  last_seq: number;
  last_read_seq: number;
  last_delivered_seq: number;
  unread_count: number;
}

export default createHandler('mark-read', async (request) => {
  const caller = await requireUser(request);
  const input = await readJsonBody(request, Object.keys(markRead.arguments));
  return json(await asCaller(caller, (sql) => callRpc<ReadState>(sql, markRead, input)));
});
