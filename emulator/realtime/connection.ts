// One WebSocket: frames in, frames out. Decodes frames with the socket's
// serializer, answers heartbeats, routes phx_join to a new channel and
// everything else to the channel of its topic (one topic's messages in order,
// different topics independently), and enforces the per-socket limits. A frame
// that is not a message closes the socket (1007), as a crash of the Phoenix
// socket process would; a flood closes it (1008); a socket that stops reading
// is dropped before its backlog can hurt anyone else.

import WebSocket, { type RawData } from 'ws';
import { TokenBucket } from '../token-bucket.ts';
import { type Channel, type ChannelHost, joinChannel } from './channel.ts';
import type { RealtimeContext } from './context.ts';
import { decodeFrame, encodeReply, type InboundMessage, type Vsn } from './protocol.ts';

export interface ConnectionInfo {
  vsn: Vsn;
  apiKey: string;
  /** The client's address (the share of sockets without a user token is counted by it). */
  address: string;
  /** x-* request headers of the upgrade, for request.headers in policies. */
  headers: Record<string, string>;
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

export class Connection implements ChannelHost {
  readonly vsn: Vsn;
  readonly apiKey: string;
  readonly address: string;
  readonly headers: Record<string, string>;
  private readonly channels = new Map<string, Channel>();
  private readonly joining = new Set<string>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Client messages per second (the platform's events limit), per socket here. */
  private readonly events: TokenBucket;
  /** Every frame counts here; far past the events limit the socket is cut off. */
  private readonly frames: TokenBucket;
  private readonly idleTimer: NodeJS.Timeout;
  private stallTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly context: RealtimeContext,
    private readonly ws: WebSocket,
    info: ConnectionInfo,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    this.vsn = info.vsn;
    this.apiKey = info.apiKey;
    this.address = info.address;
    this.headers = info.headers;
    const { limits } = context;
    this.events = new TokenBucket(limits.maxEventsPerSecond, limits.maxEventsPerSecond);
    const frameRate = Math.max(1000, limits.maxEventsPerSecond * 20);
    this.frames = new TokenBucket(frameRate, frameRate);
    this.idleTimer = setTimeout(() => this.close(1000, 'idle timeout'), limits.idleTimeoutMs);
    this.idleTimer.unref();

    ws.on('message', (data, isBinary) => this.receive(toBuffer(data), isBinary));
    ws.on('close', () => this.cleanUp());
    // ws closes the socket itself after a protocol error (e.g. 1009 for a frame too big).
    ws.on('error', (error) => context.log.warn(`closing a realtime socket: ${error.message}`));
  }

  // ── ChannelHost ────────────────────────────────────────────────────────────

  send(data: string | Buffer): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(data);
    this.watchBacklog();
  }

  /**
   * A client that does not read must not make the server hold its messages forever: past
   * slowConsumerBytes waiting it gets slowConsumerGraceMs to catch up, past maxBufferedBytes none.
   */
  private watchBacklog(): void {
    const { limits } = this.context;
    const waiting = this.ws.bufferedAmount;
    if (waiting > limits.maxBufferedBytes) {
      this.dropSlowConsumer(waiting);
      return;
    }
    if (waiting > limits.slowConsumerBytes && !this.stallTimer) {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = undefined;
        if (this.ws.bufferedAmount > limits.slowConsumerBytes) this.dropSlowConsumer(this.ws.bufferedAmount);
      }, limits.slowConsumerGraceMs);
      this.stallTimer.unref();
    }
  }

  private dropSlowConsumer(waiting: number): void {
    if (this.closed) return;
    this.context.log.warn(`dropping a realtime socket that does not read (${waiting} bytes waiting for it)`);
    this.ws.terminate();
    this.cleanUp();
  }

  channelCount(): number {
    return this.channels.size + this.joining.size;
  }

  isOpen(): boolean {
    return !this.closed;
  }

  hasJoinedChannels(): boolean {
    return this.channels.size > 0;
  }

  attach(channel: Channel): void {
    this.channels.set(channel.topic, channel);
  }

  detach(channel: Channel): void {
    if (this.channels.get(channel.topic) === channel) this.channels.delete(channel.topic);
  }

  enqueue(topic: string, work: () => Promise<void>): void {
    const previous = this.queues.get(topic) ?? Promise.resolve();
    const next = previous
      .then(() => (this.closed ? undefined : work()))
      .catch((error: Error) =>
        this.context.log.error(`handling a realtime message on ${topic} failed: ${error.stack ?? error}`),
      );
    this.queues.set(topic, next);
    void next.finally(() => {
      if (this.queues.get(topic) === next) this.queues.delete(topic);
    });
  }

  // ── frames ─────────────────────────────────────────────────────────────────

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    this.idleTimer.refresh();
    if (!this.frames.take()) {
      this.context.log.warn('closing a realtime socket that floods the server with frames');
      this.close(1008, 'too many messages');
      return;
    }
    const decoded = decodeFrame(this.vsn, data, isBinary);
    if (!decoded.ok) {
      this.context.log.warn(`closing a realtime socket that sent a malformed frame: ${decoded.reason}`);
      this.close(1007, 'malformed message');
      return;
    }
    const message = decoded.message;
    if (message.topic === 'phoenix') {
      if (message.event === 'heartbeat') {
        this.send(encodeReply(this.vsn, { joinRef: null, ref: message.ref, topic: 'phoenix' }, 'ok', {}));
      } else {
        this.unmatched(message);
      }
      return;
    }
    this.enqueue(message.topic, () => this.route(message));
  }

  private unmatched(message: InboundMessage): void {
    this.send(
      encodeReply(this.vsn, { joinRef: null, ref: message.ref, topic: message.topic }, 'error', {
        reason: 'unmatched topic',
      }),
    );
  }

  private async route(message: InboundMessage): Promise<void> {
    if (message.event === 'phx_join') {
      if (!message.topic.startsWith('realtime:')) return this.unmatched(message);
      // A second join of a joined topic replaces the first channel, as in Phoenix.
      this.channels.get(message.topic)?.close(true);
      this.joining.add(message.topic);
      try {
        await joinChannel(this.context, this, message);
      } finally {
        this.joining.delete(message.topic);
      }
      return;
    }
    const channel = this.channels.get(message.topic);
    if (!channel) {
      if (message.event === 'phx_leave') {
        this.send(encodeReply(this.vsn, message, 'ok', {}));
        return;
      }
      return this.unmatched(message);
    }
    await channel.handle(message, () => this.events.take());
  }

  // ── the end ────────────────────────────────────────────────────────────────

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    // Do not wait for the client's close frame to let go of the channels.
    this.cleanUp();
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private cleanUp(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.stallTimer);
    for (const channel of this.channels.values()) channel.close(false);
    this.channels.clear();
    this.context.users.release(this);
    this.onClosed(this);
  }
}
