// Exponential backoff with jitter: 0.5 s, 1 s, 2 s, … capped, each scaled by a
// random factor in [0.5, 1) so that many clients do not come back in step.

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 500, maxMs = 30_000, random = Math.random } = options;
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(raw * (0.5 + random() / 2));
}
