// "Delivered to / seen by" for one message, from the members' watermarks.

import type { ConversationSnapshot } from './conversation.ts';
import type { ChatMessage, Member } from './types.ts';

export interface MessageReceipts {
  /** Members other than the sender whose device has the message. */
  deliveredTo: Member[];
  /** Members other than the sender who have read it. */
  seenBy: Member[];
}

export function receiptsOf(
  conversation: Pick<ConversationSnapshot, 'members'>,
  message: Pick<ChatMessage, 'seq' | 'sender_id'>,
): MessageReceipts {
  const { seq } = message;
  if (seq === null) return { deliveredTo: [], seenBy: [] };
  const others = conversation.members.filter((member) => member.user_id !== message.sender_id);
  return {
    deliveredTo: others.filter((member) => member.last_delivered_seq >= seq),
    seenBy: others.filter((member) => member.last_read_seq >= seq),
  };
}
