// Supabase Auth's rate limits per client IP address, with GoTrue's buckets:
//   signups    POST /signup with an email         sign_in_sign_ups per 5 min, burst 30
//   user       PUT /user                          sign_in_sign_ups per 5 min, burst 30
//   token      POST /token (password, refresh)    token_refresh per 5 min, burst 30
//   anonymous  POST /signup without credentials   anonymous_users per hour, burst anonymous_users
// Each bucket of an address lives an hour from its first request, then starts
// full again. Past the limit GoTrue answers 429 over_request_rate_limit.

import type { AuthRateLimits } from '../config.ts';
import { TokenBucket } from '../token-bucket.ts';

export type RateLimitedAction = 'signups' | 'user' | 'token' | 'anonymous';

export interface AuthRateLimiter {
  /** Counts a request of `action` from `address`; false once the address is over the limit. */
  take(action: RateLimitedAction, address: string): boolean;
}

const BUCKET_LIFETIME_MS = 60 * 60 * 1000;
const FIVE_MINUTES = 5 * 60;

function bucketShape(limits: AuthRateLimits, action: RateLimitedAction) {
  switch (action) {
    case 'signups':
    case 'user':
      return { capacity: 30, perSecond: limits.sign_in_sign_ups / FIVE_MINUTES };
    case 'token':
      return { capacity: 30, perSecond: limits.token_refresh / FIVE_MINUTES };
    case 'anonymous':
      return { capacity: limits.anonymous_users, perSecond: limits.anonymous_users / 3600 };
  }
}

/** `false` limits nothing, like the Supabase CLI's local Auth (it names no client-address header). */
export function createAuthRateLimiter(limits: AuthRateLimits | false): AuthRateLimiter {
  if (limits === false) return { take: () => true };
  const buckets = new Map<string, { bucket: TokenBucket; expiresAt: number }>();
  return {
    take(action, address) {
      const now = performance.now();
      const key = `${action} ${address}`;
      let entry = buckets.get(key);
      if (!entry || entry.expiresAt <= now) {
        if (buckets.size > 10_000) {
          for (const [old, { expiresAt }] of buckets) if (expiresAt <= now) buckets.delete(old);
        }
        const { capacity, perSecond } = bucketShape(limits, action);
        entry = { bucket: new TokenBucket(capacity, perSecond), expiresAt: now + BUCKET_LIFETIME_MS };
        buckets.set(key, entry);
      }
      return entry.bucket.take();
    },
  };
}
