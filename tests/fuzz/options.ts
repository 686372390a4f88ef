// How much to fuzz and from where: `npm test` runs a fixed seed and a bounded
// number of runs (the same inputs every time), `npm run test:fuzz -- --seed N
// --runs M` any other. Both reach the suite as FUZZ_SEED and FUZZ_RUNS.

import fc from 'fast-check';

/** The seed `npm test` fuzzes with, so that CI sees the same inputs every run. */
export const CI_SEED = 13;
/** Runs per property in `npm test`: a couple of minutes on a 2-core machine. */
export const CI_RUNS = 300;

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${name} must be a whole number, not ${text}`);
  return value;
}

export const seed = positiveInteger('FUZZ_SEED', CI_SEED);
export const runs = positiveInteger('FUZZ_RUNS', CI_RUNS);

/** Long repeats (JSON nested 1,000 deep) said once with a count, and the whole cut to a readable length. */
export function shorten(text: string, max = 3000): string {
  const folded = text.replace(
    /(.{1,16}?)\1{7,}/gs,
    (run, unit: string) => `${unit}…×${run.length / unit.length}`,
  );
  return folded.length > max ? `${folded.slice(0, max)}… (${folded.length - max} more characters)` : folded;
}

/** Reports a failed property in a few lines: the shrunk counterexample, what was wrong, how to replay. */
const report: fc.Plugin<unknown> = () => ({
  onAllRunsComplete: (details) => {
    if (!details.failed) return;
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      [
        details.interrupted
          ? `Interrupted after ${details.numRuns} run(s)`
          : `Failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s) (seed ${details.seed}, path ${details.counterexamplePath})`,
        `Counterexample: ${shorten(fc.stringify(details.counterexample))}`,
        `What was wrong: ${shorten(cause)}`,
        `Again: npm run test:fuzz -- --seed ${seed} --runs ${runs}`,
      ].join('\n'),
    );
  },
});

/** fast-check's parameters for a property; `share` scales the runs for costlier or cheaper properties. */
export const parameters = (share = 1): fc.Parameters<unknown> => ({
  seed,
  numRuns: Math.max(1, Math.round(runs * share)),
  plugins: [report],
});

/** A bound on every answer, far above any honest one: waiting longer means a hang. */
export const ANSWER_BOUND_MS = 30_000;
