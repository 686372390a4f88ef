// The hooks. A conversation is opened while a component that uses it is
// mounted (the client counts the users of each one, so several hooks on one
// conversation share its channels) and closed when the last one unmounts.

import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { ChatClient, ConversationHandle, SendOptions } from '../src/chat.ts';
import type { ConnectionStatus } from '../src/connection.ts';
import { type ConversationSnapshot, initialSnapshot } from '../src/conversation.ts';
import type { InboxSnapshot } from '../src/inbox.ts';
import type { OutboxItem } from '../src/outbox-storage.ts';
import type { ReadableStore } from '../src/store.ts';
import { useChat } from './provider.ts';

const useStore = <T>(store: ReadableStore<T>): T =>
  useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);

/** connecting / catching-up / live / offline, the transport, the last error. */
export function useConnection(): ConnectionStatus {
  return useStore(useChat().connection);
}

/** The conversation list, newest first, with `loadMore` for older ones. */
export function useInbox(): InboxSnapshot & { loadMore: () => Promise<void> } {
  const chat = useChat();
  const snapshot = useStore(chat.inbox);
  const loadMore = useCallback(() => chat.loadMoreInbox(), [chat]);
  return useMemo(() => ({ ...snapshot, loadMore }), [snapshot, loadMore]);
}

export interface UseConversationOptions {
  /** Mark what arrives as read while mounted and the page is visible (default true). */
  markRead?: boolean;
}

export interface ConversationView
  extends ConversationSnapshot,
    Pick<ChatClient, 'retry' | 'discard' | 'edit' | 'delete' | 'react' | 'unreact'> {
  send(body: string, options?: SendOptions): Promise<OutboxItem>;
  loadOlder(): Promise<void>;
  /** Call on each keystroke in the composer; `stopTyping` when cleared or blurred (a send stops it too). */
  keystroke(): void;
  stopTyping(): void;
}

/** One conversation: its messages (pending sends included), members, status, and what you can do in it. */
export function useConversation(
  conversationId: string | null,
  options: UseConversationOptions = {},
): ConversationView {
  const chat = useChat();
  const handle = useHandle(conversationId);
  const snapshot = useStore(handle?.store ?? emptyConversation(conversationId));
  const markRead = options.markRead ?? true;
  useEffect(() => {
    if (!handle) return;
    handle.setVisible(markRead);
    return () => handle.setVisible(false);
  }, [handle, markRead]);
  return useMemo(
    () => ({
      ...snapshot,
      send: (body, sendOptions) =>
        conversationId
          ? chat.send(conversationId, body, sendOptions)
          : Promise.reject(new Error('no conversation')),
      retry: (clientId) => chat.retry(clientId),
      discard: (clientId) => chat.discard(clientId),
      edit: (messageId, body) => chat.edit(messageId, body),
      delete: (messageId) => chat.delete(messageId),
      react: (messageId, emoji) => chat.react(messageId, emoji),
      unreact: (messageId, emoji) => chat.unreact(messageId, emoji),
      loadOlder: () => handle?.loadOlder() ?? Promise.resolve(),
      keystroke: () => handle?.keystroke(),
      stopTyping: () => handle?.stopTyping(),
    }),
    [snapshot, chat, handle, conversationId],
  );
}

/** Ids of the members typing in the conversation now (never yourself). */
export function useTyping(conversationId: string | null): readonly string[] {
  const handle = useHandle(conversationId);
  return useStore(handle?.typing ?? NOBODY);
}

/** Ids of the members who have the conversation open now (yourself included). */
export function usePresence(conversationId: string | null): readonly string[] {
  const handle = useHandle(conversationId);
  return useStore(handle?.online ?? NOBODY);
}

/** Opens the conversation after mount, closes it on unmount or when the id changes. */
function useHandle(conversationId: string | null): ConversationHandle | null {
  const chat = useChat();
  const [handle, setHandle] = useState<ConversationHandle | null>(null);
  useEffect(() => {
    if (!conversationId) return;
    const opened = chat.open(conversationId);
    setHandle(opened);
    return () => {
      opened.close();
      setHandle(null);
    };
  }, [chat, conversationId]);
  return handle?.id === conversationId ? handle : null;
}

const fixed = <T>(value: T): ReadableStore<T> => ({
  subscribe: () => () => undefined,
  getSnapshot: () => value,
});
const NOBODY = fixed<readonly string[]>([]);
const empties = new Map<string | null, ReadableStore<ConversationSnapshot>>();

/** What a conversation looks like before it is opened. */
function emptyConversation(conversationId: string | null): ReadableStore<ConversationSnapshot> {
  let store = empties.get(conversationId);
  if (!store) {
    store = fixed(initialSnapshot(conversationId ?? ''));
    if (empties.size > 100) empties.clear();
    empties.set(conversationId, store);
  }
  return store;
}
