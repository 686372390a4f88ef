// What the conversation screens show, in the backend's own field names.

import type { ApiError } from '../errors.ts';

export type SendStatus = 'pending' | 'sent' | 'failed';

export interface ChatMessage {
  id: string | null;
  client_id: string | null;
  seq: number | null;
  sender_id: string | null;
  kind: 'text' | 'system' | 'external';
  body: string;
  reply_to: string | null;
  metadata: Record<string, unknown>;
  /** {emoji: [user ids]} */
  reactions: Record<string, string[]>;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  status: SendStatus;
  error?: ApiError;
}

export interface ChatMember {
  user_id: string;
  display_name: string;
  role: 'owner' | 'admin' | 'member';
  last_read_seq: number;
  last_delivered_seq: number;
}

export interface InboxEntry {
  conversation_id: string;
  kind: 'direct' | 'group';
  title: string | null;
  peer: { id: string; display_name: string; avatar_url: string | null } | null;
  unread_count: number;
  last_message: {
    id: string;
    seq: number;
    sender_id: string | null;
    preview: string | null;
    created_at: string;
    deleted: boolean;
  } | null;
  last_message_at: string | null;
}

export const conversationName = (entry: Pick<InboxEntry, 'kind' | 'title' | 'peer'>) =>
  entry.kind === 'direct' ? (entry.peer?.display_name ?? 'Direct message') : (entry.title ?? 'Group');
