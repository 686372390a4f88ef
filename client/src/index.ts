// @supachat/client — the framework-free core. See client/README.md.

export type { ChatClient, ChatOptions, ConversationHandle, SendOptions } from './chat.ts';
export { createChat } from './chat.ts';
export { type Clock, systemClock } from './clock.ts';
export type { ConnectionState, ConnectionStatus, TransportKind } from './connection.ts';
export type { ConversationSnapshot, ConversationStatus } from './conversation.ts';
export type { Database, Json } from './database.types.ts';
export { ChatError, type ChatErrorShape } from './errors.ts';
export type { InboxSnapshot } from './inbox.ts';
export {
  indexedDbStorage,
  localStorageStorage,
  memoryStorage,
  type OutboxItem,
  type OutboxStorage,
} from './outbox-storage.ts';
export type { WebRtcOptions } from './peer-links.ts';
export { type MessageReceipts, receiptsOf } from './receipts-of.ts';
export type { ReadableStore } from './store.ts';
export { supabaseTransport } from './supabase-transport.ts';
export { type LockManagerLike, sharedTabs, singleTab, type TabCoordinator, type TabMessage } from './tabs.ts';
export type {
  AuthChange,
  ChannelHandlers,
  ChannelStatus,
  ChatTransport,
  TransportChannel,
} from './transport.ts';
export type * from './types.ts';
