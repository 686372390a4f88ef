// The messages of one conversation as held by the client: a window of
// consecutive seqs [oldest, head] (older pages are loaded on demand), and the
// change cursor — every change up to it has been applied. Pure state, no I/O.
//
// Rows and events may arrive late, twice, or out of order: a row replaces the
// held copy only when its change_seq is newer. A reaction event carries only the
// reactions, so they are versioned apart: a row older than the reactions held
// keeps them (the row's body still counts). A change above cursor + 1 is
// remembered until the ones between arrive (or a sync covers them). `gap()`
// says when something is missing and sync_conversation must be asked.

import type { MessageRow, ReactionEvent } from './types.ts';

export class Timeline {
  /** Held messages by seq (including ones past `head`, waiting for a hole to fill). */
  private readonly bySeq = new Map<number, MessageRow>();
  private readonly seqById = new Map<string, number>();
  /** change_seq of the reactions held, where a reaction event set them. */
  private readonly reactionsVersion = new Map<number, number>();
  /** change_seqs above cursor + 1 already applied. */
  private readonly aheadChanges = new Set<number>();
  /** Lowest seq of the window (1 when the whole history is held); null before the first load. */
  oldest: number | null = null;
  /** Highest seq such that every seq from `oldest` to it is held. */
  head = 0;
  /** Every change with change_seq <= cursor is applied. */
  cursor = 0;
  /** The conversation's last seq as last heard from the server. */
  knownLastSeq = 0;

  get loaded(): boolean {
    return this.oldest !== null;
  }

  /**
   * Starts the window with the newest page (`get_messages` without bounds), taken
   * after `cursor` was read. `lastSeqBefore` is the last seq known before the page
   * was asked for: an empty page starts the window after it, not after seqs heard
   * of while the page was on its way (those come with the sync that follows).
   */
  loadLatest(page: MessageRow[], cursor: number, lastSeqBefore: number): void {
    this.cursor = Math.max(this.cursor, cursor);
    const first = page[0];
    this.oldest = first ? first.seq : lastSeqBefore + 1;
    this.head = this.oldest - 1;
    for (const row of page) this.applyRow(row);
    this.advanceHead();
  }

  /** Adds an older page (`get_messages(before_seq = oldest)`), ascending. */
  loadOlder(page: MessageRow[]): void {
    if (this.oldest === null) return;
    const first = page[0];
    if (!first) {
      this.oldest = 1;
      return;
    }
    const previousOldest = this.oldest;
    this.oldest = first.seq;
    for (const row of page) if (row.seq < previousOldest) this.store(row);
    if (this.head === previousOldest - 1) this.advanceHead();
  }

  get hasOlder(): boolean {
    return this.oldest !== null && this.oldest > 1;
  }

  /** Applies a stored row if newer than the copy held. Returns whether anything changed. */
  applyRow(row: MessageRow): boolean {
    this.knownLastSeq = Math.max(this.knownLastSeq, row.seq);
    if (this.oldest === null || row.seq < this.oldest) return false;
    const held = this.bySeq.get(row.seq);
    if (held && held.change_seq >= row.change_seq) return false;
    const reactionsAt = this.reactionsVersion.get(row.seq) ?? 0;
    this.store(held && reactionsAt > row.change_seq ? { ...row, reactions: held.reactions } : row);
    this.advanceHead();
    return true;
  }

  /**
   * Applies a reaction change to the held message. Returns false when the
   * message is not held yet (it then counts as missing, so the change is not
   * taken as seen: a sync must bring the message with its reactions).
   */
  applyReaction(event: ReactionEvent): boolean {
    this.knownLastSeq = Math.max(this.knownLastSeq, event.seq);
    if (this.oldest === null) return false;
    if (event.seq < this.oldest) return true;
    const held = this.bySeq.get(event.seq);
    if (!held) return false;
    const reactionsAt = Math.max(held.change_seq, this.reactionsVersion.get(event.seq) ?? 0);
    if (reactionsAt < event.change_seq) {
      this.bySeq.set(event.seq, { ...held, reactions: event.reactions });
      this.reactionsVersion.set(event.seq, event.change_seq);
    }
    return true;
  }

  /** Records that change `changeSeq` was seen (applied or found stale). */
  noteChange(changeSeq: number): void {
    // Before the first page nothing is applied: the sync after it covers these changes.
    if (!this.loaded || changeSeq <= this.cursor) return;
    this.aheadChanges.add(changeSeq);
    while (this.aheadChanges.delete(this.cursor + 1)) this.cursor += 1;
  }

  /** After sync_conversation applied everything up to `cursor`. */
  syncedTo(cursor: number, lastSeq: number): void {
    this.cursor = Math.max(this.cursor, cursor);
    this.knownLastSeq = Math.max(this.knownLastSeq, lastSeq);
    for (const change of this.aheadChanges) if (change <= this.cursor) this.aheadChanges.delete(change);
    while (this.aheadChanges.delete(this.cursor + 1)) this.cursor += 1;
  }

  /** The server says the conversation reached `lastSeq` (inbox.updated, a send's answer). */
  noteLastSeq(lastSeq: number): void {
    this.knownLastSeq = Math.max(this.knownLastSeq, lastSeq);
  }

  /** True when something is known to be missing: a change or a seq beyond what is held. */
  gap(): boolean {
    return this.loaded && (this.aheadChanges.size > 0 || this.knownLastSeq > this.head);
  }

  /** The window, oldest first. */
  rows(): MessageRow[] {
    const rows: MessageRow[] = [];
    if (this.oldest === null) return rows;
    for (let seq = this.oldest; seq <= this.head; seq++) {
      const row = this.bySeq.get(seq);
      if (row) rows.push(row);
    }
    return rows;
  }

  bySeqNumber(seq: number): MessageRow | undefined {
    return this.bySeq.get(seq);
  }

  byId(id: string): MessageRow | undefined {
    const seq = this.seqById.get(id);
    return seq === undefined ? undefined : this.bySeq.get(seq);
  }

  private store(row: MessageRow): void {
    this.bySeq.set(row.seq, row);
    this.seqById.set(row.id, row.seq);
  }

  private advanceHead(): void {
    while (this.bySeq.has(this.head + 1)) this.head += 1;
  }
}
