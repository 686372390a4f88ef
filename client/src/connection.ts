// The one status a screen shows: connecting → catching-up → live → offline,
// the transport messages travel by, and the last error. Computed from the
// channels (the user's own channel stands for the socket), the catch-ups in
// flight, the browser's network state and the open peer-to-peer links.

import type { ChannelContext, ManagedChannel } from './channel.ts';
import type { ChatError } from './errors.ts';
import { createStore, type ReadableStore } from './store.ts';

export type ConnectionState = 'connecting' | 'catching-up' | 'live' | 'offline';
export type TransportKind = 'realtime' | 'webrtc';

export interface ConnectionStatus {
  state: ConnectionState;
  /** `webrtc` while at least one open conversation has a peer-to-peer link. */
  transport: TransportKind;
  /** The last thing that went wrong (a refused join, an expired session, …); cleared on going live. */
  error: ChatError | null;
}

export class Connection {
  private readonly status = createStore<ConnectionStatus>({
    state: 'connecting',
    transport: 'realtime',
    error: null,
  });
  readonly store: ReadableStore<ConnectionStatus> = this.status;
  private readonly channels = new Set<ManagedChannel>();
  private primary: ManagedChannel | undefined;
  private catchUps = 0;
  private networkDown = false;
  private peerLinks = 0;
  private lastError: ChatError | null = null;
  private readonly wentLive = new Set<() => void>();

  constructor(private readonly base: Omit<ChannelContext, 'report'>) {}

  /** The context channels are created with: they report here. */
  get context(): ChannelContext {
    return {
      ...this.base,
      report: (channel, error) => {
        if (channel.state === 'closed') this.channels.delete(channel);
        else this.channels.add(channel);
        if (error) this.lastError = error;
        this.recompute();
      },
    };
  }

  setPrimary(channel: ManagedChannel): void {
    this.primary = channel;
    this.recompute();
  }

  get allChannels(): ManagedChannel[] {
    return [...this.channels];
  }

  /** Counts `work` as catching up while it runs. */
  async catchingUp<T>(work: () => Promise<T>): Promise<T> {
    this.catchUps += 1;
    this.recompute();
    try {
      return await work();
    } finally {
      this.catchUps -= 1;
      this.recompute();
    }
  }

  reportError(error: ChatError): void {
    this.lastError = error;
    this.recompute();
  }

  setNetworkDown(down: boolean): void {
    this.networkDown = down;
    this.recompute();
  }

  setPeerLinks(count: number): void {
    this.peerLinks = count;
    this.recompute();
  }

  /** Called on every transition into `live`. */
  onLive(listener: () => void): () => void {
    this.wentLive.add(listener);
    return () => this.wentLive.delete(listener);
  }

  private compute(): ConnectionState {
    const primary = this.primary;
    if (this.networkDown) return 'offline';
    if (!primary || (primary.state === 'joining' && !primary.joinedOnce)) return 'connecting';
    if (primary.state !== 'joined') return 'offline';
    const settling = [...this.channels].some((c) => c.state === 'joining' || c.state === 'waiting');
    return settling || this.catchUps > 0 ? 'catching-up' : 'live';
  }

  private recompute(): void {
    const previous = this.status.getSnapshot();
    const state = this.compute();
    if (state === 'live' && previous.state !== 'live') this.lastError = null;
    const transport: TransportKind = this.peerLinks > 0 ? 'webrtc' : 'realtime';
    const error = this.lastError;
    if (previous.state === state && previous.transport === transport && previous.error === error) return;
    this.status.set({ state, transport, error });
    if (state === 'live' && previous.state !== 'live') for (const listener of this.wentLive) listener();
  }
}
