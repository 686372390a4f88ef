// One private channel kept joined: authorize (fresh token) before every join,
// join again after a drop with backoff, and stop at a refusal, which the owner
// handles (a conversation asks whether it is still a member).

import { backoffDelay } from './backoff.ts';
import type { Clock } from './clock.ts';
import { ChatError } from './errors.ts';
import type { ChannelStatus, ChatTransport, TransportChannel } from './transport.ts';

export type LinkState = 'joining' | 'joined' | 'waiting' | 'refused' | 'closed';

export interface ChannelContext {
  transport: ChatTransport;
  clock: Clock;
  random: () => number;
  /** Told of every state change, and of every error worth showing. */
  report(channel: ManagedChannel, error?: ChatError): void;
}

export interface ManagedChannelOptions {
  topic: string;
  presenceKey?: string;
  onEvent(event: string, payload: unknown): void;
  onPresence?(keys: string[]): void;
  /** Joined (first time or again): fetch what may have been missed. */
  onJoined(): void;
  onRefused(error: ChatError): void;
}

export class ManagedChannel {
  state: LinkState = 'joining';
  /** Whether it has been joined at least once. */
  joinedOnce = false;
  private channel: TransportChannel | null = null;
  private attempt = 0;
  private cancelRetry: () => void = () => undefined;

  constructor(
    private readonly context: ChannelContext,
    readonly options: ManagedChannelOptions,
  ) {
    void this.connect();
  }

  get topic(): string {
    return this.options.topic;
  }

  broadcast(event: string, payload: Record<string, unknown>): void {
    if (this.state === 'joined') this.channel?.broadcast(event, payload);
  }

  track(payload: Record<string, unknown>): void {
    if (this.state === 'joined') this.channel?.track(payload);
  }

  /** Join now if waiting to join again (the network or the session came back). */
  retryNow(): void {
    if (this.state !== 'waiting') return;
    this.cancelRetry();
    this.attempt = 0;
    void this.connect();
  }

  /** After a refusal its owner takes for a passing one: join again after a backoff. */
  rejoinLater(error: ChatError): void {
    if (this.state === 'refused') this.retryLater(error);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.cancelRetry();
    this.channel?.leave();
    this.channel = null;
    this.setState('closed');
  }

  private async connect(): Promise<void> {
    this.setState('joining');
    try {
      await this.context.transport.authorize();
    } catch (caught) {
      if (this.state !== 'closed') this.retryLater(ChatError.from(caught));
      return;
    }
    if (this.state !== 'closed') {
      this.channel = this.context.transport.join(
        this.options.topic,
        {
          onStatus: (status) => this.onStatus(status),
          onEvent: (event, payload) => this.options.onEvent(event, payload),
          onPresence: this.options.onPresence && ((keys) => this.options.onPresence?.(keys)),
        },
        { presenceKey: this.options.presenceKey },
      );
    }
  }

  private onStatus(status: ChannelStatus): void {
    if (this.state === 'closed') return;
    if (status.state === 'joined') {
      this.attempt = 0;
      this.joinedOnce = true;
      this.state = 'joined';
      // The catch-up starts before the status is reported, so it never reads "live" before catching up.
      this.options.onJoined();
      this.setState('joined');
      return;
    }
    this.channel = null;
    if (status.state === 'refused') {
      this.setState('refused', status.error);
      this.options.onRefused(status.error);
      return;
    }
    this.retryLater(status.error);
  }

  private retryLater(error: ChatError): void {
    const delay = backoffDelay(this.attempt++, { random: this.context.random });
    this.cancelRetry = this.context.clock.setTimeout(() => void this.connect(), delay);
    this.setState('waiting', error);
  }

  private setState(state: LinkState, error?: ChatError): void {
    this.state = state;
    this.context.report(this, error);
  }
}
