// How `npm test` judges a suite (scripts/judge.ts), on what the tools really
// print: tiny fixture suites (fixtures/), each broken in one way that a green
// run could hide, run here by Vitest, deno test and pg_prove.

import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoBinary } from '../../emulator/functions/service.ts';
import { quietLogger } from '../../emulator/log.ts';
import { type Cluster, SUPERUSER, startCluster } from '../../emulator/postgres/cluster.ts';
import { freePort, PROJECT_DIR } from '../../emulator/stack.ts';
import {
  describeCounts,
  judgeDenoTest,
  judgePgProve,
  judgeVitest,
  type Verdict,
  type VitestReport,
} from '../../scripts/judge.ts';
import { expectedSkips } from '../expected-skips.ts';
import { REAL_PROJECT_ENV } from './fixtures/real-project.ts';

const FIXTURES = path.join(PROJECT_DIR, 'tests', 'runner', 'fixtures');
const scratch = mkdtempSync(path.join(tmpdir(), 'judging-'));
chmodSync(scratch, 0o755); // the cluster runs as the postgres OS user when we are root
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs a tool without echoing it; the environment has no trace of the Vitest running this file. */
function runTool(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')),
  );
  return new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_DIR, env: { ...inherited, NO_COLOR: '1', ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

let reports = 0;
/** Runs one fixture file (or a filter matching none) through Vitest and judges it as `npm test` would. */
async function vitest(filter: string): Promise<Verdict> {
  const report = path.join(scratch, `report-${++reports}.json`);
  const { code } = await runTool(path.join(PROJECT_DIR, 'node_modules', '.bin', 'vitest'), [
    'run',
    '--config',
    path.join(FIXTURES, 'vitest', 'vitest.config.ts'),
    '--reporter=json',
    `--outputFile.json=${report}`,
    filter,
  ]);
  let data: VitestReport | undefined;
  try {
    data = JSON.parse(readFileSync(report, 'utf8')) as VitestReport;
  } catch {
    data = undefined; // no report at all: judged as such
  }
  return judgeVitest(code, data, expectedSkips(REAL_PROJECT_ENV), `${FIXTURES}/vitest/`);
}

describe('a Vitest suite', () => {
  it('passes when its tests pass, and counts a declared skip under its reason', async () => {
    const verdict = await vitest('all-good.fixture.ts');
    expect(verdict).toEqual({
      passed: 2,
      failed: 0,
      skipped: [{ reason: expectedSkips(REAL_PROJECT_ENV).get('emulator-only'), count: 1 }],
      problems: [],
    });
    expect(describeCounts(verdict)).toMatch(/^2 passed, 0 failed, skipped 1 \(emulator-only: .+\)$/);
  });

  it('fails every test of a file whose beforeAll throws (Vitest itself calls them skipped)', async () => {
    const verdict = await vitest('setup-throws.fixture.ts');
    expect(verdict).toMatchObject({ passed: 0, failed: 2, skipped: [] });
    expect(verdict.problems).toContain('setup-throws.fixture.ts failed: the fixtures could not be installed');
  });

  it('fails a file whose afterAll throws after its tests passed', async () => {
    const verdict = await vitest('teardown-throws.fixture.ts');
    expect(verdict).toMatchObject({ passed: 1, failed: 1 });
    expect(verdict.problems).toEqual([
      'teardown-throws.fixture.ts failed: the fixtures could not be removed',
    ]);
  });

  it('fails a run with an unhandled error, although every test passed', async () => {
    const verdict = await vitest('unhandled-error.fixture.ts');
    expect(verdict).toMatchObject({ passed: 1, failed: 1 });
    expect(verdict.problems).toEqual(['Vitest exited with code 1 although no test failed (see its output)']);
  });

  it('fails a test skipped without a declared reason', async () => {
    const verdict = await vitest('untold-skip.fixture.ts');
    expect(verdict).toMatchObject({ passed: 1, failed: 1, skipped: [] });
    expect(verdict.problems).toEqual([
      'untold-skip.fixture.ts: "is skipped without a declared reason" did not run (skipped)',
    ]);
  });

  it('fails a failing test, and only that one', async () => {
    expect(await vitest('failing.fixture.ts')).toMatchObject({ passed: 1, failed: 1, problems: [] });
  });

  it('fails a file without tests, and a run that finds no test file at all', async () => {
    const empty = await vitest('no-tests.fixture.ts');
    expect(empty).toMatchObject({ passed: 0, failed: 1 });
    expect(empty.problems).toEqual([
      expect.stringMatching(/^no-tests\.fixture\.ts failed: No test suite found/),
    ]);
    expect(await vitest('no-such-file')).toEqual({
      passed: 0,
      failed: 1,
      skipped: [],
      problems: ['Vitest ran no tests'],
    });
  });
});

describe('a deno test suite', () => {
  const denoTest = async (file: string) => {
    const { code, output } = await runTool(denoBinary(PROJECT_DIR), [
      'test',
      path.join(FIXTURES, 'deno', file),
    ]);
    return judgeDenoTest(code, output);
  };

  it('passes when its tests pass', async () => {
    expect(await denoTest('passing_test.ts')).toEqual({ passed: 2, failed: 0, skipped: [], problems: [] });
  });

  it('fails a failing test', async () => {
    expect(await denoTest('failing_test.ts')).toMatchObject({ passed: 1, failed: 1 });
  });

  it('fails an ignored test, although deno test exits 0', async () => {
    expect(await denoTest('ignored_test.ts')).toEqual({
      passed: 1,
      failed: 1,
      skipped: [],
      problems: ['deno test: 1 test(s) ignored'],
    });
  });

  it('fails a module without tests', async () => {
    expect(await denoTest('not_a_test.ts')).toEqual({
      passed: 0,
      failed: 1,
      skipped: [],
      problems: ['deno test ran no tests'],
    });
  });
});

describe('a pg_prove suite', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({
      binDir: '/usr/lib/postgresql/15/bin',
      dataDir: path.join(scratch, 'postgres'),
      port: await freePort(),
      ephemeral: true,
      log: quietLogger(),
    });
  });
  afterAll(() => cluster?.stop());

  const pgProve = async (target: string, expectedSkips: string[] = []) => {
    const url = new URL(cluster.url(SUPERUSER));
    const { code, output } = await runTool('pg_prove', ['--ext', '.sql', '-r', '-v', '--failures', target], {
      PGHOST: url.hostname,
      PGPORT: url.port,
      PGUSER: SUPERUSER,
      PGPASSWORD: decodeURIComponent(url.password),
      PGDATABASE: 'postgres',
    });
    return judgePgProve(code, output, expectedSkips);
  };
  const fixture = (file: string) => path.join(FIXTURES, 'pgtap', file);

  it('passes when its tests pass', async () => {
    expect(await pgProve(fixture('passing.sql'))).toEqual({
      passed: 2,
      failed: 0,
      skipped: [],
      problems: [],
    });
  });

  it('fails a failing test', async () => {
    expect(await pgProve(fixture('failing.sql'))).toMatchObject({ passed: 1, failed: 1 });
  });

  it('counts the tests a file planned but never ran, when it dies part-way', async () => {
    const verdict = await pgProve(fixture('dies-midway.sql'));
    expect(verdict).toMatchObject({ passed: 1, failed: 2 });
    expect(verdict.problems).toEqual(['You planned 3 tests but ran 1']);
  });

  it('fails a file without a plan', async () => {
    const verdict = await pgProve(fixture('no-plan.sql'));
    expect(verdict.failed).toBeGreaterThan(0);
    expect(verdict.problems).toContain('1 file(s) printed no plan');
  });

  it('fails a test skipped without a declared reason, and counts one skipped for a declared reason', async () => {
    expect(await pgProve(fixture('skips.sql'))).toEqual({
      passed: 1,
      failed: 1,
      skipped: [],
      problems: ['a pgTAP test was skipped without a declared reason: not written yet'],
    });
    expect(await pgProve(fixture('skips.sql'), ['not written'])).toEqual({
      passed: 1,
      failed: 0,
      skipped: [{ reason: 'not written yet', count: 1 }],
      problems: [],
    });
  });

  it('fails a folder without test files (pg_prove says NOTESTS and exits 0)', async () => {
    const empty = mkdtempSync(path.join(scratch, 'no-sql-'));
    expect(await pgProve(empty)).toEqual({
      passed: 0,
      failed: 1,
      skipped: [],
      problems: ['pg_prove found no tests (Result: NOTESTS)'],
    });
  });
});
