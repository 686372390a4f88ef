// Helpers shared by the benchmarks: options, percentiles, tables, result
// files, and CPU accounting of the processes a benchmark runs (read from
// /proc, so it needs Linux; elsewhere the CPU columns stay empty).

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_DIR } from '../emulator/stack.ts';

/** `--name value` on the command line, else the environment variable BENCH_<NAME>, else the fallback. */
export function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  if (at > 0 && process.argv[at + 1] !== undefined) return process.argv[at + 1] as string;
  return process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`] ?? fallback;
}

/** A numeric option (see option()); anything that is not a finite number is an error. */
export function numberOption(name: string, fallback: number): number {
  const value = Number(option(name, String(fallback)));
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number`);
  return value;
}

/** A flag: `--name` present, or BENCH_<NAME>=1. */
export function flag(name: string): boolean {
  return (
    process.argv.includes(`--${name}`) ||
    process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`] === '1'
  );
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100). */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, mean: NaN, max: NaN };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const list = Array.from(sorted);
  return {
    count: sorted.length,
    p50: percentile(list, 50),
    p95: percentile(list, 95),
    p99: percentile(list, 99),
    mean: sum / sorted.length,
    max: sorted[sorted.length - 1] as number,
  };
}

/** "1.23 ms" with two decimals below 10 ms, one above. */
export const ms = (value: number) =>
  Number.isNaN(value) ? '—' : `${value.toFixed(Math.abs(value) < 10 ? 2 : 1)} ms`;

/** A plain text table: the first column left-aligned, the others right-aligned. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '─'.repeat(width))), ...rows.map(line)].join('\n');
}

export const RESULTS_DIR = path.join(PROJECT_DIR, 'bench', 'results');

/** Writes bench/results/<name>.json (git-ignored) and returns its path relative to the project. */
export function writeResults(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return path.relative(PROJECT_DIR, file);
}

// ── CPU accounting ───────────────────────────────────────────────────────────

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in ms; undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** The PostgreSQL processes under a postmaster, each with the title it shows in ps. */
export function postgresChildren(postmaster: number): { pid: number; title: string }[] {
  const children: { pid: number; title: string }[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || parentOf(pid) !== postmaster) continue;
    try {
      children.push({
        pid,
        title: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(),
      });
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** Groups a PostgreSQL process by what it does, from its title ("postgres: <user> <db> <host> <state>"). */
export function postgresGroup(title: string): string {
  if (title.includes('walsender')) return 'postgres: walsender (logical replication)';
  const user = /^postgres: (\S+) \S+ \d/.exec(title)?.[1];
  if (user === undefined) return 'postgres: background (walwriter, checkpointer…)';
  return `postgres: backends of ${user}`;
}

/** A snapshot of CPU used so far by named processes (and PostgreSQL's children, by group). */
export type CpuSnapshot = Map<string, number>;

export interface CpuSources {
  /** Named processes, e.g. { 'load generator': process.pid }. */
  processes: Record<string, number | undefined>;
  /** The postmaster, whose children are grouped by postgresGroup(). */
  postmaster?: number;
}

/** CPU ms per group; PostgreSQL children are keyed by pid too so that `cpuSince` only counts survivors. */
export function cpuSnapshot(sources: CpuSources): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const [name, pid] of Object.entries(sources.processes)) {
    const used = pid === undefined ? undefined : cpuMs(pid);
    if (used !== undefined) snapshot.set(name, used);
  }
  if (sources.postmaster !== undefined) {
    const own = cpuMs(sources.postmaster);
    if (own !== undefined) snapshot.set('postgres: postmaster', own);
    for (const { pid, title } of postgresChildren(sources.postmaster)) {
      const used = cpuMs(pid);
      if (used !== undefined) snapshot.set(`${postgresGroup(title)}\u0000${pid}`, used);
    }
  }
  return snapshot;
}

/** CPU ms used per group between two snapshots (a process born in between counts from 0). */
export function cpuSince(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  const used = new Map<string, number>();
  for (const [key, value] of after) {
    const group = key.split('\u0000')[0] as string;
    used.set(group, (used.get(group) ?? 0) + value - (before.get(key) ?? 0));
  }
  return used;
}
