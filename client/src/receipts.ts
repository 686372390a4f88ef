// Read and delivered watermarks, reported in batches: at most one call per
// conversation per batch window, carrying the highest seq asked for. A read
// implies delivered (the server moves both), so it goes alone.

import type { Clock } from './clock.ts';
import { ChatError } from './errors.ts';
import type { ChatTransport } from './transport.ts';

export interface ReadState {
  conversation_id: string;
  last_seq: number;
  last_read_seq: number;
  last_delivered_seq: number;
  unread_count: number;
}

export class ReceiptReporter {
  private wantRead = 0;
  private wantDelivered = 0;
  private read = 0;
  private delivered = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly conversationId: string,
    private readonly transport: ChatTransport,
    private readonly clock: Clock,
    private readonly batchMs: number,
    private readonly onState: (state: ReadState) => void,
  ) {}

  /** What the server already has (so nothing is re-sent). */
  known(lastRead: number, lastDelivered: number): void {
    this.read = Math.max(this.read, lastRead);
    this.delivered = Math.max(this.delivered, lastDelivered, lastRead);
  }

  markDelivered(seq: number): void {
    this.wantDelivered = Math.max(this.wantDelivered, seq);
    this.schedule();
  }

  markRead(seq: number): void {
    this.wantRead = Math.max(this.wantRead, seq);
    this.schedule();
  }

  close(): void {
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    if (this.wantRead <= this.read && this.wantDelivered <= this.delivered) return;
    this.scheduled = true;
    this.clock.setTimeout(() => void this.flush(), this.batchMs);
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.closed) return;
    const read = this.wantRead > this.read;
    const seq = read ? this.wantRead : this.wantDelivered;
    if (!read && seq <= this.delivered) return;
    try {
      const state = await this.transport.rpc<ReadState>(read ? 'mark_read' : 'mark_delivered', {
        conversation_id: this.conversationId,
        seq,
      });
      this.known(state.last_read_seq, state.last_delivered_seq);
      this.onState(state);
    } catch (caught) {
      const error = ChatError.from(caught);
      if (!error.retryable) {
        // Nothing to gain from asking again (e.g. removed from the conversation).
        this.wantRead = this.read;
        this.wantDelivered = this.delivered;
        return;
      }
    }
    this.schedule();
  }
}
