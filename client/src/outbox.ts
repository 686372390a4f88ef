// The outbox: every send is first an item here (shown at once as pending, with
// its client_id), then delivered through `send-message` in the order queued.
//
//   pending ──send-message──▶ sent (item removed; the stored row goes to the timeline)
//      │  ▲
//      │  └── no answer / 408 / 429 / 5xx: wait (Retry-After, else backoff) and again
//      └────▶ failed (any other 4xx, or too many server faults): kept, with the error,
//             until `retry` or `discard`
//
// Server faults are counted per send and in a row over all sends: once the
// server has failed `maxAttempts` times running, what waits behind is failed at
// its first server fault too (reported in seconds, not one backoff ladder after
// another), until the server answers again.
//
// Retries reuse the client_id, so a send whose answer was lost is never stored
// twice. Items live in an OutboxStorage (kept across reloads when it persists);
// with shared storage one tab — the TabCoordinator's leader — sends for all.

import { backoffDelay } from './backoff.ts';
import type { Clock } from './clock.ts';
import { ChatError } from './errors.ts';
import type { OutboxItem, OutboxStorage } from './outbox-storage.ts';
import { createStore, type ReadableStore } from './store.ts';
import type { TabCoordinator, TabMessage } from './tabs.ts';
import type { ChatTransport } from './transport.ts';
import type { MessageRow } from './types.ts';

export interface SendInput {
  conversation_id: string;
  body: string;
  reply_to?: string | null;
  metadata?: Record<string, unknown>;
  /** Your own idempotency key; generated when absent. */
  client_id?: string;
}

export interface OutboxOptions {
  transport: ChatTransport;
  clock: Clock;
  storage: OutboxStorage;
  tabs: TabCoordinator;
  userId: string;
  random: () => number;
  /** A send stored by the server (by this tab or, with shared storage, another). */
  onSent(row: MessageRow): void;
  /** Attempts answered with 408/429/5xx before a send is marked failed (no answer at all never counts). */
  maxAttempts?: number;
}

export class Outbox {
  private readonly items = createStore<readonly OutboxItem[]>([]);
  readonly store: ReadableStore<readonly OutboxItem[]> = this.items;
  private readonly notBefore = new Map<string, number>();
  private leader = false;
  private closed = false;
  private counter = 0;
  private wake: (() => void) | undefined;
  private readonly stopListening: () => void;
  private readonly maxAttempts: number;
  /** 408/429/5xx answers in a row, whichever sends they were for. */
  private serverFaults = 0;

  constructor(private readonly options: OutboxOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.stopListening = options.tabs.onMessage((message) => void this.onTabMessage(message));
  }

  async start(): Promise<void> {
    await this.reload();
    this.options.tabs.lead(() => {
      if (this.closed) return;
      this.leader = true;
      void this.reload().then(() => this.loop());
    });
  }

  async send(input: SendInput): Promise<OutboxItem> {
    const now = this.options.clock.now();
    const item: OutboxItem = {
      client_id: input.client_id ?? crypto.randomUUID(),
      conversation_id: input.conversation_id,
      body: input.body,
      reply_to: input.reply_to ?? null,
      metadata: input.metadata ?? {},
      queued_at: now,
      order: now * 1000 + (this.counter++ % 1000),
      status: 'pending',
      attempts: 0,
      error: null,
    };
    this.replace(item);
    await this.persist(item);
    return item;
  }

  /** Queues a failed send again (same client_id). */
  async retry(clientId: string): Promise<void> {
    const item = this.find(clientId);
    if (item?.status !== 'failed') return;
    const again: OutboxItem = { ...item, status: 'pending', attempts: 0, error: null };
    this.notBefore.delete(clientId);
    this.replace(again);
    await this.persist(again);
  }

  /** Drops a failed send. */
  async discard(clientId: string): Promise<void> {
    const item = this.find(clientId);
    if (item?.status !== 'failed') return;
    this.remove(clientId);
    await this.options.storage.delete(this.options.userId, clientId);
    this.options.tabs.post({ type: 'outbox-changed' });
  }

  /** The server's copy of a send arrived (by Realtime or a sync) before its answer did: it is sent. */
  async confirm(clientId: string): Promise<void> {
    if (!this.find(clientId)) return;
    this.remove(clientId);
    await this.options.storage.delete(this.options.userId, clientId);
    this.options.tabs.post({ type: 'outbox-changed' });
  }

  /** The connection came back: sends waiting for an answer go now, not after their backoff. */
  resume(): void {
    this.notBefore.clear();
    this.kick();
  }

  close(): void {
    this.closed = true;
    this.stopListening();
    this.kick();
  }

  private async persist(item: OutboxItem): Promise<void> {
    await this.options.storage.put(this.options.userId, item);
    this.options.tabs.post({ type: 'outbox-changed' });
    this.kick();
  }

  private async onTabMessage(message: TabMessage): Promise<void> {
    if (message.type === 'outbox-sent') {
      this.remove(message.client_id);
      this.options.onSent(message.row as MessageRow);
      return;
    }
    await this.reload();
    this.kick();
  }

  private async reload(): Promise<void> {
    const stored = await this.options.storage.list(this.options.userId);
    this.items.set(stored.sort((a, b) => a.order - b.order || a.client_id.localeCompare(b.client_id)));
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const next = this.items.getSnapshot().find((item) => item.status === 'pending');
      const wait = next ? (this.notBefore.get(next.client_id) ?? 0) - this.options.clock.now() : Infinity;
      if (!next || wait > 0) {
        await this.sleep(wait);
        continue;
      }
      await this.attempt(next);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = Number.isFinite(ms)
        ? this.options.clock.setTimeout(() => this.kick(), ms)
        : () => undefined;
      this.wake = () => {
        cancel();
        this.wake = undefined;
        resolve();
      };
    });
  }

  private kick(): void {
    this.wake?.();
  }

  private async attempt(item: OutboxItem): Promise<void> {
    const { transport, storage, userId, tabs, clock } = this.options;
    try {
      const row = await transport.invoke<MessageRow>('send-message', {
        conversation_id: item.conversation_id,
        client_id: item.client_id,
        body: item.body,
        reply_to: item.reply_to,
        metadata: item.metadata,
      });
      this.serverFaults = 0;
      this.remove(item.client_id);
      await storage.delete(userId, item.client_id);
      tabs.post({ type: 'outbox-sent', client_id: item.client_id, row });
      this.options.onSent(row);
    } catch (caught) {
      const error = ChatError.from(caught);
      const attempts = item.attempts + (error.status === 0 ? 0 : 1);
      if (error.status !== 0) this.serverFaults = error.retryable ? this.serverFaults + 1 : 0;
      const failed =
        !error.retryable ||
        attempts >= this.maxAttempts ||
        (error.status !== 0 && this.serverFaults >= this.maxAttempts);
      if (!this.find(item.client_id)) return; // discarded meanwhile
      const next: OutboxItem = {
        ...item,
        attempts,
        status: failed ? 'failed' : 'pending',
        error: error.toJSON(),
      };
      if (!failed) {
        const backoff = backoffDelay(item.attempts, { random: this.options.random });
        this.notBefore.set(item.client_id, clock.now() + Math.max(error.retryAfterMs ?? 0, backoff));
      }
      this.replace(next);
      await storage.put(userId, next);
      tabs.post({ type: 'outbox-changed' });
    }
  }

  private find(clientId: string): OutboxItem | undefined {
    return this.items.getSnapshot().find((item) => item.client_id === clientId);
  }

  private replace(item: OutboxItem): void {
    const others = this.items.getSnapshot().filter((other) => other.client_id !== item.client_id);
    this.items.set([...others, item].sort((a, b) => a.order - b.order));
  }

  private remove(clientId: string): void {
    if (this.find(clientId)) this.items.set(this.items.getSnapshot().filter((i) => i.client_id !== clientId));
  }

  /** Whether this instance is the one sending. */
  get sending(): boolean {
    return this.leader;
  }
}
