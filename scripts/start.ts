// `npm start`: the whole local stack on 127.0.0.1:54321, data kept in
// .emulator/ across restarts, and the demo app at / (built first if its
// sources changed). Ctrl-C or SIGTERM stops everything it started.
//
// Environment: PORT (API, default 54321), EMULATOR_DB_PORT (default 54322),
// EMULATOR_DATA_DIR (default .emulator/), SUPABASE_DB_URL and
// SUPABASE_DB_ADMIN_URL (use an existing database). Functions inherit the rest.

import path from 'node:path';
import { createLogger } from '../emulator/log.ts';
import { PROJECT_DIR, startStack } from '../emulator/stack.ts';
import { buildDemo, DEMO_BUILD_DIR } from './build-demo.ts';

const log = createLogger('start');
const started = performance.now();
const dataDir = process.env.EMULATOR_DATA_DIR ?? path.join(PROJECT_DIR, '.emulator');

const portFrom = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

// A broken demo build must not keep the backend from starting: `/` then says what is wrong.
const demo = await buildDemo().catch((error: Error) => {
  log.error(`the demo app did not build: ${error.message}`);
  return 'failed';
});
if (demo === 'built') log.info('demo app built');

const stack = await startStack({
  // Also with SUPABASE_DB_URL: the signing key (and so the API keys) live here.
  dataDir,
  dbUrl: process.env.SUPABASE_DB_URL,
  dbAdminUrl: process.env.SUPABASE_DB_ADMIN_URL,
  port: portFrom('PORT'),
  dbPort: portFrom('EMULATOR_DB_PORT'),
  watchFunctions: true,
  site: {
    root: DEMO_BUILD_DIR,
    buildHint: 'Run `npm run build:demo` (npm start builds it when its sources change)',
  },
}).catch((error: Error) => {
  log.error(error.message);
  process.exit(1);
});

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const rows: [string, string][] = [
  ['Demo app', `${stack.url}/`],
  ['API URL', stack.url],
  ['Auth URL', `${stack.url}/auth/v1`],
  ['REST URL', `${stack.url}/rest/v1`],
  ['Functions URL', `${stack.url}/functions/v1`],
  ['Realtime URL', `${stack.url.replace('http', 'ws')}/realtime/v1`],
  ['DB URL', stack.dbUrl],
  ['JWKS', `${stack.url}/auth/v1/.well-known/jwks.json`],
  ['anon key', stack.anonKey],
  ['service_role key', stack.serviceRoleKey],
];
const width = Math.max(...rows.map(([name]) => name.length));
const data = process.env.SUPABASE_DB_URL
  ? 'the signing key (the database is SUPABASE_DB_URL)'
  : 'the database and the signing key; `npm run reset` wipes them';
console.log(`\nLocal Supabase emulator started in ${seconds} s.\n`);
for (const [name, value] of rows) console.log(`${name.padStart(width)}: ${value}`);
console.log(`\nFunctions: ${stack.functionNames.join(', ') || 'none'}`);
console.log(`Data: ${dataDir} (${data})`);
console.log('Stop: Ctrl-C, or SIGTERM to this process or to npm\n');

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info(`${signal} received, stopping`);
  await stack.stop();
  log.info('stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
