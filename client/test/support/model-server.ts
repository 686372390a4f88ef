// A MODEL of the backend, in memory, for the unit and property tests of the
// sync engine only: conversations with gap-free seq and change_seq, the RPCs and
// functions the client calls, the contract v2 events on their topics, rotation.
// It is not the product: the integration tests (client/test/integration) prove
// the same behaviour against the real database, Realtime and Edge Functions.
//
// Each user's ModelTransport has a socket; its frames either go straight to the
// channels or, when `socket.faulty`, wait in `socket.inflight` for the test to
// deliver, drop, duplicate or reorder them; `disconnect()` loses the socket.

import { ChatError } from '../../src/errors.ts';
import type { AuthChange, ChannelHandlers, ChatTransport, TransportChannel } from '../../src/transport.ts';
import type { InboxEntry, Member, MessageRow, Role } from '../../src/types.ts';

interface ModelMember {
  role: Role;
  last_read_seq: number;
  last_delivered_seq: number;
  joined_at: string;
}

interface ModelConversation {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  epoch: number;
  last_seq: number;
  last_change: number;
  members: Map<string, ModelMember>;
  messages: MessageRow[];
}

export interface Frame {
  topic: string;
  event: string;
  payload: unknown;
}

let ids = 0;
const uuid = (prefix: string) => `${prefix}-${String(++ids).padStart(8, '0')}`;

export class ModelServer {
  readonly conversations = new Map<string, ModelConversation>();
  readonly sockets = new Set<ModelSocket>();
  /** Calls made, by name (to assert on what the client asked). */
  readonly calls: { user: string; name: string; args: Record<string, unknown> }[] = [];
  /** Answers the next `send-message` calls with these errors first. */
  readonly sendFailures: ChatError[] = [];
  private time = Date.UTC(2026, 0, 1);

  createConversation(kind: 'direct' | 'group', memberIds: string[], title: string | null = null): string {
    const id = uuid('conv');
    const members = new Map<string, ModelMember>();
    for (const [index, userId] of memberIds.entries()) {
      members.set(userId, {
        role: index === 0 ? 'owner' : 'member',
        last_read_seq: 0,
        last_delivered_seq: 0,
        joined_at: this.stamp(),
      });
    }
    this.conversations.set(id, {
      id,
      kind,
      title,
      epoch: 1,
      last_seq: 0,
      last_change: 0,
      members,
      messages: [],
    });
    return id;
  }

  transport(userId: string): ModelTransport {
    const socket = new ModelSocket(this, userId);
    this.sockets.add(socket);
    return new ModelTransport(this, socket);
  }

  // --- what other users do ---------------------------------------------------------

  send(
    userId: string,
    conversationId: string,
    body: string,
    clientId = uuid('client'),
  ): { row: MessageRow; created: boolean } {
    const c = this.member(userId, conversationId);
    const existing = c.messages.find((m) => m.sender_id === userId && m.client_id === clientId);
    if (existing) return { row: existing, created: false };
    c.last_seq += 1;
    c.last_change += 1;
    const row: MessageRow = {
      id: uuid('msg'),
      conversation_id: c.id,
      seq: c.last_seq,
      change_seq: c.last_change,
      sender_id: userId,
      client_id: clientId,
      kind: 'text',
      body,
      reply_to: null,
      metadata: {},
      reactions: {},
      created_at: this.stamp(),
      edited_at: null,
      deleted_at: null,
      external_delivery: null,
    };
    c.messages.push(row);
    const sender = c.members.get(userId) as ModelMember;
    sender.last_read_seq = sender.last_delivered_seq = row.seq;
    this.emit(this.topic(c), 'message.created', {
      record: row,
      old_record: null,
      operation: 'INSERT',
      table: 'messages',
      schema: 'public',
    });
    this.inboxUpdates(c);
    return { row, created: true };
  }

  edit(userId: string, messageId: string, body: string | null): MessageRow {
    const { c, index } = this.message(userId, messageId);
    const old = c.messages[index] as MessageRow;
    c.last_change += 1;
    const row: MessageRow =
      body === null
        ? { ...old, body: '', metadata: {}, deleted_at: this.stamp(), change_seq: c.last_change }
        : { ...old, body, edited_at: this.stamp(), change_seq: c.last_change };
    c.messages[index] = row;
    this.emit(this.topic(c), 'message.updated', {
      record: row,
      old_record: { ...old, body: null, metadata: null },
      operation: 'UPDATE',
      table: 'messages',
      schema: 'public',
    });
    if (row.seq === c.last_seq) this.inboxUpdates(c);
    return row;
  }

  react(userId: string, messageId: string, emoji: string, add: boolean): MessageRow {
    const { c, index } = this.message(userId, messageId);
    const old = c.messages[index] as MessageRow;
    const users = (old.reactions[emoji] ?? []).filter((u) => u !== userId);
    if (add) users.push(userId);
    const reactions = { ...old.reactions };
    if (users.length) reactions[emoji] = users;
    else delete reactions[emoji];
    c.last_change += 1;
    const row = { ...old, reactions, change_seq: c.last_change };
    c.messages[index] = row;
    this.emit(this.topic(c), 'reaction.changed', {
      conversation_id: c.id,
      message_id: row.id,
      seq: row.seq,
      change_seq: row.change_seq,
      user_id: userId,
      emoji,
      action: add ? 'added' : 'removed',
      reactions,
    });
    return row;
  }

  markRead(userId: string, conversationId: string, seq: number, delivered = false): void {
    const c = this.member(userId, conversationId);
    const m = c.members.get(userId) as ModelMember;
    const read = delivered ? m.last_read_seq : Math.max(m.last_read_seq, seq);
    const del = Math.max(m.last_delivered_seq, seq, read);
    if (read === m.last_read_seq && del === m.last_delivered_seq) return;
    const readMoved = read !== m.last_read_seq;
    m.last_read_seq = read;
    m.last_delivered_seq = del;
    this.emit(this.topic(c), 'receipt', {
      conversation_id: c.id,
      user_id: userId,
      last_read_seq: read,
      last_delivered_seq: del,
    });
    if (readMoved) this.emit(`user:${userId}`, 'inbox.updated', this.inboxPayload(c, userId));
  }

  /** Adds `userId` to a group (by `by`); the topics stay. */
  add(by: string, conversationId: string, userId: string): void {
    const c = this.member(by, conversationId);
    c.members.set(userId, {
      role: 'member',
      last_read_seq: 0,
      last_delivered_seq: 0,
      joined_at: this.stamp(),
    });
    this.emit(this.topic(c), 'member.changed', {
      operation: 'INSERT',
      conversation_id: c.id,
      user_id: userId,
      role: 'member',
      record: { conversation_id: c.id, user_id: userId, role: 'member' },
      old_record: null,
    });
  }

  /** Removes `userId` (by `by`; themselves = leaving) and rotates the topics. */
  remove(by: string, conversationId: string, userId: string): void {
    const c = this.member(by, conversationId);
    const oldTopic = this.topic(c);
    c.members.delete(userId);
    c.epoch += 1;
    this.emit(oldTopic, 'member.changed', {
      operation: 'DELETE',
      conversation_id: c.id,
      user_id: userId,
      role: 'member',
      record: null,
      old_record: {},
    });
    this.emit(`user:${userId}`, 'conversation.removed', {
      conversation_id: c.id,
      kind: c.kind,
      title: c.title,
      reason: by === userId ? 'left' : 'removed',
      removed_by: by,
    });
    const rotated = {
      conversation_id: c.id,
      topic: this.topic(c),
      live_topic: this.liveTopic(c),
      epoch: c.epoch,
      change: c.last_change,
    };
    this.emit(oldTopic, 'conversation.rotated', rotated);
    for (const member of c.members.keys()) this.emit(`user:${member}`, 'conversation.rotated', rotated);
  }

  /** The stored timeline, as the database has it. */
  timeline(conversationId: string): MessageRow[] {
    return [...(this.conversations.get(conversationId)?.messages ?? [])];
  }

  // --- the API as the client calls it --------------------------------------------------

  call(userId: string, name: string, args: Record<string, unknown>): unknown {
    this.calls.push({ user: userId, name, args });
    const id = args.conversation_id as string;
    switch (name) {
      case 'send-message': {
        const failure = this.sendFailures.shift();
        if (failure) throw failure;
        return this.send(userId, id, args.body as string, args.client_id as string).row;
      }
      case 'get_conversation':
        return this.entry(this.member(userId, id), userId);
      case 'list_inbox':
        return [...this.conversations.values()]
          .filter((c) => c.members.has(userId))
          .map((c) => this.entry(c, userId))
          .sort((a, b) => (b.last_message_at ?? '').localeCompare(a.last_message_at ?? ''))
          .slice(0, (args.max_rows as number) ?? 50);
      case 'list_members': {
        const c = this.member(userId, id);
        return [...c.members].map(
          ([user_id, m]): Member => ({
            user_id,
            role: m.role,
            display_name: user_id,
            avatar_url: null,
            joined_at: m.joined_at,
            last_read_seq: m.last_read_seq,
            last_delivered_seq: m.last_delivered_seq,
          }),
        );
      }
      case 'get_messages': {
        const c = this.member(userId, id);
        const max = (args.max_rows as number) ?? 50;
        const before = args.before_seq as number | undefined;
        const after = args.after_seq as number | undefined;
        if (after !== undefined) return c.messages.filter((m) => m.seq > after).slice(0, max);
        const older = before === undefined ? c.messages : c.messages.filter((m) => m.seq < before);
        return older.slice(-max);
      }
      case 'sync_conversation': {
        const c = this.member(userId, id);
        const since = args.since_change as number;
        const max = (args.max_rows as number) ?? 500;
        const changed = c.messages
          .filter((m) => m.change_seq > since)
          .sort((a, b) => a.change_seq - b.change_seq);
        const page = changed.slice(0, max);
        const more = changed.length > max;
        return {
          messages: page,
          cursor: more ? (page[page.length - 1] as MessageRow).change_seq : c.last_change,
          has_more: more,
          last_seq: c.last_seq,
        };
      }
      case 'mark_read':
      case 'mark_delivered': {
        this.markRead(userId, id, args.seq as number, name === 'mark_delivered');
        const c = this.member(userId, id);
        const m = c.members.get(userId) as ModelMember;
        return {
          conversation_id: id,
          last_seq: c.last_seq,
          last_read_seq: m.last_read_seq,
          last_delivered_seq: m.last_delivered_seq,
          unread_count: c.last_seq - m.last_read_seq,
        };
      }
      case 'edit_message':
        return this.edit(userId, args.message_id as string, args.body as string);
      case 'delete_message':
        return this.edit(userId, args.message_id as string, null);
      case 'add_reaction':
      case 'remove_reaction':
        return this.react(userId, args.message_id as string, args.emoji as string, name === 'add_reaction');
      case 'signal':
        this.emit(`user:${args.to as string}`, 'signal', {
          from: userId,
          conversation_id: id,
          type: args.type,
          payload: args.payload,
          id: uuid('signal'),
        });
        return null;
      default:
        throw new ChatError({ status: 404, code: 'not_found', message: `no ${name} in the model` });
    }
  }

  canJoin(userId: string, topic: string): boolean {
    if (topic.startsWith('user:')) return topic === `user:${userId}`;
    const [, id, epoch] = topic.split(':');
    const c = this.conversations.get(id ?? '');
    return !!c && c.members.has(userId) && c.epoch === Number(epoch);
  }

  emit(topic: string, event: string, payload: unknown): void {
    for (const socket of this.sockets) socket.receive({ topic, event, payload: structuredClone(payload) });
  }

  // --- helpers -------------------------------------------------------------------------

  private topic(c: ModelConversation): string {
    return `conversation:${c.id}:${c.epoch}`;
  }

  private liveTopic(c: ModelConversation): string {
    return `live:${c.id}:${c.epoch}`;
  }

  private member(userId: string, conversationId: string): ModelConversation {
    const c = this.conversations.get(conversationId);
    if (!c)
      throw new ChatError({ status: 404, code: 'conversation_not_found', message: 'no such conversation' });
    if (!c.members.has(userId))
      throw new ChatError({ status: 403, code: 'not_a_member', message: 'not a member' });
    return c;
  }

  private message(userId: string, messageId: string): { c: ModelConversation; index: number } {
    for (const c of this.conversations.values()) {
      const index = c.messages.findIndex((m) => m.id === messageId);
      if (index >= 0) {
        this.member(userId, c.id);
        return { c, index };
      }
    }
    throw new ChatError({ status: 404, code: 'message_not_found', message: 'no such message' });
  }

  private inboxPayload(c: ModelConversation, userId: string) {
    const m = c.members.get(userId) as ModelMember;
    const last = c.messages[c.messages.length - 1];
    return {
      conversation_id: c.id,
      last_seq: c.last_seq,
      last_read_seq: m.last_read_seq,
      unread_count: c.last_seq - m.last_read_seq,
      last_message_at: last?.created_at ?? null,
      last_message: last
        ? {
            id: last.id,
            seq: last.seq,
            sender_id: last.sender_id,
            preview: last.deleted_at ? null : last.body.slice(0, 140),
            created_at: last.created_at,
            deleted: !!last.deleted_at,
          }
        : null,
    };
  }

  private inboxUpdates(c: ModelConversation): void {
    for (const userId of c.members.keys())
      this.emit(`user:${userId}`, 'inbox.updated', this.inboxPayload(c, userId));
  }

  private entry(c: ModelConversation, userId: string): InboxEntry {
    const m = c.members.get(userId) as ModelMember;
    const payload = this.inboxPayload(c, userId);
    return {
      ...payload,
      kind: c.kind,
      title: c.title,
      peer: null,
      role: m.role,
      member_count: c.members.size,
      last_change: c.last_change,
      last_delivered_seq: m.last_delivered_seq,
      muted_until: null,
      topic: this.topic(c),
      live_topic: this.liveTopic(c),
      cursor: null,
    };
  }

  private stamp(): string {
    this.time += 1000;
    return new Date(this.time).toISOString();
  }
}

interface ModelChannel {
  topic: string;
  handlers: ChannelHandlers;
  joined: boolean;
  presenceKey?: string;
}

/** One user's connection: channels, and the frames on their way to them. */
export class ModelSocket {
  readonly channels = new Set<ModelChannel>();
  /** When true, frames wait in `inflight` for the test to deliver them. */
  faulty = false;
  up = true;
  inflight: Frame[] = [];

  constructor(
    readonly server: ModelServer,
    readonly userId: string,
  ) {}

  receive(frame: Frame): void {
    if (!this.up || ![...this.channels].some((c) => c.joined && c.topic === frame.topic)) return;
    if (this.faulty) this.inflight.push(frame);
    else this.deliver(frame);
  }

  deliver(frame: Frame): void {
    if (!this.up) return;
    for (const channel of [...this.channels]) {
      if (channel.joined && channel.topic === frame.topic)
        channel.handlers.onEvent(frame.event, structuredClone(frame.payload));
    }
  }

  /** The socket is lost: every channel drops, frames on the way are gone. */
  disconnect(): void {
    this.up = false;
    this.inflight = [];
    const dropped = [...this.channels];
    this.channels.clear();
    for (const channel of dropped) {
      channel.joined = false;
      channel.handlers.onStatus({
        state: 'dropped',
        error: new ChatError({ status: 0, code: 'channel_error', message: 'socket closed' }),
      });
    }
  }

  reconnect(): void {
    this.up = true;
  }

  /** Presence: every joined live channel of a topic, by key. */
  presence(topic: string): string[] {
    const keys = new Set<string>();
    for (const socket of this.server.sockets) {
      for (const channel of socket.channels)
        if (channel.joined && channel.topic === topic && channel.presenceKey) keys.add(channel.presenceKey);
    }
    return [...keys];
  }
}

export class ModelTransport implements ChatTransport {
  readonly authListeners = new Set<(change: AuthChange) => void>();
  /** The next joins are refused whatever the topic (Realtime's policy check failed with the database). */
  refuseNextJoins = 0;
  /** The next rpc/invoke calls fail with these (no answer: a network error). */
  failNextCalls = 0;
  /** Calls by name whose answer (taken when called) is held back until released: a slow response. */
  private readonly held = new Map<string, Promise<void>>();
  authorizeFailure: ChatError | null = null;

  constructor(
    readonly server: ModelServer,
    readonly socket: ModelSocket,
  ) {}

  async currentUser(): Promise<string | null> {
    return this.socket.userId;
  }

  async authorize(): Promise<void> {
    await Promise.resolve();
    if (this.authorizeFailure) throw this.authorizeFailure;
  }

  onAuthChange(listener: (change: AuthChange) => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  join(topic: string, handlers: ChannelHandlers, options: { presenceKey?: string } = {}): TransportChannel {
    const socket = this.socket;
    const channel: ModelChannel = { topic, handlers, joined: false, presenceKey: options.presenceKey };
    let left = false;
    queueMicrotask(() => {
      if (left) return;
      if (!socket.up) {
        handlers.onStatus({
          state: 'dropped',
          error: new ChatError({ status: 0, code: 'channel_error', message: 'socket down' }),
        });
        return;
      }
      if (this.refuseNextJoins > 0 || !socket.server.canJoin(socket.userId, topic)) {
        this.refuseNextJoins = Math.max(0, this.refuseNextJoins - 1);
        handlers.onStatus({
          state: 'refused',
          error: new ChatError({ status: 403, code: 'join_refused', message: 'Unauthorized: not a member' }),
        });
        return;
      }
      channel.joined = true;
      socket.channels.add(channel);
      handlers.onStatus({ state: 'joined' });
    });
    const announcePresence = () => {
      for (const other of socket.server.sockets) {
        for (const c of other.channels)
          if (c.joined && c.topic === topic) c.handlers.onPresence?.(socket.presence(topic));
      }
    };
    return {
      broadcast: (event, payload) => {
        if (!channel.joined || !topic.startsWith('live:')) return;
        for (const other of socket.server.sockets) {
          if (other === socket) continue;
          for (const c of other.channels)
            if (c.joined && c.topic === topic) c.handlers.onEvent(event, structuredClone(payload));
        }
      },
      track: () => announcePresence(),
      leave: () => {
        left = true;
        channel.joined = false;
        socket.channels.delete(channel);
        announcePresence();
      },
    };
  }

  /** The next call of `name` is answered with what the server holds then, but only once released. */
  holdNextAnswer(name: string): () => void {
    let release: () => void = () => undefined;
    this.held.set(name, new Promise<void>((resolve) => (release = resolve)));
    return () => release();
  }

  async rpc<T>(name: string, args: Record<string, unknown>): Promise<T> {
    const held = this.held.get(name);
    if (!held) return this.answer<T>(name, args);
    this.held.delete(name);
    const answer = await this.answer<T>(name, args);
    await held;
    return answer;
  }

  async invoke<T>(name: string, body: Record<string, unknown>): Promise<T> {
    return this.answer<T>(name, body);
  }

  private async answer<T>(name: string, args: Record<string, unknown>): Promise<T> {
    await Promise.resolve();
    if (this.failNextCalls > 0) {
      this.failNextCalls -= 1;
      throw new ChatError({ status: 0, code: 'network_error', message: 'fetch failed' });
    }
    return structuredClone(this.server.call(this.socket.userId, name, args)) as T;
  }
}
