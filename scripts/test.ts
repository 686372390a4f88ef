// `npm test`: every suite, in order, with progress, ending with one line that
// totals them all: `N passed, N failed`. Each suite is judged by its tool's exit
// code and its counts (judge.ts): a suite that runs nothing, breaks in a file's
// setup or teardown, or skips what it was not told to skip, fails.
//
//   npm test                 everything
//   npm test -- db e2e       only the named suites (lint, typecheck, runner, types, client, deno, db,
//                            db15, dblint, e2e, e2e22, fuzz, client-e2e, chaos, browser)

import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listFunctions, loadProjectConfig } from '../emulator/config.ts';
import { denoBinary, npmRegistry } from '../emulator/functions/service.ts';
import { createLogger } from '../emulator/log.ts';
import type { Database } from '../emulator/postgres/database.ts';
import { PROJECT_DIR } from '../emulator/stack.ts';
import { CHROMIUM } from '../tests/browser/chromium.ts';
import { CI_MESSAGES as CHAOS_CI_MESSAGES, CI_SEED as CHAOS_CI_SEED } from '../tests/chaos/options.ts';
import { expectedPgtapSkips, expectedSkips } from '../tests/expected-skips.ts';
import { CI_RUNS, CI_SEED } from '../tests/fuzz/options.ts';
import {
  combine,
  describeCounts,
  failure,
  judgeDenoTest,
  judgeExitCode,
  judgePgProve,
  judgeVitest,
  type Verdict,
  type VitestReport,
} from './judge.ts';
import { withDatabaseForTests } from './test-database.ts';

interface Result extends Verdict {
  suite: string;
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
  return { suite, ...judgeExitCode(code, path.basename(command)) };
};

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
    return { suite: suite(db), ...judgePgProve(code, output, expectedPgtapSkips(db.adminUrl !== undefined)) };
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
      if (code === 0 && /"level":\s*"(warning|error)"/.test(output)) {
        return { suite, ...failure('the linter reported warnings') };
      }
      return { suite, ...judgeExitCode(code, 'supabase db lint') };
    },
  );
}

/**
 * Runs one Vitest project (of vitest.config.ts, or of the config in `extraArgs`) with a JSON
 * report and judges it (scripts/judge.ts); `env` can put another Node.js first on the PATH
 * (Vitest and npm run on it); `wrap` runs it inside another command.
 */
async function vitest(
  suite: string,
  project: string,
  extraArgs: string[] = [],
  env?: NodeJS.ProcessEnv,
  wrap: string[] = [],
): Promise<Result> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vitest-report-'));
  const report = path.join(dir, 'report.json');
  try {
    const [command, ...before] = [...wrap, bin('vitest')];
    const { code } = await run(
      command as string,
      [
        ...before,
        'run',
        `--project=${project}`,
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${report}`,
        ...extraArgs,
      ],
      env,
    );
    const data = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as VitestReport) : undefined;
    return { suite, ...judgeVitest(code, data, expectedSkips(process.env), `${PROJECT_DIR}/`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One seed per `npm test`: the end-to-end suites run in its random order. */
const seed = Number(process.env.VITEST_SEED) || randomInt(1, 2 ** 31);

/** The end-to-end suites, in a random order (a test that needs another's leftovers fails). */
async function e2e(suite: string, env?: NodeJS.ProcessEnv): Promise<Result> {
  log.info(`e2e in random order, seed ${seed} (again: VITEST_SEED=${seed} npm test -- e2e)`);
  const result = await vitest(suite, 'e2e', ['--sequence.shuffle', `--sequence.seed=${seed}`], env);
  return { ...result, note: `random order, seed ${seed}` };
}

const CLIENT_VITEST = ['--config', 'client/test/vitest.config.ts'];

/**
 * The demo in Debian's Chromium, two users at once. They run in a network namespace
 * of their own where only loopback carries traffic (tests/browser/loopback-only.sh),
 * so WebRTC between the two users can only use 127.0.0.1 and ::1. Deno's npm
 * packages are cached first: the namespace has no registry.
 */
async function browserTests(): Promise<Result> {
  const suite = 'browser (Playwright, Chromium, the demo app)';
  if (!existsSync(CHROMIUM)) return { suite, ...failure(`${CHROMIUM} is missing (see .ci/run)`) };
  const entrypoints = listFunctions(PROJECT_DIR, loadProjectConfig(PROJECT_DIR)).map((fn) => fn.entrypoint);
  const cached = await check(suite, denoBinary(PROJECT_DIR), [
    'cache',
    '--config',
    'deno.json',
    'emulator/functions/host.ts',
    ...entrypoints,
  ]);
  if (cached.failed) return { ...cached, note: 'deno cache of the functions failed' };
  const loopbackOnly = ['unshare', '--net', '--', 'sh', 'tests/browser/loopback-only.sh'];
  return vitest(suite, 'browser', ['--config', 'tests/browser/vitest.config.ts'], undefined, loopbackOnly);
}

const suites: Record<string, () => Promise<Result>> = {
  lint: () => check('format and lint (Biome)', bin('biome'), ['check', '.']),
  typecheck: () => check('typecheck (tsc, strict)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']),
  runner: () => vitest("the test runner's judging (Vitest)", 'runner'),
  types: () =>
    check('client database types current (supabase gen types)', bin('tsx'), [
      'scripts/gen-types.ts',
      '--check',
    ]),
  client: () => vitest('client library: unit and property tests (Vitest)', 'client', CLIENT_VITEST),
  deno: async () => {
    const deno = denoBinary(PROJECT_DIR);
    const registry = npmRegistry();
    const denoEnv = { NO_COLOR: '1', ...(registry ? { NPM_CONFIG_REGISTRY: registry } : {}) };
    const typed = await run(deno, ['check', 'functions/', 'emulator/functions/host.ts'], denoEnv);
    const tested = await run(
      deno,
      ['test', '--allow-env', '--allow-net', '--allow-read', 'functions/'],
      denoEnv,
    );
    return {
      suite: 'Deno typecheck and unit tests (functions)',
      ...combine(judgeExitCode(typed.code, 'deno check'), judgeDenoTest(tested.code, tested.output)),
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
      return { suite: 'pgTAP on PostgreSQL 15', ...failure('PostgreSQL 15 is not installed (see .ci/run)') };
    }
    return pgtap(() => 'pgTAP on PostgreSQL 15 (Debian, via SUPABASE_DB_URL)', '/usr/lib/postgresql/15/bin');
  },
  dblint: dbLint,
  e2e: () => e2e('end to end (Vitest, supabase-js)'),
  e2e22: async () => {
    const suite = 'end to end on Node.js 22 (Vitest, supabase-js)';
    if (!existsSync(NODE_22)) {
      // A registry package, installed on first use so that `npm test` needs nothing more than `npm install`.
      log.info('installing Node.js 22 from npm into tools/node22 (once)');
      const { code } = await run('npm', ['ci', '--prefix', 'tools/node22', '--no-audit', '--no-fund']);
      if (code !== 0 || !existsSync(NODE_22)) {
        return { suite, ...failure('could not install Node.js 22: npm ci --prefix tools/node22 failed') };
      }
    }
    return e2e(suite, {
      PATH: `${path.dirname(NODE_22)}${path.delimiter}${process.env.PATH}`,
      E2E_NODE_MAJOR: '22',
    });
  },
  fuzz: () =>
    vitest(
      `fuzzing (fast-check, seed ${CI_SEED}, ${CI_RUNS} runs per property)`,
      'fuzz',
      ['--config', 'tests/fuzz/vitest.config.ts'],
      { FUZZ_SEED: String(CI_SEED), FUZZ_RUNS: String(CI_RUNS) },
    ),
  'client-e2e': () =>
    vitest('client library on the emulator (Vitest, supabase-js)', 'client-e2e', CLIENT_VITEST),
  chaos: () =>
    vitest(
      `fault injection (seed ${CHAOS_CI_SEED}, ${CHAOS_CI_MESSAGES} messages; the full run: npm run test:chaos)`,
      'chaos',
      ['--config', 'tests/chaos/vitest.config.ts'],
      { CHAOS_SEED: String(CHAOS_CI_SEED), CHAOS_MESSAGES: String(CHAOS_CI_MESSAGES) },
    ),
  browser: browserTests,
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
    result = { suite: name, ...failure((error as Error).message) };
  }
  results.push(result);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log.info(
    `${result.suite}: ${describeCounts(result)} (${seconds} s)${result.note ? ` — ${result.note}` : ''}`,
  );
}

console.log('\nSummary');
for (const r of results) {
  console.log(
    `  ${r.failed ? 'FAIL' : 'ok  '}  ${r.suite}: ${describeCounts(r)}${r.note ? ` [${r.note}]` : ''}`,
  );
  for (const problem of r.problems) console.log(`          ${problem}`);
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
