// The conversation list: `list_inbox`, then kept live by the user topic —
// previews, unread badges (last_seq − last_read_seq), order by newest message,
// conversations added and removed. Refreshed after every (re)join, so what
// changed while offline shows up. Read state only moves forward, so events that
// arrive late or twice change nothing.

import type { ChatErrorShape } from './errors.ts';
import { ChatError } from './errors.ts';
import { createStore, type ReadableStore } from './store.ts';
import type { ChatTransport } from './transport.ts';
import type { InboxEntry, InboxUpdatedEvent, MessageRow, RemovedEvent, RotatedEvent } from './types.ts';

export interface InboxSnapshot {
  status: 'loading' | 'ready' | 'error';
  /** Newest message first. */
  entries: readonly InboxEntry[];
  /** More (older) conversations can be loaded with `loadMore()`. */
  hasMore: boolean;
  /** Conversations with unread messages (for a title badge). */
  unreadConversations: number;
  error: ChatErrorShape | null;
}

export class Inbox {
  private readonly entries = new Map<string, InboxEntry>();
  private readonly state = createStore<InboxSnapshot>({
    status: 'loading',
    entries: [],
    hasMore: false,
    unreadConversations: 0,
    error: null,
  });
  readonly store: ReadableStore<InboxSnapshot> = this.state;
  private hasMore = false;
  private readonly fetching = new Set<string>();

  constructor(
    private readonly transport: ChatTransport,
    private readonly pageSize: number,
  ) {}

  /** Reloads the first page (after every join of the user topic). */
  async refresh(): Promise<void> {
    try {
      const page = await this.transport.rpc<InboxEntry[]>('list_inbox', { max_rows: this.pageSize });
      const full = page.length < this.pageSize;
      const last = page[page.length - 1];
      const inPage = new Set(page.map((entry) => entry.conversation_id));
      for (const [id, entry] of this.entries) {
        // Gone if the page should have held it; older ones beyond the page stay.
        if (!inPage.has(id) && (full || !last || compare(entry, last) <= 0)) this.entries.delete(id);
      }
      for (const entry of page) this.entries.set(entry.conversation_id, entry);
      if (full || this.state.getSnapshot().status === 'loading') this.hasMore = !full;
      this.publish('ready', null);
    } catch (caught) {
      this.publish('error', ChatError.from(caught).toJSON());
      throw caught;
    }
  }

  async loadMore(): Promise<void> {
    const sorted = this.sorted();
    const last = sorted[sorted.length - 1];
    if (!this.hasMore || !last?.cursor) return;
    const page = await this.transport.rpc<InboxEntry[]>('list_inbox', {
      before: last.cursor,
      max_rows: this.pageSize,
    });
    for (const entry of page)
      if (!this.entries.has(entry.conversation_id)) this.entries.set(entry.conversation_id, entry);
    this.hasMore = page.length === this.pageSize;
    this.publish('ready', null);
  }

  get(conversationId: string): InboxEntry | undefined {
    return this.entries.get(conversationId);
  }

  onUpdated(event: InboxUpdatedEvent): void {
    const entry = this.entries.get(event.conversation_id);
    if (!entry) {
      void this.fetch(event.conversation_id);
      return;
    }
    const newer = event.last_seq >= entry.last_seq;
    const last_seq = Math.max(entry.last_seq, event.last_seq);
    const last_read_seq = Math.max(entry.last_read_seq, event.last_read_seq);
    this.entries.set(event.conversation_id, {
      ...entry,
      last_seq,
      last_read_seq,
      unread_count: Math.max(0, last_seq - last_read_seq),
      ...(newer ? { last_message: event.last_message, last_message_at: event.last_message_at } : {}),
    });
    this.publish();
  }

  onAdded(entry: InboxEntry): void {
    this.entries.set(entry.conversation_id, entry);
    this.publish();
  }

  onRemoved(event: RemovedEvent): void {
    if (this.entries.delete(event.conversation_id)) this.publish();
  }

  onRotated(event: RotatedEvent): void {
    const entry = this.entries.get(event.conversation_id);
    if (entry) {
      this.entries.set(event.conversation_id, { ...entry, topic: event.topic, live_topic: event.live_topic });
      this.publish();
    }
  }

  /** A message seen on an open conversation's topic (big groups get no inbox.updated). */
  onMessage(row: MessageRow, me: string): void {
    const entry = this.entries.get(row.conversation_id);
    if (!entry || row.seq < entry.last_seq) return;
    const last_read_seq = row.sender_id === me ? Math.max(entry.last_read_seq, row.seq) : entry.last_read_seq;
    this.entries.set(row.conversation_id, {
      ...entry,
      last_seq: row.seq,
      last_read_seq,
      unread_count: Math.max(0, row.seq - last_read_seq),
      last_message_at: row.created_at,
      last_message: {
        id: row.id,
        seq: row.seq,
        sender_id: row.sender_id,
        preview: row.deleted_at ? null : row.body.slice(0, 140),
        created_at: row.created_at,
        deleted: row.deleted_at !== null,
      },
    });
    this.publish();
  }

  /** Read up to `seq` here (or the server says so): the badge goes at once. */
  onRead(conversationId: string, seq: number): void {
    const entry = this.entries.get(conversationId);
    if (!entry || seq <= entry.last_read_seq) return;
    const last_read_seq = Math.min(Math.max(entry.last_read_seq, seq), Math.max(entry.last_seq, seq));
    const last_seq = Math.max(entry.last_seq, seq);
    this.entries.set(conversationId, {
      ...entry,
      last_seq,
      last_read_seq,
      unread_count: last_seq - last_read_seq,
    });
    this.publish();
  }

  private async fetch(conversationId: string): Promise<void> {
    if (this.fetching.has(conversationId)) return;
    this.fetching.add(conversationId);
    try {
      const entry = await this.transport.rpc<InboxEntry>('get_conversation', {
        conversation_id: conversationId,
      });
      this.entries.set(conversationId, entry);
      this.publish();
    } catch {
      // Not a member (any more): nothing to show.
    } finally {
      this.fetching.delete(conversationId);
    }
  }

  private sorted(): InboxEntry[] {
    return [...this.entries.values()].sort(compare);
  }

  private publish(status?: InboxSnapshot['status'], error?: ChatErrorShape | null): void {
    const entries = this.sorted();
    const current = this.state.getSnapshot();
    this.state.set({
      status: status ?? current.status,
      entries,
      hasMore: this.hasMore,
      unreadConversations: entries.filter((entry) => entry.unread_count > 0).length,
      error: error === undefined ? current.error : error,
    });
  }
}

/** Newest message first; then by id, as list_inbox orders. */
function compare(a: InboxEntry, b: InboxEntry): number {
  const at = (entry: InboxEntry) => (entry.last_message_at ? Date.parse(entry.last_message_at) : -Infinity);
  return (
    at(b) - at(a) ||
    (a.conversation_id < b.conversation_id ? 1 : a.conversation_id > b.conversation_id ? -1 : 0)
  );
}
