// `npm test`: every suite, in order, with progress, ending with one line that
// totals them all: `N passed, N failed`.
//
//   npm test                 everything
//   npm test -- db e2e       only the named suites (lint, typecheck, types, client, deno, db, db15,
//                            dblint, e2e, e2e22, client-e2e)

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { denoBinary, npmRegistry } from '../emulator/functions/service.ts';
import { createLogger } from '../emulator/log.ts';
import type { Database } from '../emulator/postgres/database.ts';
import { PROJECT_DIR } from '../emulator/stack.ts';
import { withDatabaseForTests } from './test-database.ts';

interface Result {
  suite: string;
  passed: number;
  failed: number;
  note?: string;
}

const log = createLogger('test');

/** Runs a command, echoing its output, and returns its exit code and output. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: PROJECT_DIR, env: { ...process.env, ...env } });
    let output = '';
    const collect = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on('data', collect(process.stdout));
    child.stderr.on('data', collect(process.stderr));
    child.on('error', (error) => {
      output += String(error);
      resolve({ code: 127, output });
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const bin = (name: string) => path.join(PROJECT_DIR, 'node_modules', '.bin', name);
/** Node.js 22 from the npm registry (tools/node22), for the end-to-end run on it. */
const NODE_22 = path.join(PROJECT_DIR, 'tools', 'node22', 'node_modules', '.bin', 'node');
const check = async (
  suite: string,
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<Result> => {
  const { code } = await run(command, args, env);
  return { suite, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 };
};

/**
 * Counts pg_prove's verbose TAP: each `ok` / `not ok`; tests a file planned but
 * never ran (it died part-way) count as failed; running more than planned, or a
 * file with no plan at all, counts once.
 */
export function countPgProve(output: string): { passed: number; failed: number } {
  const passed = (output.match(/^\s*ok \d+/gm) ?? []).length;
  let failed = (output.match(/^\s*not ok \d+/gm) ?? []).length;
  for (const [, planned, ran] of output.matchAll(/You planned (\d+) tests? but ran (\d+)/g)) {
    failed += Number(ran) < Number(planned) ? Number(planned) - Number(ran) : 1;
  }
  failed += (output.match(/No plan found in TAP output/g) ?? []).length;
  return { passed, failed };
}

async function pgtap(suite: (db: Database) => string, pgBinDir?: string): Promise<Result> {
  return withDatabaseForTests({ pgBinDir, log }, async (db) => {
    const url = new URL(db.url);
    const files = path.join('tests', 'db');
    const { code, output } = await run('pg_prove', ['--ext', '.sql', '-r', '-v', '--failures', files], {
      PGHOST: url.hostname,
      PGPORT: url.port,
      PGUSER: decodeURIComponent(url.username),
      PGPASSWORD: decodeURIComponent(url.password),
      PGDATABASE: url.pathname.slice(1),
    });
    const counts = countPgProve(output);
    if (code !== 0 && counts.failed === 0) counts.failed = 1; // pg_prove itself failed
    return { suite: suite(db), ...counts };
  });
}

async function dbLint(): Promise<Result> {
  const suite = 'supabase db lint (PostgreSQL 15 + plpgsql_check)';
  return withDatabaseForTests(
    { pgBinDir: '/usr/lib/postgresql/15/bin', log, plpgsqlCheck: true },
    async (db) => {
      const { code, output } = await run(
        bin('supabase'),
        [
          'db',
          'lint',
          `--remote=${db.url}`,
          '--schema',
          'public,private',
          '--level',
          'warning',
          '--fail-on',
          'warning',
          '--workdir',
          PROJECT_DIR,
        ],
        { PGSSLMODE: 'disable', SUPABASE_AGENT: 'no' },
      );
      const clean = code === 0 && !/"level":\s*"(warning|error)"/.test(output);
      return { suite, passed: clean ? 1 : 0, failed: clean ? 0 : 1 };
    },
  );
}

/**
 * Runs Vitest (`args`: a config, a project) and counts its JSON report; `env` can put
 * another Node.js first on the PATH (Vitest and npm run on it).
 */
async function vitest(suite: string, args: string[] = [], env?: NodeJS.ProcessEnv): Promise<Result> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vitest-report-'));
  const report = path.join(dir, 'report.json');
  try {
    await run(
      bin('vitest'),
      ['run', ...args, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
      env,
    );
    if (!existsSync(report)) return { suite, passed: 0, failed: 1, note: 'Vitest wrote no report' };
    const data = JSON.parse(readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      testResults: { status: string; assertionResults: unknown[] }[];
    };
    // A file that fails before running any test (import or hook error) counts once.
    const brokenFiles = data.testResults.filter(
      (file) => file.status === 'failed' && file.assertionResults.length === 0,
    ).length;
    return { suite, passed: data.numPassedTests, failed: data.numFailedTests + brokenFiles };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const clientVitest = (project: string) => [
  '--config',
  'client/test/vitest.config.ts',
  `--project=${project}`,
];

const suites: Record<string, () => Promise<Result>> = {
  lint: () => check('format and lint (Biome)', bin('biome'), ['check', '.']),
  typecheck: () => check('typecheck (tsc, strict)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']),
  types: () =>
    check('client database types current (supabase gen types)', bin('tsx'), [
      'scripts/gen-types.ts',
      '--check',
    ]),
  client: () => vitest('client library: unit and property tests (Vitest)', clientVitest('client')),
  deno: async () => {
    const deno = denoBinary(PROJECT_DIR);
    const registry = npmRegistry();
    const denoEnv = { NO_COLOR: '1', ...(registry ? { NPM_CONFIG_REGISTRY: registry } : {}) };
    const typed = await check(
      'Deno typecheck (functions)',
      deno,
      ['check', 'functions/', 'emulator/functions/host.ts'],
      denoEnv,
    );
    const { code, output } = await run(
      deno,
      ['test', '--allow-env', '--allow-net', '--allow-read', 'functions/'],
      denoEnv,
    );
    const summary = /(\d+) passed.*?(\d+) failed/.exec(output);
    const passed = Number(summary?.[1] ?? 0);
    const failed = Number(summary?.[2] ?? 0) + (code !== 0 && !summary ? 1 : 0);
    return {
      suite: 'Deno typecheck and unit tests (functions)',
      passed: typed.passed + passed,
      failed: typed.failed + failed,
    };
  },
  db: () =>
    pgtap((db) =>
      db.cluster
        ? `pgTAP on PostgreSQL ${db.version} (embedded)`
        : `pgTAP on PostgreSQL ${db.version} at ${new URL(db.url).host} (SUPABASE_DB_URL)`,
    ),
  db15: async () => {
    if (!existsSync('/usr/lib/postgresql/15/bin/postgres')) {
      return {
        suite: 'pgTAP on PostgreSQL 15',
        passed: 0,
        failed: 1,
        note: 'PostgreSQL 15 is not installed (see .ci/run)',
      };
    }
    return pgtap(() => 'pgTAP on PostgreSQL 15 (Debian, via SUPABASE_DB_URL)', '/usr/lib/postgresql/15/bin');
  },
  dblint: dbLint,
  e2e: () => vitest('end to end (Vitest, supabase-js)'),
  e2e22: async () => {
    const suite = 'end to end on Node.js 22 (Vitest, supabase-js)';
    if (!existsSync(NODE_22)) {
      return {
        suite,
        passed: 0,
        failed: 1,
        note: 'Node.js 22 is not installed: npm ci --prefix tools/node22',
      };
    }
    return vitest(suite, [], {
      PATH: `${path.dirname(NODE_22)}${path.delimiter}${process.env.PATH}`,
      E2E_NODE_MAJOR: '22',
    });
  },
  'client-e2e': () =>
    vitest('client library on the emulator (Vitest, supabase-js)', clientVitest('client-e2e')),
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`Unknown suite(s): ${unknown.join(', ')}. Known: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
const selected = requested.length > 0 ? requested : Object.keys(suites);
const results: Result[] = [];
for (const name of selected) {
  log.info(`── ${name} ──`);
  const started = performance.now();
  let result: Result;
  try {
    result = await (suites[name] as () => Promise<Result>)();
  } catch (error) {
    result = { suite: name, passed: 0, failed: 1, note: (error as Error).message };
  }
  results.push(result);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log.info(
    `${result.suite}: ${result.passed} passed, ${result.failed} failed (${seconds} s)${result.note ? ` — ${result.note}` : ''}`,
  );
}

console.log('\nSummary');
for (const r of results) {
  console.log(
    `  ${r.failed ? 'FAIL' : 'ok  '}  ${r.suite}: ${r.passed} passed, ${r.failed} failed${r.note ? ` (${r.note})` : ''}`,
  );
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
