// The shapes the library hands out, in the backend's own field names. Rows come
// from the generated database types (database.types.ts, `npm run gen:types`);
// JSON columns and composite types are narrowed to what the contract says.

import type { Database } from './database.types.ts';
import type { ChatErrorShape } from './errors.ts';

type Tables = Database['public']['Tables'];
type Composites = Database['public']['CompositeTypes'];
type NonNull<T> = { [K in keyof T]-?: NonNullable<T[K]> };

/** {emoji: [user ids, oldest first]} */
export type Reactions = Record<string, string[]>;

/**
 * How a message to an external contact (SMS / WhatsApp) is getting on: `pending` <
 * `queued` < `sending` < `sent` < `delivered` < `read`, or the final `failed`,
 * `undelivered`, `canceled` (with the error). Announced as `delivery.changed`.
 */
export interface ExternalDelivery {
  channel: 'sms' | 'whatsapp';
  status:
    | 'pending'
    | 'queued'
    | 'sending'
    | 'sent'
    | 'delivered'
    | 'read'
    | 'failed'
    | 'undelivered'
    | 'canceled';
  sid: string | null;
  error: { code: string; message: string; status?: number } | null;
  updated_at: string;
}

/** A stored message (a `messages` row). */
export type MessageRow = Omit<
  Tables['messages']['Row'],
  'kind' | 'metadata' | 'reactions' | 'external_delivery'
> & {
  kind: 'text' | 'system' | 'external';
  metadata: Record<string, unknown>;
  reactions: Reactions;
  /** null unless the message goes out to an external contact. */
  external_delivery: ExternalDelivery | null;
};

export type SendStatus = 'pending' | 'sent' | 'failed';

/**
 * A message as the timeline shows it: a stored row (`status: 'sent'`), or one of
 * your sends not stored yet (`pending` / `failed`: `id` and `seq` null until stored),
 * or a peer's message that arrived over WebRTC ahead of the server copy (`via: 'webrtc'`).
 */
export interface ChatMessage extends Omit<MessageRow, 'id' | 'seq' | 'change_seq'> {
  id: string | null;
  seq: number | null;
  change_seq: number | null;
  status: SendStatus;
  error: ChatErrorShape | null;
  via: 'server' | 'webrtc';
}

export interface Peer {
  id: string;
  display_name: string;
  avatar_url: string | null;
}

export interface LastMessage {
  id: string;
  seq: number;
  sender_id: string | null;
  preview: string | null;
  created_at: string;
  deleted: boolean;
}

export type Role = 'owner' | 'admin' | 'member';

/** One conversation of the inbox (`list_inbox`, `get_conversation`). */
export type InboxEntry = Omit<
  NonNull<Composites['inbox_entry']>,
  'kind' | 'title' | 'peer' | 'role' | 'muted_until' | 'last_message' | 'last_message_at' | 'cursor'
> & {
  kind: 'direct' | 'group';
  title: string | null;
  peer: Peer | null;
  role: Role;
  muted_until: string | null;
  last_message: LastMessage | null;
  last_message_at: string | null;
  cursor?: string | null;
};

/** A member with profile and read state (`list_members`). */
export type Member = Omit<
  Database['public']['Functions']['list_members']['Returns'][number],
  'role' | 'avatar_url'
> & {
  role: Role;
  avatar_url: string | null;
};

/** `sync_conversation`'s answer. */
export interface SyncPage {
  messages: MessageRow[];
  cursor: number;
  has_more: boolean;
  last_seq: number;
}

// Events, as the contract v2 defines them.

export interface MessageEvent {
  record: MessageRow;
  operation: 'INSERT' | 'UPDATE';
}

export interface ReactionEvent {
  conversation_id: string;
  message_id: string;
  seq: number;
  change_seq: number;
  user_id: string;
  emoji: string;
  action: 'added' | 'removed';
  reactions: Reactions;
}

export interface MemberEvent {
  operation: 'INSERT' | 'UPDATE' | 'DELETE';
  conversation_id: string;
  user_id: string;
  role: Role;
}

export interface ReceiptEvent {
  conversation_id: string;
  user_id: string;
  last_read_seq: number;
  last_delivered_seq: number;
}

export interface RotatedEvent {
  conversation_id: string;
  topic: string;
  live_topic: string;
  epoch: number;
  change: number;
}

export interface InboxUpdatedEvent {
  conversation_id: string;
  last_seq: number;
  last_read_seq: number;
  unread_count: number;
  last_message_at: string | null;
  last_message: LastMessage | null;
}

export interface RemovedEvent {
  conversation_id: string;
  kind: 'direct' | 'group';
  title: string | null;
  reason: 'left' | 'removed';
  removed_by: string | null;
}

export type SignalType = 'offer' | 'answer' | 'ice' | 'bye';

export interface SignalEvent {
  from: string;
  conversation_id: string;
  type: SignalType;
  payload: unknown;
  id: string;
}

export interface TypingEvent {
  user_id: string;
  typing: boolean;
}
