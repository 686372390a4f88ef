// createChat: the whole client for one signed-in user — the inbox, an outbox,
// the conversations you open, and one connection status — on supabase-js (or
// any ChatTransport).

import type { SupabaseClient } from '@supabase/supabase-js';
import { ManagedChannel } from './channel.ts';
import { type Clock, systemClock } from './clock.ts';
import { Connection, type ConnectionStatus } from './connection.ts';
import type { ChatContext } from './context.ts';
import { Conversation, type ConversationSnapshot } from './conversation.ts';
import { ChatError } from './errors.ts';
import { Inbox, type InboxSnapshot } from './inbox.ts';
import { Outbox } from './outbox.ts';
import { localStorageStorage, memoryStorage, type OutboxItem, type OutboxStorage } from './outbox-storage.ts';
import { PeerLinks, type WebRtcOptions } from './peer-links.ts';
import { ReceiptReporter } from './receipts.ts';
import type { ReadableStore } from './store.ts';
import { supabaseTransport } from './supabase-transport.ts';
import { sharedTabs, singleTab, type TabCoordinator } from './tabs.ts';
import type { ChatTransport } from './transport.ts';
import type {
  InboxEntry,
  InboxUpdatedEvent,
  MessageRow,
  RemovedEvent,
  RotatedEvent,
  SignalEvent,
} from './types.ts';

export interface ChatOptions {
  /** Instead of supabase-js (tests, other runtimes). */
  transport?: ChatTransport;
  /** Where pending sends wait. Default: localStorage where there is one, else memory. */
  storage?: OutboxStorage;
  /** How tabs sharing `storage` pick the one that sends. Default: a Web Lock, when the storage is shared. */
  tabs?: TabCoordinator;
  clock?: Clock;
  random?: () => number;
  /** Messages per page and inbox entries per page (default 50). */
  pageSize?: number;
  /** How long read and delivered marks are gathered before one call (default 1000 ms). */
  receiptBatchMs?: number;
  /** How often to check whether the machine slept (default 5000 ms; a gap of 4× that is a wake). */
  sleepCheckMs?: number;
  /** How often an open conversation checks for changes no event announced (default 60000 ms). */
  resyncEveryMs?: number;
  /** The peer-to-peer fast path for direct conversations (off by default). */
  webrtc?: boolean | WebRtcOptions;
}

export interface SendOptions {
  reply_to?: string | null;
  metadata?: Record<string, unknown>;
  client_id?: string;
}

/** An open conversation; `close()` when the screen no longer shows it. */
export interface ConversationHandle {
  readonly id: string;
  readonly store: ReadableStore<ConversationSnapshot>;
  /** Ids of the members typing now (never yourself). */
  readonly typing: ReadableStore<readonly string[]>;
  /** Ids of the members with this conversation open (yourself included). */
  readonly online: ReadableStore<readonly string[]>;
  send(body: string, options?: SendOptions): Promise<OutboxItem>;
  loadOlder(): Promise<void>;
  /** While visible (and the page is in the foreground), what arrives is marked read. */
  setVisible(visible: boolean): void;
  keystroke(): void;
  stopTyping(): void;
  close(): void;
}

export interface ChatClient {
  /** Resolves once the signed-in user is known; rejects (`not_authenticated`) without one. */
  readonly ready: Promise<void>;
  /** The signed-in user's id ('' until ready). */
  readonly userId: string;
  readonly connection: ReadableStore<ConnectionStatus>;
  readonly inbox: ReadableStore<InboxSnapshot>;
  readonly outbox: ReadableStore<readonly OutboxItem[]>;
  loadMoreInbox(): Promise<void>;
  open(conversationId: string): ConversationHandle;
  send(conversationId: string, body: string, options?: SendOptions): Promise<OutboxItem>;
  retry(clientId: string): Promise<void>;
  discard(clientId: string): Promise<void>;
  edit(messageId: string, body: string): Promise<MessageRow>;
  delete(messageId: string): Promise<MessageRow>;
  react(messageId: string, emoji: string): Promise<MessageRow>;
  unreact(messageId: string, emoji: string): Promise<MessageRow>;
  /** Marks read up to `seq` (default: the newest message held). */
  markRead(conversationId: string, seq?: number): void;
  close(): void;
}

// biome-ignore lint/suspicious/noExplicitAny: any database schema will do
type AnySupabaseClient = SupabaseClient<any, any, any>;

export function createChat(supabase: AnySupabaseClient | null, options: ChatOptions = {}): ChatClient {
  const transport = options.transport ?? (supabase ? supabaseTransport(supabase) : null);
  if (!transport) throw new TypeError('createChat needs a supabase client or options.transport');
  return new Chat(transport, options);
}

interface OpenConversation {
  conversation: Conversation;
  handles: number;
}

class Chat implements ChatClient {
  readonly ready: Promise<void>;
  userId = '';
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly pageSize: number;
  private readonly connectionState: Connection;
  private readonly inboxState: Inbox;
  private outboxState: Outbox | undefined;
  private readonly outboxItems = new Set<() => void>();
  private readonly conversations = new Map<string, OpenConversation>();
  private readonly reporters = new Map<string, ReceiptReporter>();
  private userChannel: ManagedChannel | undefined;
  private peers: PeerLinks | undefined;
  private readonly cleanups: (() => void)[] = [];
  private closed = false;
  /** Conversations opened before the user was known are opened once it is. */
  private started = false;
  private readonly context: ChatContext;

  constructor(
    private readonly transport: ChatTransport,
    private readonly options: ChatOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.pageSize = options.pageSize ?? 50;
    this.connectionState = new Connection({ transport, clock: this.clock, random: this.random });
    this.inboxState = new Inbox(transport, this.pageSize);
    const chat = this;
    this.context = {
      transport,
      clock: this.clock,
      random: this.random,
      get userId() {
        return chat.userId;
      },
      pageSize: this.pageSize,
      resyncEveryMs: options.resyncEveryMs ?? 60_000,
      connection: this.connectionState,
      receiptsFor: (id) => this.receiptsFor(id),
      isForeground: () => typeof document === 'undefined' || document.visibilityState !== 'hidden',
      onLocalRead: (id, seq) => this.inboxState.onRead(id, seq),
      onOwnStored: (clientId) => void this.outboxState?.confirm(clientId),
    };
    this.ready = this.start();
    this.ready.catch(() => undefined);
  }

  get connection() {
    return this.connectionState.store;
  }

  get inbox() {
    return this.inboxState.store;
  }

  readonly outbox: ReadableStore<readonly OutboxItem[]> = {
    subscribe: (listener) => {
      this.outboxItems.add(listener);
      const inner = this.outboxState?.store.subscribe(listener);
      return () => {
        this.outboxItems.delete(listener);
        inner?.();
      };
    },
    getSnapshot: () => this.outboxState?.store.getSnapshot() ?? NO_ITEMS,
  };

  private async start(): Promise<void> {
    const userId = await this.transport.currentUser();
    if (!userId) {
      const error = new ChatError({
        status: 401,
        code: 'not_authenticated',
        message: 'Sign in before creating the chat.',
      });
      this.connectionState.reportError(error);
      throw error;
    }
    if (this.closed) return;
    this.userId = userId;
    const storage = this.options.storage ?? defaultStorage();
    const tabs = this.options.tabs ?? (storage.shared ? sharedTabs(`supachat:${userId}`) : singleTab());
    this.cleanups.push(() => tabs.close());
    this.outboxState = new Outbox({
      transport: this.transport,
      clock: this.clock,
      storage,
      tabs,
      userId,
      random: this.random,
      onSent: (row) => this.onStored(row),
    });
    const outbox = this.outboxState;
    this.cleanups.push(outbox.store.subscribe(() => this.spreadOutbox()));
    for (const listener of this.outboxItems) this.cleanups.push(outbox.store.subscribe(listener));
    await outbox.start();
    this.spreadOutbox();
    this.cleanups.push(this.connectionState.onLive(() => outbox.resume()));

    const webrtc = this.options.webrtc === true ? {} : this.options.webrtc;
    if (webrtc && (webrtc.createPeerConnection || typeof RTCPeerConnection !== 'undefined')) {
      this.peers = new PeerLinks(this.context, webrtc, {
        conversation: (id) => this.conversations.get(id)?.conversation,
        onLinks: (count) => this.connectionState.setPeerLinks(count),
      });
    }

    this.userChannel = new ManagedChannel(this.connectionState.context, {
      topic: `user:${userId}`,
      onEvent: (event, payload) => this.onUserEvent(event, payload),
      onJoined: () =>
        void this.connectionState.catchingUp(() => this.inboxState.refresh()).catch(() => undefined),
      // Your own topic is yours: a refusal means its policy check failed (the database was
      // restarting, say). Say so, and try again with backoff.
      onRefused: (error) => {
        this.connectionState.reportError(error);
        this.userChannel?.rejoinLater(error);
      },
    });
    this.connectionState.setPrimary(this.userChannel);
    this.cleanups.push(
      this.transport.onAuthChange((change) => {
        if (change === 'signed-out') {
          this.connectionState.reportError(
            new ChatError({ status: 401, code: 'signed_out', message: 'Signed out: sign in again to chat.' }),
          );
          return;
        }
        this.retryChannels();
      }),
    );
    this.watchForWake();
    this.watchNetwork();
    this.started = true;
    for (const { conversation } of this.conversations.values()) this.startConversation(conversation);
  }

  private startConversation(conversation: Conversation): void {
    void conversation.open();
    const peers = this.peers;
    if (peers) {
      const { online } = conversation;
      online.subscribe(() => peers.onPresence(conversation.id, online.getSnapshot()));
    }
  }

  // --- the API ----------------------------------------------------------------

  loadMoreInbox(): Promise<void> {
    return this.inboxState.loadMore();
  }

  open(conversationId: string): ConversationHandle {
    let open = this.conversations.get(conversationId);
    if (!open) {
      const conversation = new Conversation(this.context, conversationId);
      open = { conversation, handles: 0 };
      this.conversations.set(conversationId, open);
      conversation.setOutbox(this.outboxState?.store.getSnapshot() ?? NO_ITEMS);
      if (this.started) this.startConversation(conversation);
    }
    open.handles += 1;
    const { conversation } = open;
    let closed = false;
    return {
      id: conversationId,
      store: conversation.store,
      typing: conversation.typing,
      online: conversation.online,
      send: (body, sendOptions) => this.send(conversationId, body, sendOptions),
      loadOlder: () => conversation.loadOlder(),
      setVisible: (visible) => conversation.setVisible(visible),
      keystroke: () => {
        conversation.keystroke();
        this.peers?.typing(conversationId, true);
      },
      stopTyping: () => {
        conversation.stopTyping();
        this.peers?.typing(conversationId, false);
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.release(conversationId);
      },
    };
  }

  async send(conversationId: string, body: string, sendOptions: SendOptions = {}): Promise<OutboxItem> {
    await this.ready;
    const outbox = this.outboxState as Outbox;
    const item = await outbox.send({ conversation_id: conversationId, body, ...sendOptions });
    this.conversations.get(conversationId)?.conversation.stopTyping();
    this.peers?.message(item);
    return item;
  }

  async retry(clientId: string): Promise<void> {
    await this.ready;
    await this.outboxState?.retry(clientId);
  }

  async discard(clientId: string): Promise<void> {
    await this.ready;
    await this.outboxState?.discard(clientId);
  }

  edit(messageId: string, body: string): Promise<MessageRow> {
    return this.change('edit_message', { message_id: messageId, body });
  }

  delete(messageId: string): Promise<MessageRow> {
    return this.change('delete_message', { message_id: messageId });
  }

  react(messageId: string, emoji: string): Promise<MessageRow> {
    return this.change('add_reaction', { message_id: messageId, emoji });
  }

  unreact(messageId: string, emoji: string): Promise<MessageRow> {
    return this.change('remove_reaction', { message_id: messageId, emoji });
  }

  markRead(conversationId: string, seq?: number): void {
    const target =
      seq ??
      this.conversations
        .get(conversationId)
        ?.conversation.store.getSnapshot()
        .messages.findLast((m) => m.seq !== null)?.seq ??
      this.inboxState.get(conversationId)?.last_seq;
    if (!target) return;
    this.receiptsFor(conversationId).markRead(target);
    this.inboxState.onRead(conversationId, target);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { conversation } of this.conversations.values()) conversation.close();
    this.conversations.clear();
    for (const reporter of this.reporters.values()) reporter.close();
    this.peers?.close();
    this.userChannel?.close();
    this.outboxState?.close();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  // --- plumbing ---------------------------------------------------------------

  private async change(name: string, args: Record<string, unknown>): Promise<MessageRow> {
    const row = await this.transport.rpc<MessageRow>(name, args);
    this.conversations.get(row.conversation_id)?.conversation.applyAnswer(row);
    return row;
  }

  private release(conversationId: string): void {
    const open = this.conversations.get(conversationId);
    if (!open) return;
    open.handles -= 1;
    if (open.handles > 0) return;
    open.conversation.close();
    this.peers?.closeConversation(conversationId);
    this.conversations.delete(conversationId);
  }

  private receiptsFor(conversationId: string): ReceiptReporter {
    let reporter = this.reporters.get(conversationId);
    if (!reporter) {
      reporter = new ReceiptReporter(
        conversationId,
        this.transport,
        this.clock,
        this.options.receiptBatchMs ?? 1000,
        (state) => this.inboxState.onRead(state.conversation_id, state.last_read_seq),
      );
      this.reporters.set(conversationId, reporter);
    }
    return reporter;
  }

  /** A stored send (from this tab's outbox or another's). */
  private onStored(row: MessageRow): void {
    this.conversations.get(row.conversation_id)?.conversation.applyAnswer(row);
    this.inboxState.onMessage(row, this.userId);
  }

  private spreadOutbox(): void {
    const items = this.outboxState?.store.getSnapshot() ?? NO_ITEMS;
    for (const { conversation } of this.conversations.values()) conversation.setOutbox(items);
  }

  private onUserEvent(event: string, payload: unknown): void {
    if (!payload || typeof payload !== 'object') return;
    const conversationId = (payload as { conversation_id?: unknown }).conversation_id;
    if (typeof conversationId !== 'string') return;
    const open = this.conversations.get(conversationId)?.conversation;
    switch (event) {
      case 'inbox.updated': {
        const update = payload as InboxUpdatedEvent;
        this.inboxState.onUpdated(update);
        open?.noteLastSeq(update.last_seq);
        const sender = update.last_message?.sender_id;
        if (update.last_message && sender !== this.userId)
          this.receiptsFor(conversationId).markDelivered(update.last_seq);
        break;
      }
      case 'conversation.added':
        this.inboxState.onAdded(payload as InboxEntry);
        break;
      case 'conversation.removed':
        this.inboxState.onRemoved(payload as RemovedEvent);
        open?.onRemoved(payload as RemovedEvent);
        break;
      case 'conversation.rotated':
        this.inboxState.onRotated(payload as RotatedEvent);
        open?.onRotated(payload as RotatedEvent);
        break;
      case 'signal':
        this.peers?.onSignal(payload as SignalEvent);
        break;
    }
  }

  private retryChannels(): void {
    for (const channel of this.connectionState.allChannels) channel.retryNow();
  }

  /** Timers stop while a machine sleeps: a tick that comes far too late means it woke. */
  private watchForWake(): void {
    const every = this.options.sleepCheckMs ?? 5000;
    let last = this.clock.now();
    let cancel: () => void = () => undefined;
    const tick = () => {
      const now = this.clock.now();
      if (now - last > every * 4) this.onWake();
      last = now;
      cancel = this.clock.setTimeout(tick, every);
    };
    cancel = this.clock.setTimeout(tick, every);
    this.cleanups.push(() => cancel());
  }

  private onWake(): void {
    this.retryChannels();
    for (const { conversation } of this.conversations.values()) conversation.wake();
    void this.connectionState.catchingUp(() => this.inboxState.refresh()).catch(() => undefined);
  }

  private watchNetwork(): void {
    const target = globalThis as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>;
    const navigatorOnline = (globalThis.navigator as { onLine?: boolean } | undefined)?.onLine;
    if (typeof target.addEventListener !== 'function' || typeof navigatorOnline !== 'boolean') return;
    const online = () => {
      this.connectionState.setNetworkDown(false);
      this.retryChannels();
      this.outboxState?.resume();
    };
    const offline = () => this.connectionState.setNetworkDown(true);
    const visible = () => {
      if (typeof document !== 'undefined' && document.visibilityState === 'visible') this.onWake();
    };
    target.addEventListener('online', online);
    target.addEventListener('offline', offline);
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', visible);
    this.connectionState.setNetworkDown(!navigatorOnline);
    this.cleanups.push(() => {
      target.removeEventListener?.('online', online);
      target.removeEventListener?.('offline', offline);
      if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', visible);
    });
  }
}

const NO_ITEMS: readonly OutboxItem[] = [];

function defaultStorage(): OutboxStorage {
  try {
    if (typeof globalThis.localStorage !== 'undefined') return localStorageStorage();
  } catch {
    // localStorage refused (privacy settings): keep sends in memory.
  }
  return memoryStorage();
}
