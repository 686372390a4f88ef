// Typing, both ways. Sending: at most one `typing: true` per 2 s while keys are
// pressed, `typing: false` on an explicit stop or after 3 s without a key.
// Receiving: a typer is shown until their `false`, or for 6 s after their last
// `true` (a refresh every 2 s keeps them shown; a lost stop does not linger).

import type { Clock } from './clock.ts';

export const TYPING_REFRESH_MS = 2_000;
export const TYPING_IDLE_MS = 3_000;
export const TYPING_EXPIRY_MS = 6_000;

export class TypingSender {
  private active = false;
  private lastSent = -Infinity;
  private cancelIdle: () => void = () => undefined;

  constructor(
    private readonly clock: Clock,
    private readonly send: (typing: boolean) => void,
  ) {}

  /** A key was pressed. */
  keystroke(): void {
    const now = this.clock.now();
    if (!this.active || now - this.lastSent >= TYPING_REFRESH_MS) {
      this.send(true);
      this.lastSent = now;
    }
    this.active = true;
    this.cancelIdle();
    this.cancelIdle = this.clock.setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  /** Sent, cleared or left: says so at once (if typing was announced). */
  stop(): void {
    this.cancelIdle();
    if (!this.active) return;
    this.active = false;
    this.lastSent = -Infinity;
    this.send(false);
  }
}

export class TypingReceiver {
  private readonly expiries = new Map<string, () => void>();

  constructor(
    private readonly clock: Clock,
    private readonly changed: (typers: string[]) => void,
  ) {}

  receive(userId: string, typing: boolean): void {
    this.expiries.get(userId)?.();
    if (typing) {
      this.expiries.set(
        userId,
        this.clock.setTimeout(() => this.clear(userId), TYPING_EXPIRY_MS),
      );
    } else {
      this.expiries.delete(userId);
    }
    this.publish();
  }

  /** Their message arrived, or they left: they are not typing any more. */
  clear(userId: string): void {
    const cancel = this.expiries.get(userId);
    if (!cancel) return;
    cancel();
    this.expiries.delete(userId);
    this.publish();
  }

  reset(): void {
    for (const cancel of this.expiries.values()) cancel();
    this.expiries.clear();
    this.publish();
  }

  private publish(): void {
    this.changed([...this.expiries.keys()].sort());
  }
}
