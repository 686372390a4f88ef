// Builds the demo app (demo/ → demo/dist) with Vite when its sources changed
// since the last build: `npm start` and the browser tests call it, so a fresh
// clone needs no extra step. `npm run build:demo` builds unconditionally.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_DIR = path.join(PROJECT_DIR, 'demo');
export const DEMO_BUILD_DIR = path.join(DEMO_DIR, 'dist');
/** Where the build records what it was built from (a dotfile: never served). */
const STAMP = path.join(DEMO_BUILD_DIR, '.sources-hash');

/** Every file the bundle is made from: the app, the client library, the locked dependencies. */
function sourceFiles(): string[] {
  const files: string[] = [path.join(PROJECT_DIR, 'package-lock.json')];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (full !== DEMO_BUILD_DIR && entry.name !== 'node_modules') walk(full);
      } else files.push(full);
    }
  };
  walk(DEMO_DIR);
  walk(path.join(PROJECT_DIR, 'client'));
  return files.sort();
}

function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles()) hash.update(path.relative(PROJECT_DIR, file)).update(readFileSync(file));
  return hash.digest('hex');
}

/** Builds unless the last build was made from exactly the current sources. */
export async function buildDemo(options: { force?: boolean } = {}): Promise<'built' | 'up to date'> {
  const hash = sourcesHash();
  const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8') : undefined;
  if (!options.force && built === hash && existsSync(path.join(DEMO_BUILD_DIR, 'index.html'))) {
    return 'up to date';
  }
  // A process of its own with NODE_ENV=production: under Vitest (NODE_ENV=test) Vite
  // would otherwise bundle React's development build.
  await promisify(execFile)(
    process.execPath,
    [
      path.join(PROJECT_DIR, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      path.join(DEMO_DIR, 'vite.config.ts'),
    ],
    { cwd: PROJECT_DIR, env: { ...process.env, NODE_ENV: 'production' } },
  ).catch((error: Error & { stderr?: string }) => {
    throw new Error(`vite build failed: ${error.stderr || error.message}`);
  });
  writeFileSync(STAMP, hash);
  return 'built';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  await buildDemo({ force: true });
  console.log(
    `demo built into ${path.relative(PROJECT_DIR, DEMO_BUILD_DIR)}/ in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
