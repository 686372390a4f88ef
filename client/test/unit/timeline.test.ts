// The timeline alone: window, head, cursor, gaps, stale copies.

import { expect, it } from 'vitest';
import { Timeline } from '../../src/timeline.ts';
import type { MessageRow } from '../../src/types.ts';

const row = (seq: number, changeSeq = seq, body = `m${seq}`): MessageRow => ({
  id: `id-${seq}`,
  conversation_id: 'c',
  seq,
  change_seq: changeSeq,
  sender_id: 'alice',
  client_id: `client-${seq}`,
  kind: 'text',
  body,
  reply_to: null,
  metadata: {},
  reactions: {},
  created_at: '2026-01-01T00:00:00Z',
  edited_at: null,
  deleted_at: null,
  external_delivery: null,
});

it('shows only consecutive seqs and reports the hole until it is filled', () => {
  const timeline = new Timeline();
  timeline.loadLatest([row(1), row(2)], 2, 2);
  timeline.applyRow(row(4));
  timeline.noteChange(4);
  expect(timeline.rows().map((r) => r.seq)).toEqual([1, 2]);
  expect(timeline.gap()).toBe(true);
  timeline.applyRow(row(3));
  timeline.noteChange(3);
  expect(timeline.rows().map((r) => r.seq)).toEqual([1, 2, 3, 4]);
  expect(timeline.cursor).toBe(4);
  expect(timeline.gap()).toBe(false);
});

it('never lets an older copy replace a newer one, and counts a duplicate once', () => {
  const timeline = new Timeline();
  timeline.loadLatest([row(1)], 1, 1);
  expect(timeline.applyRow(row(1, 3, 'edited twice'))).toBe(true);
  expect(timeline.applyRow(row(1, 2, 'edited once'))).toBe(false);
  expect(timeline.applyRow(row(1, 3, 'edited twice'))).toBe(false);
  expect(timeline.rows().map((r) => r.body)).toEqual(['edited twice']);
});

it('knows a jump in seq announced elsewhere (inbox) is a gap', () => {
  const timeline = new Timeline();
  timeline.loadLatest([row(1)], 1, 1);
  timeline.noteLastSeq(3);
  expect(timeline.gap()).toBe(true);
  timeline.syncedTo(3, 3);
  timeline.applyRow(row(2));
  timeline.applyRow(row(3));
  expect(timeline.gap()).toBe(false);
});

it('grows the window backwards with older pages and knows when the start is reached', () => {
  const timeline = new Timeline();
  timeline.loadLatest([row(3), row(4)], 4, 4);
  expect(timeline.hasOlder).toBe(true);
  timeline.loadOlder([row(1), row(2)]);
  expect(timeline.rows().map((r) => r.seq)).toEqual([1, 2, 3, 4]);
  expect(timeline.hasOlder).toBe(false);
});

it('takes no change as seen before the first page (the sync after it covers them)', () => {
  const timeline = new Timeline();
  timeline.noteChange(1);
  timeline.loadLatest([], 0, 0);
  expect(timeline.cursor).toBe(0);
});
