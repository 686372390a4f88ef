// `npm run reset`: wipes the local stack's data (database, keys). The next
// `npm start` creates a fresh database and applies migrations and seed again.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_DIR } from '../emulator/stack.ts';

const dataDir = process.env.EMULATOR_DATA_DIR ?? path.join(PROJECT_DIR, '.emulator');
const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
if (existsSync(pidFile)) {
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && existsSync(`/proc/${pid}`)) {
    console.error(`The emulator is running (PostgreSQL pid ${pid}); stop it with Ctrl-C first.`);
    process.exit(1);
  }
}
if (!existsSync(dataDir)) {
  console.log(`Nothing to reset: ${dataDir} does not exist.`);
} else {
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`Removed ${dataDir}. The next \`npm start\` begins with a fresh database.`);
}
