// A short memory of tokens whose signatures were verified, so that a caller who
// sends many requests with the same access token does not pay for an ECDSA
// verification on each (in Deno, WebCrypto runs it on a worker thread: about a
// quarter of send-message's CPU). It never accepts what jwtVerify would refuse:
// only tokens that verified are kept, their expiry is checked on every use with
// jwtVerify's rule, and an entry is forgotten after `ttlMs` — shorter than the
// 10 minutes for which the key set itself is cached — so a withdrawn key stops
// counting no later than it does without this memory.

import type { JWTPayload } from 'jose';

export class VerifiedTokens {
  private readonly entries = new Map<string, { payload: JWTPayload; at: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly capacity = 1000,
  ) {}

  /** The payload of a token verified less than ttlMs ago and not expired, else undefined. */
  get(token: string, now = Date.now()): JWTPayload | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    const expired = typeof entry.payload.exp === 'number' && entry.payload.exp <= Math.floor(now / 1000);
    if (expired || now - entry.at >= this.ttlMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.payload;
  }

  /** Remembers a token that verified (the oldest entry makes room when full). */
  remember(token: string, payload: JWTPayload, now = Date.now()): void {
    this.entries.delete(token);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, { payload, at: now });
  }

  get size(): number {
    return this.entries.size;
  }
}
