// Request bodies of the chat functions. The database checks the same rules
// again (it is the authority); these give early, precise 400s.

import { z } from 'zod';

const id = z.uuid({ error: 'must be a UUID' });

export const sendMessageRequest = z.strictObject({
  conversation_id: id,
  client_id: z.string().min(1).max(100),
  body: z.string(),
  reply_to: id.nullish(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const markReadRequest = z.strictObject({
  conversation_id: id,
  seq: z.number().int().nonnegative(),
});

export const signalTypes = ['offer', 'answer', 'ice', 'bye'] as const;

export const signalRequest = z.strictObject({
  conversation_id: id,
  to: id,
  type: z.enum(signalTypes),
  payload: z.json().optional(),
});
