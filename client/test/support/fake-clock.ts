// A clock that moves only when told: timers fire in order of their due time
// as `advance` passes it, with pending promise work settled between timers.

import type { Clock } from '../../src/clock.ts';

interface Timer {
  due: number;
  order: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private order = 0;
  private timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): () => void {
    const timer = { due: this.time + Math.max(0, ms), order: this.order++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((other) => other !== timer);
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due (and settling after each). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      const next = this.timers
        .filter((timer) => timer.due <= end)
        .sort((a, b) => a.due - b.due || a.order - b.order)[0];
      if (!next) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.time = Math.max(this.time, next.due);
      next.callback();
      await settle();
    }
    this.time = end;
    await settle();
  }

  /** Jumps forward without firing anything (a machine asleep), then lets due timers fire. */
  async sleep(ms: number): Promise<void> {
    this.time += ms;
    await this.advance(0);
  }
}

/** Lets every pending promise chain and I/O callback run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
