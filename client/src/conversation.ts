// One open conversation: its two channels (server events; typing and presence),
// the sync engine that keeps its timeline equal to the server's, members with
// their read state, typing, presence and receipts.
//
// Sync: the topic channel's events are the doorbell, `sync_conversation` the
// ledger. On every join (first, again after a drop, after a rotation), on a
// change or seq that jumps, and on wake, it fetches exactly the changes after its
// cursor. Server events are taken only from the server topic; the live topic is
// read for typing and presence only, and only for current members.

import { backoffDelay } from './backoff.ts';
import { ManagedChannel } from './channel.ts';
import type { ChatContext } from './context.ts';
import { ChatError, type ChatErrorShape } from './errors.ts';
import type { OutboxItem } from './outbox-storage.ts';
import type { ReceiptReporter } from './receipts.ts';
import { createStore, type ReadableStore } from './store.ts';
import { Timeline } from './timeline.ts';
import type {
  ChatMessage,
  InboxEntry,
  Member,
  MemberEvent,
  MessageEvent,
  MessageRow,
  ReactionEvent,
  ReceiptEvent,
  RemovedEvent,
  RotatedEvent,
  SyncPage,
  TypingEvent,
} from './types.ts';
import { TypingReceiver, TypingSender } from './typing.ts';

/** How long a peer's message waits for the server's copy before it is dropped. */
const PEER_MESSAGE_TTL_MS = 30_000;

export type ConversationStatus = 'loading' | 'ready' | 'removed' | 'error';

/** Why a conversation is closed to you: you left, someone removed you, or you are found not to be a member. */
export type RemovedReason = RemovedEvent['reason'] | 'not_a_member';

export interface ConversationSnapshot {
  conversation_id: string;
  status: ConversationStatus;
  /** kind, title, peer, role, topics… as `get_conversation` gave them. */
  entry: InboxEntry | null;
  /** Stored messages in seq order, then your sends not stored yet and peer messages ahead of the server. */
  messages: readonly ChatMessage[];
  hasOlder: boolean;
  loadingOlder: boolean;
  members: readonly Member[];
  /** `webrtc` while a peer-to-peer link to the other person is open. */
  transport: 'realtime' | 'webrtc';
  /** Set when you left or were removed: what you saw stays, nothing more arrives. */
  removed: { reason: RemovedReason; removed_by: string | null } | null;
  error: ChatErrorShape | null;
}

/** A message from the peer over WebRTC, shown until the server's copy arrives. */
export interface PeerMessage {
  client_id: string;
  sender_id: string;
  body: string;
  reply_to: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
}

export class Conversation {
  private readonly timeline = new Timeline();
  private readonly state;
  readonly store: ReadableStore<ConversationSnapshot>;
  private readonly typingState = createStore<readonly string[]>([]);
  /** Ids of the members typing now (never yourself). */
  readonly typing: ReadableStore<readonly string[]> = this.typingState;
  private readonly onlineState = createStore<readonly string[]>([]);
  /** Ids of the members with the conversation open now (yourself included). */
  readonly online: ReadableStore<readonly string[]> = this.onlineState;

  private entry: InboxEntry | null = null;
  private epoch = 0;
  private topicChannel: ManagedChannel | null = null;
  private liveChannel: ManagedChannel | null = null;
  private members = new Map<string, Member>();
  private presentKeys: string[] = [];
  private readonly sentRows = new Map<string, MessageRow>();
  private readonly peerMessages = new Map<string, PeerMessage>();
  private outboxItems: readonly OutboxItem[] = [];
  private catchUpRunning: Promise<void> | null = null;
  private catchUpAgain = false;
  private reloadMembers = false;
  /** Counts member list requests: an older answer arriving after a newer one is stale. */
  private membersRequest = 0;
  private catchUpFailures = 0;
  private cancelCatchUpRetry: () => void = () => undefined;
  private visible = false;
  private closed = false;
  private readonly typingSender: TypingSender;
  private readonly typingReceiver: TypingReceiver;
  readonly receipts: ReceiptReporter;
  private peerLinkOpen = false;
  private cancelResync: () => void = () => undefined;

  constructor(
    private readonly context: ChatContext,
    readonly id: string,
  ) {
    this.state = createStore(initialSnapshot(id));
    this.store = this.state;
    this.typingSender = new TypingSender(context.clock, (typing) =>
      this.liveChannel?.broadcast('typing', { user_id: context.userId, typing }),
    );
    this.typingReceiver = new TypingReceiver(context.clock, (typers) => this.typingState.set(typers));
    this.receipts = context.receiptsFor(id);
    this.scheduleResync();
  }

  /** Realtime promises no delivery: a lost last event would go unnoticed until the next one, so ask now and then. */
  private scheduleResync(): void {
    this.cancelResync = this.context.clock.setTimeout(() => {
      if (this.closed) return;
      if (this.timeline.loaded) this.catchUp();
      this.scheduleResync();
    }, this.context.resyncEveryMs);
  }

  async open(): Promise<void> {
    try {
      const entry = await this.context.transport.rpc<InboxEntry>('get_conversation', {
        conversation_id: this.id,
      });
      if (this.closed) return;
      this.entry = entry;
      this.receipts.known(entry.last_read_seq, entry.last_delivered_seq);
      this.timeline.noteLastSeq(entry.last_seq);
      this.joinTopics(entry.topic, entry.live_topic);
    } catch (caught) {
      const error = ChatError.from(caught);
      this.failOpen(error);
      // No answer or a server fault: shown as the error meanwhile, and asked again.
      if (error.retryable && !this.closed) {
        const delay = backoffDelay(this.catchUpFailures++, { random: this.context.random });
        this.cancelCatchUpRetry = this.context.clock.setTimeout(() => void this.open(), delay);
      }
    }
  }

  // --- what the screen does -------------------------------------------------

  /** Loads the page before the oldest message held. */
  async loadOlder(): Promise<void> {
    const oldest = this.timeline.oldest;
    if (oldest === null || !this.timeline.hasOlder || this.state.getSnapshot().loadingOlder) return;
    this.patch({ loadingOlder: true });
    try {
      const page = await this.context.transport.rpc<MessageRow[]>('get_messages', {
        conversation_id: this.id,
        before_seq: oldest,
        max_rows: this.context.pageSize,
      });
      this.timeline.loadOlder(page);
    } finally {
      this.patch({ loadingOlder: false });
      this.publish();
    }
  }

  /** While visible, everything that arrives is marked read. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.reportReceipts();
  }

  /** Call on every keystroke in the composer. */
  keystroke(): void {
    this.typingSender.keystroke();
  }

  stopTyping(): void {
    this.typingSender.stop();
  }

  close(): void {
    if (this.closed) return;
    this.typingSender.stop();
    this.closed = true;
    this.cancelCatchUpRetry();
    this.cancelResync();
    this.topicChannel?.close();
    this.liveChannel?.close();
    this.typingReceiver.reset();
  }

  // --- fed by the client --------------------------------------------------------

  /** The outbox changed (all conversations' items). */
  setOutbox(items: readonly OutboxItem[]): void {
    this.outboxItems = items.filter((item) => item.conversation_id === this.id);
    this.publish();
  }

  /** A stored row from an answer (send, edit, delete, react): newer state, not a change seen in order. */
  applyAnswer(row: MessageRow): void {
    if (row.sender_id === this.context.userId && row.seq > this.timeline.head)
      this.sentRows.set(row.client_id, row);
    this.timeline.applyRow(row);
    this.checkGap();
    this.publish();
  }

  /** `inbox.updated` on the user topic: a second doorbell. */
  noteLastSeq(lastSeq: number): void {
    this.timeline.noteLastSeq(lastSeq);
    this.checkGap();
  }

  /** You left or were removed (member.changed on the topic comes first, conversation.removed with who did it next). */
  onRemoved(event: { reason: RemovedReason; removed_by: string | null }): void {
    const known = this.state.getSnapshot().removed;
    if (known && (known.removed_by !== null || event.removed_by === null)) return;
    this.close();
    this.patch({ status: 'removed', removed: { reason: event.reason, removed_by: event.removed_by } });
  }

  onRotated(event: RotatedEvent): void {
    if (this.closed || event.epoch <= this.epoch) return;
    if (this.entry) this.entry = { ...this.entry, topic: event.topic, live_topic: event.live_topic };
    this.reloadMembers = true;
    this.joinTopics(event.topic, event.live_topic);
  }

  /** Peer-to-peer (WebRTC) deliveries. */
  receivePeerMessage(message: PeerMessage): void {
    if (this.closed || message.sender_id === this.context.userId || !this.members.has(message.sender_id))
      return;
    const stored = this.timeline
      .rows()
      .some((row) => row.sender_id === message.sender_id && row.client_id === message.client_id);
    if (stored) return;
    this.peerMessages.set(`${message.sender_id}:${message.client_id}`, message);
    // Not stored after all (refused, or the sender went offline): it goes.
    this.context.clock.setTimeout(
      () => this.dropPeerMessage(message.sender_id, message.client_id),
      PEER_MESSAGE_TTL_MS,
    );
    this.typingReceiver.clear(message.sender_id);
    this.publish();
  }

  /** The peer says a message it sent peer to peer was refused by the server. */
  dropPeerMessage(senderId: string, clientId: string): void {
    if (this.peerMessages.delete(`${senderId}:${clientId}`)) this.publish();
  }

  receivePeerTyping(senderId: string, typing: boolean): void {
    if (senderId !== this.context.userId && this.members.has(senderId))
      this.typingReceiver.receive(senderId, typing);
  }

  setPeerLink(open: boolean): void {
    this.peerLinkOpen = open;
    this.patch({ transport: open ? 'webrtc' : 'realtime' });
  }

  /** Woke from sleep or came back online: make sure nothing was missed. */
  wake(): void {
    if (this.timeline.loaded) this.catchUp();
  }

  get memberIds(): string[] {
    return [...this.members.keys()];
  }

  get kind(): 'direct' | 'group' | null {
    return this.entry?.kind ?? null;
  }

  // --- channels -----------------------------------------------------------------

  /** Joins the topics of an epoch newer than the one held (or the same one again, `force`). */
  private joinTopics(topic: string, liveTopic: string, force = false): void {
    const epoch = Number(topic.split(':')[2]);
    if (epoch <= this.epoch && !force) return;
    this.epoch = epoch;
    this.topicChannel?.close();
    this.liveChannel?.close();
    const channels = this.context.connection.context;
    this.topicChannel = new ManagedChannel(channels, {
      topic,
      onEvent: (event, payload) => this.onServerEvent(event, payload),
      onJoined: () => this.catchUp(),
      onRefused: () => void this.checkMembership(),
    });
    this.liveChannel = new ManagedChannel(channels, {
      topic: liveTopic,
      presenceKey: this.context.userId,
      onEvent: (event, payload) => this.onLiveEvent(event, payload),
      onPresence: (keys) => {
        this.presentKeys = keys;
        this.publishOnline();
      },
      onJoined: () =>
        this.liveChannel?.track({
          user_id: this.context.userId,
          online_at: new Date(this.context.clock.now()).toISOString(),
        }),
      onRefused: () => void this.checkMembership(),
    });
  }

  private onServerEvent(event: string, payload: unknown): void {
    if (this.closed || !payload || typeof payload !== 'object') return;
    switch (event) {
      case 'message.created':
      case 'message.updated': {
        const row = (payload as MessageEvent).record;
        if (row?.conversation_id !== this.id) return;
        this.timeline.applyRow(row);
        this.timeline.noteChange(row.change_seq);
        if (row.sender_id) {
          this.typingReceiver.clear(row.sender_id);
          this.peerMessages.delete(`${row.sender_id}:${row.client_id}`);
          if (event === 'message.created') this.raiseWatermark(row.sender_id, row.seq, row.seq);
        }
        break;
      }
      case 'reaction.changed': {
        const change = payload as ReactionEvent;
        if (change.conversation_id !== this.id) return;
        if (this.timeline.applyReaction(change)) this.timeline.noteChange(change.change_seq);
        break;
      }
      case 'receipt': {
        const receipt = payload as ReceiptEvent;
        if (receipt.conversation_id !== this.id) return;
        this.raiseWatermark(receipt.user_id, receipt.last_read_seq, receipt.last_delivered_seq);
        break;
      }
      case 'member.changed': {
        const change = payload as MemberEvent;
        if (change.conversation_id !== this.id) return;
        if (change.operation === 'DELETE' && change.user_id === this.context.userId) {
          this.onRemoved({ reason: 'removed', removed_by: null });
          return;
        }
        // Not loaded now (no answer, a server fault): the next sync loads it.
        this.loadMembers().catch(() => {
          this.reloadMembers = true;
        });
        break;
      }
      case 'conversation.rotated':
        this.onRotated(payload as RotatedEvent);
        return;
      default:
        return;
    }
    this.checkGap();
    this.publish();
  }

  private onLiveEvent(event: string, payload: unknown): void {
    if (event !== 'typing' || this.closed || !payload || typeof payload !== 'object') return;
    const { user_id: userId, typing } = payload as TypingEvent;
    // A client's claim: believed only for current members, never for yourself.
    if (typeof userId !== 'string' || userId === this.context.userId || !this.members.has(userId)) return;
    this.typingReceiver.receive(userId, typing === true);
  }

  /** A join was refused: still a member (then the topics moved on), or not any more? */
  private async checkMembership(): Promise<void> {
    try {
      const entry = await this.context.transport.rpc<InboxEntry>('get_conversation', {
        conversation_id: this.id,
      });
      if (this.closed) return;
      this.entry = entry;
      const epoch = Number(entry.topic.split(':')[2]);
      if (epoch > this.epoch) {
        this.reloadMembers = true;
        this.joinTopics(entry.topic, entry.live_topic);
      } else {
        // Same topics, still refused: say so; try again later.
        const error = new ChatError({
          status: 403,
          code: 'join_refused',
          message: `Joining ${entry.topic} was refused.`,
        });
        this.context.connection.reportError(error);
        this.patch({ error: error.toJSON() });
        this.context.clock.setTimeout(
          () => {
            if (!this.closed) this.joinTopics(entry.topic, entry.live_topic, true);
          },
          backoffDelay(this.catchUpFailures++, { random: this.context.random }),
        );
      }
    } catch (caught) {
      const error = ChatError.from(caught);
      if (error.status === 403 || error.status === 404)
        this.onRemoved({ reason: 'not_a_member', removed_by: null });
      else
        this.context.clock.setTimeout(
          () => void this.checkMembership(),
          backoffDelay(this.catchUpFailures++, { random: this.context.random }),
        );
    }
  }

  // --- sync -------------------------------------------------------------------------

  private checkGap(): void {
    if (this.timeline.gap()) this.catchUp();
  }

  /** Fetches what is missing; one at a time, again if more went missing meanwhile. */
  private catchUp(): void {
    if (this.closed) return;
    if (this.catchUpRunning) {
      this.catchUpAgain = true;
      return;
    }
    this.cancelCatchUpRetry();
    this.catchUpRunning = this.context.connection
      .catchingUp(async () => {
        do {
          this.catchUpAgain = false;
          await this.syncOnce();
        } while (this.catchUpAgain && !this.closed);
      })
      .then(
        () => {
          this.catchUpFailures = 0;
        },
        (caught: unknown) => this.catchUpFailed(ChatError.from(caught)),
      )
      .finally(() => {
        this.catchUpRunning = null;
        this.publish();
      });
  }

  private async syncOnce(): Promise<void> {
    const { transport, pageSize } = this.context;
    const firstLoad = !this.timeline.loaded;
    if (firstLoad || this.reloadMembers) {
      this.reloadMembers = false;
      await this.loadMembers();
    }
    if (firstLoad) {
      const cursor = this.entry?.last_change ?? 0;
      const lastSeqBefore = this.timeline.knownLastSeq;
      const page = await transport.rpc<MessageRow[]>('get_messages', {
        conversation_id: this.id,
        max_rows: pageSize,
      });
      this.timeline.loadLatest(page, cursor, lastSeqBefore);
    }
    let more = true;
    while (more && !this.closed) {
      const result = await transport.rpc<SyncPage>('sync_conversation', {
        conversation_id: this.id,
        since_change: this.timeline.cursor,
        max_rows: 500,
      });
      for (const row of result.messages) this.timeline.applyRow(row);
      this.timeline.syncedTo(result.cursor, result.last_seq);
      more = result.has_more;
    }
    const { status } = this.state.getSnapshot();
    if (status === 'loading' || status === 'error') this.patch({ status: 'ready', error: null });
    this.publish();
  }

  private catchUpFailed(error: ChatError): void {
    if (this.closed) return;
    if (error.status === 403 || error.status === 404) {
      void this.checkMembership();
      return;
    }
    this.patch({ error: error.toJSON() });
    const delay = backoffDelay(this.catchUpFailures++, { random: this.context.random });
    this.cancelCatchUpRetry = this.context.clock.setTimeout(() => this.catchUp(), delay);
  }

  private async loadMembers(): Promise<void> {
    const request = ++this.membersRequest;
    const rows = await this.context.transport.rpc<Member[]>('list_members', { conversation_id: this.id });
    if (this.closed || request !== this.membersRequest) return;
    const previous = this.members;
    this.members = new Map(
      rows.map((row) => {
        const held = previous.get(row.user_id);
        return [
          row.user_id,
          held
            ? {
                ...row,
                last_read_seq: Math.max(row.last_read_seq, held.last_read_seq),
                last_delivered_seq: Math.max(row.last_delivered_seq, held.last_delivered_seq),
              }
            : row,
        ];
      }),
    );
    for (const typer of this.typing.getSnapshot())
      if (!this.members.has(typer)) this.typingReceiver.clear(typer);
    this.publishOnline();
    this.publish();
  }

  private raiseWatermark(userId: string, read: number, delivered: number): void {
    const member = this.members.get(userId);
    if (!member) return;
    if (read <= member.last_read_seq && delivered <= member.last_delivered_seq) return;
    this.members.set(userId, {
      ...member,
      last_read_seq: Math.max(member.last_read_seq, read),
      last_delivered_seq: Math.max(member.last_delivered_seq, delivered, read),
    });
  }

  private reportReceipts(): void {
    const head = this.timeline.head;
    if (this.closed || head === 0) return;
    const mine = this.members.get(this.context.userId);
    if (mine && head > mine.last_delivered_seq) this.receipts.markDelivered(head);
    if (this.visible && this.context.isForeground() && (!mine || head > mine.last_read_seq)) {
      this.receipts.markRead(head);
      this.context.onLocalRead(this.id, head);
    }
  }

  // --- snapshots --------------------------------------------------------------------

  private failOpen(error: ChatError): void {
    if (error.status === 403 || error.status === 404) {
      this.patch({
        status: 'removed',
        removed: { reason: 'not_a_member', removed_by: null },
        error: error.toJSON(),
      });
    } else {
      this.patch({ status: 'error', error: error.toJSON() });
    }
  }

  private patch(change: Partial<ConversationSnapshot>): void {
    this.state.update((current) => ({ ...current, ...change }));
  }

  private publishOnline(): void {
    const online = this.presentKeys.filter((key) => this.members.has(key)).sort();
    const current = this.onlineState.getSnapshot();
    if (online.join() !== current.join()) this.onlineState.set(online);
  }

  private publish(): void {
    const me = this.context.userId;
    const rows = this.timeline.rows();
    const stored = new Set<string>();
    const messages: ChatMessage[] = rows.map((row) => {
      if (row.sender_id) stored.add(`${row.sender_id}:${row.client_id}`);
      return fromRow(row);
    });
    for (const [clientId, row] of this.sentRows) {
      if (stored.has(`${me}:${clientId}`) || row.seq <= this.timeline.head) this.sentRows.delete(clientId);
    }
    const tail: ChatMessage[] = [...this.sentRows.values()].sort((a, b) => a.seq - b.seq).map(fromRow);
    for (const row of tail) stored.add(`${me}:${row.client_id}`);
    for (const message of this.peerMessages.values()) {
      if (stored.has(`${message.sender_id}:${message.client_id}`)) continue;
      tail.push(fromPeer(this.id, message));
    }
    for (const item of this.outboxItems) {
      if (!stored.has(`${me}:${item.client_id}`)) tail.push(fromOutbox(item, me));
      else this.context.onOwnStored(item.client_id);
    }
    this.patch({
      entry: this.entry,
      messages: [...messages, ...tail],
      hasOlder: this.timeline.hasOlder,
      members: [...this.members.values()],
      transport: this.peerLinkOpen ? 'webrtc' : 'realtime',
    });
    this.reportReceipts();
  }
}

/** What a conversation looks like before anything is loaded. */
export function initialSnapshot(conversationId: string): ConversationSnapshot {
  return {
    conversation_id: conversationId,
    status: 'loading',
    entry: null,
    messages: [],
    hasOlder: false,
    loadingOlder: false,
    members: [],
    transport: 'realtime',
    removed: null,
    error: null,
  };
}

function fromRow(row: MessageRow): ChatMessage {
  return { ...row, status: 'sent', error: null, via: 'server' };
}

function fromOutbox(item: OutboxItem, me: string): ChatMessage {
  return {
    id: null,
    seq: null,
    change_seq: null,
    conversation_id: item.conversation_id,
    sender_id: me,
    client_id: item.client_id,
    kind: 'text',
    body: item.body,
    reply_to: item.reply_to,
    metadata: item.metadata,
    reactions: {},
    created_at: new Date(item.queued_at).toISOString(),
    edited_at: null,
    deleted_at: null,
    external_delivery: null,
    status: item.status,
    error: item.error,
    via: 'server',
  };
}

function fromPeer(conversationId: string, message: PeerMessage): ChatMessage {
  return {
    id: null,
    seq: null,
    change_seq: null,
    conversation_id: conversationId,
    sender_id: message.sender_id,
    client_id: message.client_id,
    kind: 'text',
    body: message.body,
    reply_to: message.reply_to,
    metadata: message.metadata,
    reactions: {},
    created_at: message.created_at,
    edited_at: null,
    deleted_at: null,
    external_delivery: null,
    status: 'sent',
    error: null,
    via: 'webrtc',
  };
}
