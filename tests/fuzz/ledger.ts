// What the fuzzer did and what the stack did about it: requests by service
// and status, frames by kind, sockets and how they closed, and the database
// oracle — after every refused request the snapshot must equal the one taken
// after the last accepted request (only an accepted request may change data).

import { changedTables, type Snapshot, snapshotter } from './snapshot.ts';
import type { World } from './world.ts';

const increment = (counts: Map<string, number>, key: string, by = 1) =>
  counts.set(key, (counts.get(key) ?? 0) + by);

export class Ledger {
  readonly requests = new Map<string, number>();
  readonly statuses = new Map<string, number>();
  /** Answers by service, status and error code: how deep the fuzzer got. */
  readonly answers = new Map<string, number>();
  readonly frames = new Map<string, number>();
  readonly closes = new Map<string, number>();
  /** Join replies: ok, or the error's name (Unauthorized, InvalidJWTToken…). */
  readonly joins = new Map<string, number>();
  /** Upgrade requests: accepted, or refused with which status. */
  readonly upgrades = new Map<string, number>();
  sockets = 0;
  /** Inputs refused by a chat function and then sent to its RPC, to compare the answers. */
  twins = 0;
  accepted = 0;
  compared = 0;
  private findingsSeen = 0;

  private constructor(
    private readonly world: World,
    readonly initial: Snapshot,
    private baseline: Snapshot,
    private readonly take: () => Promise<Snapshot>,
    readonly tables: string[],
  ) {}

  static async open(world: World): Promise<Ledger> {
    const { tables, take } = await snapshotter(world.admin);
    const initial = await take();
    return new Ledger(world, initial, initial, take, tables);
  }

  request(service: string, status: number, code?: string): void {
    increment(this.requests, service);
    increment(this.statuses, `${Math.floor(status / 100)}xx`);
    increment(this.answers, `${service} ${status}${code ? ` ${code}` : ''}`);
  }

  frame(kind: string, count = 1): void {
    increment(this.frames, kind, count);
  }

  joinAnswered(payload: unknown): void {
    const { status, response } = payload as { status: string; response: { reason?: unknown } };
    const reason = typeof response?.reason === 'string' ? response.reason.split(':')[0] : undefined;
    increment(this.joins, status === 'ok' ? 'ok' : (reason ?? 'error'));
  }

  upgrade(outcome: string): void {
    increment(this.upgrades, outcome);
  }

  socketClosed(how: string): void {
    increment(this.closes, how);
  }

  /**
   * After an answer: an accepted one (2xx) may have changed the database and becomes the new
   * baseline; for any other, the tables that changed (there must be none).
   */
  async databaseChanges(status: number): Promise<string[]> {
    const now = await this.take();
    if (status >= 200 && status < 300) {
      this.accepted += 1;
      this.baseline = now;
      return [];
    }
    this.compared += 1;
    return changedTables(this.baseline, now);
  }

  /** The tables that changed since the last accepted request (for the end: there must be none). */
  async changedSinceBaseline(): Promise<string[]> {
    return changedTables(this.baseline, await this.take());
  }

  /** Error-level log lines since the last call. */
  newFindings(): string[] {
    const all = this.world.findings();
    const fresh = all.slice(this.findingsSeen);
    this.findingsSeen = all.length;
    return fresh;
  }

  /** Every kind of answer (service, status, code) with its count: what the fuzzer reached. */
  answerTable(): string {
    return [...this.answers]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([answer, n]) => `${answer}: ${n}`)
      .join('\n');
  }

  summary(): string {
    const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0);
    const list = (counts: Map<string, number>) =>
      [...counts]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, n]) => `${key} ${n}`)
        .join(', ');
    return [
      `requests: ${total(this.requests)} (${list(this.requests)}; by status ${list(this.statuses)}; ${this.answers.size} kinds of answer)`,
      `accepted requests: ${this.accepted}; refused requests checked against the database: ${this.compared} (${this.tables.length} tables)`,
      `inputs a chat function refused, answered alike by its RPC: ${this.twins}`,
      `frames: ${total(this.frames)} (${list(this.frames)}) over ${this.sockets} sockets`,
      `joins answered: ${list(this.joins)}`,
      `upgrades: ${list(this.upgrades)}`,
      `sockets closed: ${list(this.closes)}`,
    ].join('\n');
  }
}
