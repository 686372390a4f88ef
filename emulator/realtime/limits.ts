// The limits Realtime enforces, with the hosted platform's defaults (the Free
// plan's numbers; every one can be changed through StackOptions.realtime), and
// the window counter of the presence limit.

export interface RealtimeLimits {
  /** Channels one WebSocket may join at once (every plan: 100). */
  maxChannelsPerConnection: number;
  /** Sockets with at least one joined channel (Free: 200). */
  maxConcurrentUsers: number;
  /**
   * Of those, the most one client may hold: a signed-in user (by `sub`), or one address for
   * sockets without a user token (not a platform limit; see users.ts).
   */
  maxConnectionsPerClient: number;
  /** Of those, the most that sockets without a user token may hold together (not a platform limit). */
  maxAnonymousConnections: number;
  /** Client messages (broadcast, presence, other events) per second per connection (Free: 100). */
  maxEventsPerSecond: number;
  /** Largest broadcast or presence payload, in kilobytes of 1000 bytes (Free: 256). */
  maxPayloadKb: number;
  /** Presence calls (track/untrack) one channel may make per window (platform: 5 per 30 s). */
  presenceCallsPerWindow: number;
  presenceWindowMs: number;
  /** Largest WebSocket frame accepted; a bigger one closes the socket with 1009 (platform: 5 MB). */
  maxFrameBytes: number;
  /** A socket that sends nothing (not even a heartbeat) for this long is closed (Phoenix: 60 s). */
  idleTimeoutMs: number;
  /** How often a channel's JWT is re-verified at most (platform: 5 minutes; earlier if it expires). */
  tokenRecheckMs: number;
  /** Bytes waiting for a socket above which it counts as not keeping up… */
  slowConsumerBytes: number;
  /** …and is dropped if it is still above that after this long. */
  slowConsumerGraceMs: number;
  /** Bytes waiting for a socket past which it is dropped at once (the platform caps a socket's memory at 50 MB). */
  maxBufferedBytes: number;
  /** Delay before a failed join is answered (platform: 5 s against retry storms; 0 here). */
  joinErrorBackoffMs: number;
}

export const DEFAULT_LIMITS: RealtimeLimits = {
  maxChannelsPerConnection: 100,
  maxConcurrentUsers: 200,
  maxConnectionsPerClient: 20,
  maxAnonymousConnections: 100,
  maxEventsPerSecond: 100,
  maxPayloadKb: 256,
  presenceCallsPerWindow: 5,
  presenceWindowMs: 30_000,
  maxFrameBytes: 5_000_000,
  idleTimeoutMs: 60_000,
  tokenRecheckMs: 5 * 60_000,
  slowConsumerBytes: 16 * 1024 * 1024,
  slowConsumerGraceMs: 10_000,
  maxBufferedBytes: 50_000_000,
  joinErrorBackoffMs: 0,
};

export function resolveLimits(overrides: Partial<RealtimeLimits> = {}): RealtimeLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides) as [keyof RealtimeLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) throw new Error(`realtime limit ${name} must be a number ≥ 0`);
    limits[name] = value;
  }
  return limits;
}

/** The platform's size check: the payload may be up to max_payload_size_in_kb × 1000 + 500 bytes. */
export const payloadByteLimit = (limits: RealtimeLimits) => limits.maxPayloadKb * 1000 + 500;

/** At most `max` calls per window that starts with the first call (the platform's presence limit). */
export class WindowCounter {
  private count = 0;
  private resetAt = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  take(): boolean {
    const now = performance.now();
    if (this.count === 0 || now > this.resetAt) {
      this.count = 1;
      this.resetAt = now + this.windowMs;
      return true;
    }
    if (this.count >= this.max) return false;
    this.count += 1;
    return true;
  }
}
