// How `npm test` judges a suite: by its tool's exit code AND by its counts, so that
// a green line cannot hide a suite that ran nothing. A suite fails when its tool
// fails, when a file's setup or teardown fails, when it runs no test at all, or
// when it skips a test it was not told to skip; the skips it was told about are
// counted with their reason.

export interface Verdict {
  passed: number;
  failed: number;
  /** Skips that were expected, with their reason. */
  skipped: { reason: string; count: number }[];
  /** What failed besides failed tests (a broken file, no tests, a bad exit code…). */
  problems: string[];
}

const verdict = (passed: number, failed: number, problems: string[] = []): Verdict => ({
  passed,
  failed,
  skipped: [],
  problems,
});

/** One failed check, for a suite that could not even run. */
export const failure = (problem: string): Verdict => verdict(0, 1, [problem]);

/** A command whose exit code is its whole answer (lint, typecheck): one check. */
export function judgeExitCode(exitCode: number, what: string): Verdict {
  return exitCode === 0 ? verdict(1, 0) : verdict(0, 1, [`${what} exited with code ${exitCode}`]);
}

/** A suite that ran no test fails, and so does one whose tool failed although no test did. */
function withExitCode(result: Verdict, exitCode: number, tool: string): Verdict {
  if (result.passed + result.failed === 0) {
    result.failed = 1;
    result.problems.push(`${tool} ran no tests`);
  } else if (exitCode !== 0 && result.failed === 0) {
    result.failed = 1;
    result.problems.push(`${tool} exited with code ${exitCode} although no test failed (see its output)`);
  }
  return result;
}

// ── Vitest ─────────────────────────────────────────────────────────────────

/** The parts of Vitest's JSON report (`--reporter=json`) that are judged. */
export interface VitestReport {
  testResults: {
    name: string;
    status: string;
    message: string;
    assertionResults: { fullName: string; status: string; tags?: string[] }[];
  }[];
}

/**
 * Judges a Vitest run. `expectedSkips` maps each tag whose tests are meant to be
 * skipped in this run to the reason; any other skipped test (e.g. every test of a
 * file whose beforeAll threw) counts as failed.
 */
export function judgeVitest(
  exitCode: number,
  report: VitestReport | undefined,
  expectedSkips: ReadonlyMap<string, string>,
  relativeTo = '',
): Verdict {
  if (!report) return verdict(0, 1, [`Vitest wrote no report (exit code ${exitCode})`]);
  const result = verdict(0, 0);
  const skipped = new Map<string, number>();
  for (const file of report.testResults) {
    const name =
      relativeTo && file.name.startsWith(relativeTo) ? file.name.slice(relativeTo.length) : file.name;
    let failedHere = 0;
    for (const test of file.assertionResults) {
      if (test.status === 'passed') {
        result.passed++;
      } else if (test.status === 'failed') {
        failedHere++;
      } else {
        const reason = (test.tags ?? []).map((tag) => expectedSkips.get(tag)).find(Boolean);
        if (reason) {
          skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
        } else {
          failedHere++;
          result.problems.push(`${name}: "${test.fullName}" did not run (${test.status})`);
        }
      }
    }
    // A file fails by itself when a hook or its import breaks (Vitest reports the error as its message).
    if (file.status === 'failed' && (file.message || failedHere === 0)) {
      result.problems.push(`${name} failed: ${file.message || 'see the output above'}`);
      if (failedHere === 0) failedHere = 1;
    }
    result.failed += failedHere;
  }
  result.skipped = [...skipped].map(([reason, count]) => ({ reason, count }));
  return withExitCode(result, exitCode, 'Vitest');
}

// ── pg_prove (pgTAP) ───────────────────────────────────────────────────────

/**
 * Judges pg_prove's verbose TAP: each `ok` / `not ok`; tests a file planned but
 * never ran (it died part-way) count as failed; running more than planned, a file
 * with no plan, or `Result: NOTESTS` (no test files) fail too. A skipped test
 * (`ok N # SKIP reason`) is expected when its reason starts with one of
 * `expectedSkips`, and fails otherwise.
 */
export function judgePgProve(
  exitCode: number,
  output: string,
  expectedSkips: readonly string[] = [],
): Verdict {
  const result = verdict(0, (output.match(/^\s*not ok \d+/gm) ?? []).length);
  const skipped = new Map<string, number>();
  let skips = 0;
  for (const [, reason] of output.matchAll(/^\s*ok \d+[^#\n]*# skip\s*(.*)$/gim)) {
    const why = (reason ?? '').trim();
    skips += 1;
    if (expectedSkips.some((expected) => why.startsWith(expected))) {
      skipped.set(why, (skipped.get(why) ?? 0) + 1);
    } else {
      result.failed += 1;
      result.problems.push(`a pgTAP test was skipped without a declared reason: ${why}`);
    }
  }
  result.passed = (output.match(/^\s*ok \d+/gm) ?? []).length - skips;
  for (const [line, planned, ran] of output.matchAll(/You planned (\d+) tests? but ran (\d+)/g)) {
    result.failed += Number(ran) < Number(planned) ? Number(planned) - Number(ran) : 1;
    result.problems.push(line);
  }
  const unplanned = (output.match(/No plan found in TAP output/g) ?? []).length;
  if (unplanned > 0) {
    result.failed += unplanned;
    result.problems.push(`${unplanned} file(s) printed no plan`);
  }
  if (/^Result: NOTESTS/m.test(output)) {
    result.failed += 1;
    result.problems.push('pg_prove found no tests (Result: NOTESTS)');
  }
  result.skipped = [...skipped].map(([reason, count]) => ({ reason, count }));
  return withExitCode(result, exitCode, 'pg_prove');
}

// ── deno test ──────────────────────────────────────────────────────────────

/** Judges `deno test` by its summary line; ignored or filtered-out tests are never expected here. */
export function judgeDenoTest(exitCode: number, output: string): Verdict {
  const summary = /^(?:ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed([^\n]*)$/m.exec(output);
  if (!summary) {
    return verdict(0, 1, [`deno test printed no summary (exit code ${exitCode})`]);
  }
  const result = verdict(Number(summary[1]), Number(summary[2]));
  const rest = summary[3] ?? '';
  for (const [, count, kind] of rest.matchAll(/\| (\d+) (ignored|filtered out)/g)) {
    result.failed += Number(count);
    result.problems.push(`deno test: ${count} test(s) ${kind}`);
  }
  return withExitCode(result, exitCode, 'deno test');
}

// ── the summary ────────────────────────────────────────────────────────────

/** `N passed, N failed[, skipped N (reason)…]`. */
export function describeCounts(result: Pick<Verdict, 'passed' | 'failed' | 'skipped'>): string {
  const skips = result.skipped.map(({ reason, count }) => `, skipped ${count} (${reason})`).join('');
  return `${result.passed} passed, ${result.failed} failed${skips}`;
}

export function combine(...verdicts: Verdict[]): Verdict {
  return {
    passed: verdicts.reduce((sum, v) => sum + v.passed, 0),
    failed: verdicts.reduce((sum, v) => sum + v.failed, 0),
    skipped: verdicts.flatMap((v) => v.skipped),
    problems: verdicts.flatMap((v) => v.problems),
  };
}
