// The load-generation pieces shared by the benchmarks: servers in processes of
// their own, bounded concurrency, an open-loop schedule, and a recorder of
// deliveries that counts what is missing, duplicated or misrouted.

import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { PROJECT_DIR } from '../emulator/stack.ts';
import { type Summary, summarize } from './lib.ts';

export const now = () => performance.now();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Forks `file` (relative to the project) with tsx; resolves with its `{ready}` IPC message. */
export function forkServer<Ready>(
  file: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(path.join(PROJECT_DIR, file), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${file} exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: { ready?: Ready }) => {
      if (message.ready) {
        child.off('exit', onExit);
        resolve({ child, ready: message.ready });
      }
    });
  });
}

/** Asks a forked server to stop ({cmd: 'stop'}); kills it if it has not exited within 20 s. */
export function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send({ cmd: 'stop' });
  });
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inBatches<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Open loop: calls `fire(i, dueAt)` for i = 0 … total−1 at start + i / rate,
 * whatever became of the calls before (a late tick fires every call that is
 * due at once, each keeping its own due time).
 */
export function openLoop(rate: number, total: number, fire: (index: number, dueAt: number) => void) {
  const interval = 1000 / rate;
  const start = now() + 20;
  return new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const current = now();
      while (next < total && start + next * interval <= current) {
        fire(next, start + next * interval);
        next += 1;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + next * interval - now()));
    };
    setTimeout(tick, Math.max(0, start - now()));
  });
}

export interface Answer {
  status: number;
  at: number;
  body?: string;
}

/** POSTs a JSON body on a keep-alive agent; never rejects (a network error is status −1). */
export function postJson(
  agent: http.Agent,
  url: URL,
  headers: Record<string, string>,
  body: string,
  done: (answer: Answer) => void,
) {
  const request = http.request(url, {
    method: 'POST',
    agent,
    headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  request.on('response', (response) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      text += chunk;
    });
    response.on('end', () => done({ status: response.statusCode ?? 0, at: now(), body: text }));
  });
  request.on('error', (error) => done({ status: -1, at: now(), body: error.message }));
  request.end(body);
}

// ── deliveries ──────────────────────────────────────────────────────────────

interface Message {
  dueAt: number;
  sentAt: number;
  answeredAt: number;
  status: number;
  /** Receipt time per expected receiver (0: not yet). */
  received: Map<number, number>;
}

/** How a receiver got a message: its socket, or a poll. A recording takes one kind. */
export type Via = 'socket' | 'poll';

/** What one load phase sent and who received it, keyed "<tag>-<index>". */
export class Recording {
  readonly messages: Message[] = [];
  expected = 0;
  delivered = 0;
  answered = 0;
  duplicates = 0;
  misrouted = 0;
  failures: string[] = [];

  constructor(
    readonly tag: string,
    readonly via: Via,
  ) {}

  key(index: number) {
    return `${this.tag}-${index}`;
  }

  sent(index: number, dueAt: number, receivers: number[]) {
    const received = new Map<number, number>();
    for (const receiver of receivers) received.set(receiver, 0);
    this.messages[index] = { dueAt, sentAt: now(), answeredAt: 0, status: 0, received };
    this.expected += receivers.length;
  }

  answer(index: number, answer: Answer) {
    const message = this.messages[index] as Message;
    message.answeredAt = answer.at;
    message.status = answer.status;
    this.answered += 1;
    if ((answer.status < 200 || answer.status >= 300) && this.failures.length < 5)
      this.failures.push(`${answer.status} ${answer.body ?? ''}`.slice(0, 300));
  }

  receive(receiver: number, index: number, at: number) {
    const message = this.messages[index];
    const before = message?.received.get(receiver);
    if (before === undefined) this.misrouted += 1;
    else if (before !== 0) this.duplicates += 1;
    else {
      message?.received.set(receiver, at);
      this.delivered += 1;
    }
  }

  /** Waits until everything sent is answered and received, or `drainMs` has passed. */
  async drain(drainMs: number) {
    const deadline = now() + drainMs;
    while ((this.delivered < this.expected || this.answered < this.messages.length) && now() < deadline)
      await sleep(20);
  }

  /** Waits until every send is answered (a backlog has cleared), or `maxMs` has passed. */
  async settle(maxMs: number) {
    const deadline = now() + maxMs;
    while (this.answered < this.messages.length && now() < deadline) await sleep(50);
  }
}

/** Routes receipts to the recording whose tag the key names; other keys are strays. */
export class Router {
  private readonly recordings = new Map<string, Recording>();
  strays = 0;

  open(tag: string, via: Via): Recording {
    const recording = new Recording(tag, via);
    this.recordings.set(tag, recording);
    return recording;
  }

  deliver(via: Via, receiver: number, key: string, at: number) {
    const dash = key.lastIndexOf('-');
    const recording = this.recordings.get(key.slice(0, dash));
    if (!recording) this.strays += 1;
    // A recording counts one way of receiving; the other way's copies are not its business.
    else if (recording.via === via) recording.receive(receiver, Number(key.slice(dash + 1)), at);
  }
}

export interface Outcome {
  messages: number;
  /** Sends per second actually made (first to last send). */
  achievedRate: number;
  failedSends: number;
  failures: string[];
  deliveries: { expected: number; received: number; missing: number; duplicates: number; misrouted: number };
  /** Due time → each receiver's receipt. */
  latency: Summary;
  /** Due time → the last receiver's receipt, per message that reached all. */
  all: Summary;
  /** Due time → the request actually made (the load generator's own lag). */
  lag: Summary;
  /** `latency` and `all` at each whole percentile 1…100 (for the chart). */
  cdf: number[];
  allCdf: number[];
}

/** Whole percentiles 1…100 of ascending `sorted` (nearest rank). */
export function cdfOf(samples: number[]): number[] {
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 0) return [];
  return Array.from(
    { length: 100 },
    (_, i) => sorted[Math.min(sorted.length - 1, Math.ceil(((i + 1) / 100) * sorted.length) - 1)] as number,
  );
}

export function outcome(recording: Recording): Outcome {
  const latency: number[] = [];
  const all: number[] = [];
  const lag: number[] = [];
  let failedSends = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const message of recording.messages) {
    lag.push(message.sentAt - message.dueAt);
    first = Math.min(first, message.sentAt);
    last = Math.max(last, message.sentAt);
    if (message.status < 200 || message.status >= 300) failedSends += 1;
    let latest = 0;
    let complete = true;
    for (const at of message.received.values()) {
      if (at) latency.push(at - message.dueAt);
      else complete = false;
      latest = Math.max(latest, at);
    }
    if (complete) all.push(latest - message.dueAt);
  }
  const total = recording.messages.length;
  return {
    messages: total,
    achievedRate: total > 1 ? ((total - 1) * 1000) / (last - first) : total,
    failedSends,
    failures: recording.failures,
    deliveries: {
      expected: recording.expected,
      received: recording.delivered,
      missing: recording.expected - recording.delivered,
      duplicates: recording.duplicates,
      misrouted: recording.misrouted,
    },
    latency: summarize(latency),
    all: summarize(all),
    lag: summarize(lag),
    cdf: cdfOf(latency),
    allCdf: cdfOf(all),
  };
}
