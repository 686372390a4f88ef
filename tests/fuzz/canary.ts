// A well-behaved pair of supabase-js clients in a direct conversation of their
// own, which the fuzzer knows nothing of. While the fuzzer runs, one keeps
// sending numbered `typing` broadcasts (with ack) on the conversation's live
// topic and the other records them; afterwards the first sends a message
// through the send-message function and the second must hear message.created.
// Every broadcast acknowledged must have arrived, once and in order.

import type { RealtimeChannel } from '@supabase/supabase-js';
import type { TestUser } from '../../emulator/testing.ts';
import { ANSWER_BOUND_MS } from './options.ts';
import type { Conversation, World } from './world.ts';

const SEND_EVERY_MS = 200;

function subscribed(channel: RealtimeChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.subscribe((status, error) => {
      if (status === 'SUBSCRIBED') resolve();
      else if (status !== 'CLOSED') reject(new Error(`the canary's channel is ${status}: ${error?.message}`));
    }, ANSWER_BOUND_MS);
  });
}

async function until(done: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < ANSWER_BOUND_MS; waited += 20) {
    if (done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return done();
}

export class Canary {
  /** The numbers acknowledged by the server, and what other sends got instead. */
  private readonly acknowledged: number[] = [];
  private readonly refused: string[] = [];
  private readonly heard: number[] = [];
  private readonly messages: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending = new Set<Promise<void>>();
  private next = 1;

  private constructor(
    private readonly sender: TestUser,
    private readonly receiver: TestUser,
    private readonly sending: RealtimeChannel,
    private readonly conversation: Conversation,
  ) {}

  static async start(world: World): Promise<Canary> {
    const [sender, receiver] = await Promise.all([world.stack.createUser(), world.stack.createUser()]);
    const { data, error } = await sender.client.rpc('get_or_create_direct_conversation', {
      other_user_id: receiver.id,
    });
    if (error) throw new Error(`the canary's conversation: ${error.message}`);
    const conversation = data as Conversation;
    const sending = sender.client.channel(conversation.live_topic, {
      config: { private: true, broadcast: { ack: true } },
    });
    const live = receiver.client.channel(conversation.live_topic, { config: { private: true } });
    const events = receiver.client.channel(conversation.topic, { config: { private: true } });
    const canary = new Canary(sender, receiver, sending, conversation);
    live.on('broadcast', { event: 'typing' }, ({ payload }) => canary.heard.push(payload.n as number));
    events.on('broadcast', { event: 'message.created' }, ({ payload }) =>
      canary.messages.push((payload as { record: { client_id: string } }).record.client_id),
    );
    await Promise.all([subscribed(sending), subscribed(live), subscribed(events)]);
    return canary;
  }

  /** Starts sending in the background. */
  begin(): void {
    this.timer = setInterval(() => {
      const n = this.next++;
      const sent = this.sending
        .send(
          { type: 'broadcast', event: 'typing', payload: { user_id: this.sender.id, typing: true, n } },
          { timeout: ANSWER_BOUND_MS },
        )
        .then((status) => {
          if (status === 'ok') this.acknowledged.push(n);
          else this.refused.push(`${n}: ${status}`);
        });
      this.pending.add(sent);
      void sent.finally(() => this.pending.delete(sent));
    }, SEND_EVERY_MS);
  }

  /** Stops sending and waits for the answers to what was sent. */
  async end(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
  }

  /** Leaves the channels, so that nothing tries to reconnect once the stack is gone. */
  async close(): Promise<void> {
    await this.end();
    await Promise.all([this.sender.client.removeAllChannels(), this.receiver.client.removeAllChannels()]);
  }

  get sent(): number {
    return this.next - 1;
  }

  /** Everything wrong with what the receiver heard (empty: every acknowledged broadcast, once, in order). */
  async problems(): Promise<string[]> {
    const problems = this.refused.map((send) => `broadcast ${send}`);
    if (this.sent === 0) problems.push('the canary sent nothing');
    await until(() => this.heard.length >= this.acknowledged.length);
    const heard = new Set(this.heard);
    const missing = this.acknowledged.filter((n) => !heard.has(n));
    if (missing.length > 0) problems.push(`acknowledged but never heard: ${missing.join(', ')}`);
    if (heard.size !== this.heard.length) problems.push('some broadcasts were heard twice');
    if (this.heard.some((n, i) => i > 0 && n < (this.heard[i - 1] as number)))
      problems.push('broadcasts arrived out of order');
    return problems;
  }

  /** Sends a message through the send-message function; whether the receiver heard message.created. */
  async messageGetsThrough(): Promise<string[]> {
    const clientId = `canary-${this.sent}`;
    const { error } = await this.sender.client.functions.invoke('send-message', {
      body: { conversation_id: this.conversation.id, client_id: clientId, body: 'still here' },
    });
    if (error) return [`send-message failed: ${error.message}`];
    return (await until(() => this.messages.includes(clientId))) ? [] : ['message.created never arrived'];
  }
}
