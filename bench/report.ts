// What `npm run bench` records, and everything rendered from it: the table on
// screen, a Markdown block for the README, the SVG chart. Rendering reads only
// the results JSON, so `npm run bench -- --report` redraws them from any run.

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { PROJECT_DIR } from '../emulator/stack.ts';
import { latencyChart, type Panel, type Series } from './chart.ts';
import { ms, type Summary, table } from './lib.ts';
import type { Outcome } from './load.ts';

export type TargetName = 'ours' | 'relay' | 'floor' | 'polling';

export const TARGETS: Record<TargetName, { label: string; color: string; what: string }> = {
  ours: {
    label: 'ours',
    color: '#1f77b4',
    what: 'send-message: gateway → Deno → PostgreSQL (RLS, triggers) → replication → Realtime → socket',
  },
  relay: {
    label: 'relay',
    color: '#ff7f0e',
    what: 'hand-written ws relay: socket → INSERT → broadcast to the room (bench/baselines/ws-relay.ts)',
  },
  floor: {
    label: 'floor',
    color: '#2ca02c',
    what: 'raw INSERT into realtime.messages → replication → Realtime → socket (no send path at all)',
  },
  polling: {
    label: '3 s polling',
    color: '#d62728',
    what: 'send-message, then every client calls get_messages every 3 s (what teams migrate away from)',
  },
};

export interface Phase extends Outcome {
  target: TargetName;
  scenario: 'rate' | 'group' | 'find-max';
  rate: number;
  seconds: number;
  /** Clients online (sockets or pollers). */
  clients: number;
  /** CPU µs per message by process group, and in all. */
  cpuUsPerMessage: Record<string, number>;
  cpuUsPerMessageTotal: number;
  /** The machine's 1-minute load average as the phase ended (other work on a shared machine shows here). */
  loadavg?: number;
}

export interface FindMax {
  target: TargetName;
  /** The highest rate tried that met the bar (0: none). */
  max: number;
  /** The lowest rate tried that did not (undefined: none failed up to the limit). */
  failedAt?: number;
  steps: { rate: number; ok: boolean; p99: number; missing: number; failed: number; achieved: number }[];
}

export interface CatchUp {
  messages: number;
  /** Writing them (send_message, 500 to a transaction) while the client was offline. */
  sendSeconds: number;
  /** Network back → reconnected: the first answer over HTTP or the socket's rejoin, whichever came first. */
  networkBackToReconnectMs: number;
  /** Network back → the library's channel joined again (realtime-js's reconnect backoff). */
  networkBackToRejoinMs?: number;
  /** Reconnected → the library's store holds every one of them. */
  reconnectToAllHeldMs: number;
  /** The same catch-up as bare sync_conversation pages (1,000 rows each), for comparison. */
  rpcMs: number;
  rpcPages: number;
}

/** What receiving costs the database while nothing is sent: sockets only, or pollers. */
export interface ReceiveCost {
  seconds: number;
  clients: number;
  /** Database transactions per second per client (pg_stat_database). */
  ours: number;
  polling: number;
  /** Polling: get_messages calls per second per client. */
  pollingRequests: number;
}

export interface Provenance {
  at: string;
  commit: string;
  dirty: boolean;
  command: string;
  machine: { cpu: string; cpus: number; memoryGiB: number; node: string; os: string };
  loadavgBefore: number[];
  loadavgAfter: number[];
  note: string;
}

export interface SuiteResults {
  provenance: Provenance;
  options: Record<string, unknown>;
  phases: Phase[];
  findMax: FindMax[];
  catchUp?: CatchUp;
  receiveCost?: ReceiveCost;
  strays: number;
}

const quoted = (arg: string) => (/^[\w,./=-]+$/.test(arg) ? arg : JSON.stringify(arg));

export function provenance(note: string): Omit<Provenance, 'loadavgAfter'> {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: PROJECT_DIR, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    at: new Date().toISOString(),
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).map(quoted).join(' ')}` : ''}`,
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
    },
    loadavgBefore: os.loadavg(),
    note,
  };
}

// ── ratios ──────────────────────────────────────────────────────────────────

const find = (results: SuiteResults, target: TargetName, scenario: Phase['scenario'], rate?: number) =>
  results.phases.find(
    (phase) =>
      phase.target === target && phase.scenario === scenario && (rate === undefined || phase.rate === rate),
  );

const times = (value: number) =>
  Number.isFinite(value) ? `${value.toFixed(value < 1 ? 2 : value < 10 ? 1 : 0)}×` : '—';

/** The ratios the issue asks for, as lines of text. */
export function ratios(results: SuiteResults): string[] {
  const lines: string[] = [];
  const rates = [
    ...new Set(results.phases.filter((p) => p.scenario === 'rate' && p.target === 'ours').map((p) => p.rate)),
  ];
  for (const rate of rates) {
    const ours = find(results, 'ours', 'rate', rate) as Phase;
    const parts: string[] = [];
    for (const other of ['relay', 'floor'] as const) {
      const base = find(results, other, 'rate', rate);
      if (base)
        parts.push(
          `ours ÷ ${other} p50 ${times(ours.latency.p50 / base.latency.p50)}, p99 ${times(ours.latency.p99 / base.latency.p99)}`,
        );
    }
    const polling = find(results, 'polling', 'rate', rate);
    if (polling) {
      parts.push(
        `polling ÷ ours p50 ${times(polling.latency.p50 / ours.latency.p50)}, p99 ${times(polling.latency.p99 / ours.latency.p99)}`,
      );
    }
    if (parts.length > 0) lines.push(`at ${rate} msg/s: ${parts.join('; ')}`);
  }
  const cost = results.receiveCost;
  if (cost)
    lines.push(
      `receiving with nothing sent, ${cost.clients} clients for ${cost.seconds} s, database transactions/s per client: ` +
        `polling ${cost.polling.toFixed(3)} (${cost.pollingRequests.toFixed(3)} get_messages calls/s), on sockets ` +
        `${cost.ours.toFixed(3)} (all the database did, divided by the clients; the emulator's pg_cron / pg_net ` +
        'worker alone asks it something every second)' +
        (cost.ours > 0 ? `: polling ÷ ours ${times(cost.polling / cost.ours)}` : ''),
    );
  const [groupOurs, groupRelay] = [find(results, 'ours', 'group'), find(results, 'relay', 'group')];
  if (groupOurs && groupRelay)
    lines.push(
      `group fan-out (all ${groupOurs.clients} have it): ours ÷ relay p50 ${times(groupOurs.all.p50 / groupRelay.all.p50)}, ` +
        `p99 ${times(groupOurs.all.p99 / groupRelay.all.p99)}`,
    );
  const maxOf = (target: TargetName) => results.findMax.find((f) => f.target === target)?.max;
  const [maxOurs, maxRelay, maxFloor] = [maxOf('ours'), maxOf('relay'), maxOf('floor')];
  if (maxOurs === 0)
    lines.push('highest rate with p99 ≤ 50 ms and nothing dropped: ours met that bar at no rate tried');
  else if (maxOurs !== undefined && maxRelay)
    lines.push(
      `highest rate with p99 ≤ 50 ms and nothing dropped: ours ÷ relay ${times(maxOurs / maxRelay)}` +
        (maxFloor ? `, ours ÷ floor ${times(maxOurs / maxFloor)}` : ''),
    );
  return lines;
}

// ── tables ──────────────────────────────────────────────────────────────────

const HEADERS = [
  'scenario',
  'target',
  'msg/s',
  'clients',
  'messages',
  'missing',
  'dup',
  'failed',
  'p50',
  'p95',
  'p99',
  'max',
  'CPU µs/msg',
  'load',
];

function phaseRow(phase: Phase): string[] {
  // Group fan-out: the time until every member has the message; elsewhere each receipt.
  const latency: Summary = phase.scenario === 'group' ? phase.all : phase.latency;
  return [
    phase.scenario === 'group' ? `group of ${phase.clients}, until all have it` : 'send → each receiver',
    TARGETS[phase.target].label,
    String(phase.rate),
    String(phase.clients),
    String(phase.messages),
    String(phase.deliveries.missing),
    String(phase.deliveries.duplicates + phase.deliveries.misrouted),
    String(phase.failedSends),
    ms(latency.p50),
    ms(latency.p95),
    ms(latency.p99),
    ms(latency.max),
    String(phase.cpuUsPerMessageTotal),
    phase.loadavg === undefined ? '—' : phase.loadavg.toFixed(1),
  ];
}

const ORDER: TargetName[] = ['ours', 'relay', 'floor', 'polling'];

/** Rates first, then the group; by rate; ours, relay, floor, polling. */
const mainPhases = (results: SuiteResults) =>
  results.phases
    .filter((phase) => phase.scenario !== 'find-max')
    .sort(
      (a, b) =>
        (a.scenario === 'group' ? 1 : 0) - (b.scenario === 'group' ? 1 : 0) ||
        a.rate - b.rate ||
        ORDER.indexOf(a.target) - ORDER.indexOf(b.target),
    );

function findMaxRows(results: SuiteResults): string[][] {
  return results.findMax.map((f) => [
    TARGETS[f.target].label,
    f.max ? String(f.max) : 'none',
    f.failedAt === undefined ? '—' : String(f.failedAt),
    f.steps.map((step) => `${step.rate}${step.ok ? '✓' : '✗'}`).join(' '),
  ]);
}
const FIND_MAX_HEADERS = [
  'target',
  'max msg/s',
  'missed at',
  'steps (✓ p99 ≤ 50 ms and nothing dropped; a miss is tried twice)',
];

function catchUpLine(catchUp: CatchUp): string {
  const rejoin = catchUp.networkBackToRejoinMs;
  return (
    `catch-up: ${catchUp.messages} messages arrived while a client was offline (written in ${catchUp.sendSeconds.toFixed(1)} s); ` +
    `from reconnect (first answer after the network came back, ${ms(catchUp.networkBackToReconnectMs)} after it) ` +
    `the client library held all of them after ${ms(catchUp.reconnectToAllHeldMs)}` +
    (rejoin === undefined
      ? ''
      : `; its socket rejoined ${ms(rejoin)} after the network came back (realtime-js's backoff)`) +
    `; bare sync_conversation: ${catchUp.rpcPages} pages in ${ms(catchUp.rpcMs)}`
  );
}

function provenanceLine(p: Provenance): string {
  return (
    `${p.at.slice(0, 16).replace('T', ' ')} UTC, commit ${p.commit}${p.dirty ? ' (uncommitted changes)' : ''}; ` +
    `${p.machine.cpus} × ${p.machine.cpu}, ${p.machine.memoryGiB} GiB, Node ${p.machine.node}, ${p.machine.os}; ` +
    `load average ${p.loadavgBefore.map((v) => v.toFixed(1)).join('/')} before, ` +
    `${p.loadavgAfter.map((v) => v.toFixed(1)).join('/')} after` +
    (p.note ? `; ${p.note}` : '')
  );
}

/** The report on screen. */
export function textReport(results: SuiteResults): string {
  const parts = [table(HEADERS, mainPhases(results).map(phaseRow)), '', ...ratios(results)];
  if (results.catchUp) parts.push(catchUpLine(results.catchUp));
  if (results.findMax.length > 0) parts.push('', table(FIND_MAX_HEADERS, findMaxRows(results)));
  if (results.strays > 0) parts.push(`${results.strays} receipts of messages no phase sent (strays)`);
  parts.push('', provenanceLine(results.provenance));
  return parts.join('\n');
}

function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map((_, i) => (i < 2 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** The README block (between the bench markers), pointing at the chart at `chartPath`. */
export function markdownReport(results: SuiteResults, chartPath: string): string {
  const parts = [
    `Measured ${provenanceLine(results.provenance)}; \`${results.provenance.command}\`.`,
    '',
    markdownTable(HEADERS, mainPhases(results).map(phaseRow)),
    '',
    ...ratios(results).map((line) => `- ${line}`),
  ];
  if (results.catchUp) parts.push(`- ${catchUpLine(results.catchUp)}`);
  if (results.findMax.length > 0) parts.push('', markdownTable(FIND_MAX_HEADERS, findMaxRows(results)));
  parts.push('', `![Latency distributions](${chartPath})`);
  return parts.join('\n');
}

/** The SVG: per rate, each receipt's latency for every target; then the group's time until all have it. */
export function chart(results: SuiteResults): string {
  const series = (phase: Phase | undefined, cdf: (phase: Phase) => number[]): Series[] =>
    phase
      ? [
          {
            name: `${TARGETS[phase.target].label} (p99 ${ms(phase.scenario === 'group' ? phase.all.p99 : phase.latency.p99)})`,
            cdf: cdf(phase),
            color: TARGETS[phase.target].color,
          },
        ]
      : [];
  const rates = [...new Set(results.phases.filter((p) => p.scenario === 'rate').map((p) => p.rate))];
  const panels: Panel[] = rates.map((rate) => ({
    title: `send → each receiver, ${rate} msg/s`,
    subtitle: `${find(results, 'ours', 'rate', rate)?.clients ?? '?'} clients in direct conversations of 2`,
    series: (['ours', 'relay', 'floor', 'polling'] as const).flatMap((target) =>
      series(find(results, target, 'rate', rate), (p) => p.cdf),
    ),
  }));
  const group = (['ours', 'relay'] as const).map((target) => find(results, target, 'group'));
  if (group.some(Boolean))
    panels.push({
      title: `group of ${group.find(Boolean)?.clients}: until all have it`,
      subtitle: `${group.find(Boolean)?.rate} msg/s into one group, every member online`,
      series: group.flatMap((phase) => series(phase, (p) => p.allCdf)),
    });
  const p = results.provenance;
  return latencyChart(
    panels,
    `npm run bench, ${p.at.slice(0, 10)}, commit ${p.commit}, ${p.machine.cpus} CPUs, Node ${p.machine.node}; cumulative share of samples at or below each latency`,
  );
}
