// The client library with the real supabase-js against the emulator (real
// PostgreSQL, Realtime, Edge Functions on Deno): what the user sees equals what
// the database has through socket cuts, outages, rate limits, token refreshes,
// removals with rotation, and two tabs sharing one outbox.

import { describe, expect, it } from 'vitest';
import type { ConversationHandle } from '../../src/chat.ts';
import { localStorageStorage } from '../../src/outbox-storage.ts';
import { sharedTabs } from '../../src/tabs.ts';
import { inProcessLocks } from '../support/in-process-locks.ts';
import { StorageArea } from '../support/storage-area.ts';
import { chatFor, cutSocket, groupOf, person, sendAs, sql, waitFor } from './support.ts';

const db = sql();
const stored = async (conversationId: string) =>
  (
    await db.query<{ seq: number; body: string; client_id: string }>(
      'select seq, body, client_id from public.messages where conversation_id = $1 order by seq',
      [conversationId],
    )
  ).rows.map((row) => ({ ...row, seq: Number(row.seq) }));
const seen = (view: ConversationHandle) =>
  view.store
    .getSnapshot()
    .messages.filter((m) => m.status === 'sent' && m.via === 'server')
    .map((m) => ({ seq: m.seq, body: m.body, client_id: m.client_id }));
const live = async (chat: ReturnType<typeof chatFor>) =>
  waitFor(() => chat.connection.getSnapshot().state === 'live', 'the connection to be live');

describe('the client library on the emulator', () => {
  it('holds exactly the 20 messages sent while its socket was cut, in order, after reconnecting', async () => {
    const [alice, bob] = await Promise.all([person(), person()]);
    const id = await groupOf(alice, 'cut', [bob]);
    const chat = chatFor(bob);
    const view = chat.open(id);
    await live(chat);
    await waitFor(() => view.store.getSnapshot().status === 'ready', 'the conversation to load');
    cutSocket(bob);
    await waitFor(() => chat.connection.getSnapshot().state === 'offline', 'the status to say offline');
    for (let i = 1; i <= 20; i++) await sendAs(alice, id, `cut ${i}`);
    await waitFor(() => seen(view).length >= 20, '20 messages');
    await live(chat);
    expect(seen(view)).toEqual(await stored(id));
    expect(seen(view).map((m) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => `cut ${i + 1}`));
  });

  it('delivers a send made during an outage exactly once after it, also when an answer was lost', async () => {
    const [alice, bob] = await Promise.all([person(), person()]);
    const id = await groupOf(alice, 'outage', [bob]);
    const chat = chatFor(bob);
    const view = chat.open(id);
    await live(chat);
    await waitFor(() => view.store.getSnapshot().status === 'ready', 'the conversation to load');
    bob.network.outage = 'down';
    cutSocket(bob);
    const offline = await chat.send(id, 'sent while offline');
    await waitFor(
      () => view.store.getSnapshot().messages[0]?.error?.code === 'network_error',
      'a failed attempt',
    );
    expect(view.store.getSnapshot().messages).toMatchObject([
      { status: 'pending', seq: null, client_id: offline.client_id },
    ]);
    bob.network.outage = 'lose-answers'; // the next attempt is stored, but its answer never arrives
    await waitFor(() => (bob.functionCalls.get('send-message') ?? 0) >= 3, 'a retry whose answer is lost');
    bob.network.outage = null;
    await waitFor(() => seen(view).length === 1, 'the send to show as stored');
    await live(chat);
    expect(await stored(id)).toEqual([{ seq: 1, body: 'sent while offline', client_id: offline.client_id }]);
    expect(seen(view)).toEqual(await stored(id));
    expect(chat.outbox.getSnapshot()).toEqual([]);
  });

  it('waits out a 429 (Retry-After) and then sends, once', async () => {
    const [alice, bob] = await Promise.all([person(), person()]);
    const id = await groupOf(alice, 'limits', [bob]);
    const chat = chatFor(bob);
    const view = chat.open(id);
    await live(chat);
    // Bob's send bucket a few tokens in debt (refilled at 2/s): the next send is refused
    // with Retry-After, whatever the speed of the machine.
    await db.query(
      `insert into private.rate_limit_buckets (user_id, action, tokens, refreshed_at)
       values ($1, 'send_message', -5, now())
       on conflict (user_id, action) do update set tokens = -5, refreshed_at = now()`,
      [bob.id],
    );
    const { client_id } = await chat.send(id, 'after the limit');
    const refusal = await waitFor(() => {
      const error = view.store.getSnapshot().messages.find((m) => m.client_id === client_id)?.error;
      return error?.code === 'rate_limited' && error;
    }, 'the 429 to show on the pending send');
    expect(refusal).toMatchObject({ status: 429, details: { action: 'send_message' } });
    expect(refusal.retryAfterMs).toBeGreaterThanOrEqual(1000);
    await waitFor(() => seen(view).some((m) => m.client_id === client_id), 'the send to be stored');
    const rows = (await stored(id)).filter((row) => row.client_id === client_id);
    expect(rows).toHaveLength(1);
    expect(bob.functionCalls.get('send-message')).toBeGreaterThanOrEqual(2);
    expect(seen(view)).toEqual(await stored(id));
  });

  it('loses nothing across token refreshes mid-stream', async () => {
    const [alice, bob] = await Promise.all([person(), person()]);
    const id = await groupOf(alice, 'refresh', [bob]);
    const chat = chatFor(bob);
    const view = chat.open(id);
    await live(chat);
    await waitFor(() => view.store.getSnapshot().status === 'ready', 'the conversation to load');
    const tokens = new Set<string>();
    for (let i = 1; i <= 12; i++) {
      await sendAs(alice, id, `stream ${i}`);
      if (i % 4 === 0) {
        const { data, error } = await bob.supabase.auth.refreshSession();
        expect(error).toBeNull();
        tokens.add(data.session?.access_token ?? '');
      }
    }
    await waitFor(() => seen(view).length === 12, '12 messages');
    expect(tokens.size).toBe(3);
    expect(seen(view)).toEqual(await stored(id));
    await live(chat);
  });

  it('shows a removed member the removal and nothing after it, while the others go on across the rotation without a gap', async () => {
    const [alice, bob, carol] = await Promise.all([person(), person(), person()]);
    const id = await groupOf(alice, 'rotation', [bob, carol]);
    const bobChat = chatFor(bob);
    const carolChat = chatFor(carol);
    const bobView = bobChat.open(id);
    const carolView = carolChat.open(id);
    await Promise.all([live(bobChat), live(carolChat)]);
    for (let i = 1; i <= 3; i++) await sendAs(alice, id, `before ${i}`);
    await waitFor(
      () => seen(carolView).length === 3 && seen(bobView).length === 3,
      'both to hold 3 messages',
    );
    const { error } = await alice.supabase.rpc('remove_conversation_member', {
      conversation_id: id,
      user_id: carol.id,
    });
    expect(error).toBeNull();
    for (let i = 1; i <= 3; i++) await sendAs(alice, id, `after ${i}`);
    await waitFor(() => seen(bobView).length === 6, 'bob to hold 6 messages');
    await waitFor(() => carolView.store.getSnapshot().status === 'removed', 'carol to see the removal');
    expect(carolView.store.getSnapshot().removed).toEqual({ reason: 'removed', removed_by: alice.id });
    expect(seen(carolView).map((m) => m.body)).toEqual(['before 1', 'before 2', 'before 3']);
    expect(carolChat.inbox.getSnapshot().entries.some((e) => e.conversation_id === id)).toBe(false);
    expect(seen(bobView)).toEqual(await stored(id));
    expect(bobView.store.getSnapshot().entry?.topic).toBe(`conversation:${id}:2`);
    expect(
      bobView.store
        .getSnapshot()
        .members.map((m) => m.user_id)
        .sort(),
    ).toEqual([alice.id, bob.id].sort());
    await live(bobChat);
  });

  it('lets two tabs share one outbox: the one holding the lock sends for both, and another takes over when it closes', async () => {
    const [alice, bob] = await Promise.all([person(), person()]);
    const bobAgain = await person(bob);
    const id = await groupOf(alice, 'tabs', [bob]);
    const shared = new StorageArea();
    const locks = inProcessLocks();
    const name = `supachat-test:${bob.id}`;
    const first = chatFor(bob, { storage: localStorageStorage(shared), tabs: sharedTabs(name, locks) });
    await first.ready;
    const second = chatFor(bobAgain, { storage: localStorageStorage(shared), tabs: sharedTabs(name, locks) });
    const firstView = first.open(id);
    const secondView = second.open(id);
    await Promise.all([live(first), live(second)]);
    for (const text of ['tab two 1', 'tab two 2', 'tab two 3']) await second.send(id, text);
    await waitFor(
      () => seen(secondView).length === 3 && seen(firstView).length === 3,
      'both tabs to show 3 sent',
    );
    expect(bob.functionCalls.get('send-message')).toBe(3);
    expect(bobAgain.functionCalls.get('send-message') ?? 0).toBe(0);
    expect(second.outbox.getSnapshot()).toEqual([]);
    first.close();
    await second.send(id, 'after the first tab closed');
    await waitFor(() => seen(secondView).length === 4, 'the second tab to send itself');
    expect(bobAgain.functionCalls.get('send-message')).toBe(1);
    expect(seen(secondView)).toEqual(await stored(id));
  });
});
