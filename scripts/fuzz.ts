// `npm run test:fuzz`: the fuzz suite with a seed and a number of runs of your
// choosing (`npm test` runs it with a fixed seed and CI_RUNS runs per property).
//
//   npm run test:fuzz                          a random seed, 10× the runs of npm test
//   npm run test:fuzz -- --seed 42 --runs 2000
//   FUZZ_ANSWERS=1 npm run test:fuzz           also every kind of answer the fuzzer got, with counts

import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_DIR } from '../emulator/stack.ts';
import { CI_RUNS } from '../tests/fuzz/options.ts';

const { values } = parseArgs({ options: { seed: { type: 'string' }, runs: { type: 'string' } } });
const seed = values.seed ?? String(randomInt(1, 2 ** 31));
const runs = values.runs ?? String(CI_RUNS * 10);
console.log(`fuzzing with seed ${seed}, ${runs} runs per property`);
const vitest = path.join(PROJECT_DIR, 'node_modules', '.bin', 'vitest');
const { status } = spawnSync(vitest, ['run', '--config', 'tests/fuzz/vitest.config.ts'], {
  cwd: PROJECT_DIR,
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SEED: seed, FUZZ_RUNS: runs },
});
process.exit(status ?? 1);
