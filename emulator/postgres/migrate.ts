// Applies supabase/migrations and supabase/seed.sql with the real Supabase CLI,
// exactly as a DBA would against a hosted project (`supabase db push`). The CLI
// records what it applied, so this is a no-op when nothing changed.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../log.ts';

const run = promisify(execFile);

export function supabaseCli(projectDir: string): string {
  const local = path.join(projectDir, 'node_modules', '.bin', 'supabase');
  if (!existsSync(local)) throw new Error('the Supabase CLI is missing: run `npm install`');
  return local;
}

export async function pushMigrations(options: {
  projectDir: string;
  dbUrl: string;
  log: Logger;
}): Promise<void> {
  const { projectDir, dbUrl, log } = options;
  const args = [
    'db',
    'push',
    `--remote=${dbUrl}`,
    '--include-all',
    '--include-seed',
    '--yes',
    '--workdir',
    projectDir,
  ];
  try {
    const { stdout, stderr } = await run(supabaseCli(projectDir), args, {
      cwd: projectDir,
      env: { ...process.env, PGSSLMODE: 'disable', SUPABASE_AGENT: 'no', NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const line of `${stdout}\n${stderr}`.split('\n')) {
      if (/^(Applying migration|Seeding data)/.test(line.trim())) log.info(line.trim());
    }
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`supabase db push failed:\n${`${stdout}\n${stderr}`.trim()}`);
  }
}
