// The bcrypt work of password-hasher.ts, on a worker thread so that hashing
// never holds up the event loop that serves every other request.
// Plain JavaScript: worker threads load it without the TypeScript loader.

import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

parentPort.on('message', ({ id, password, cost, hash }) => {
  try {
    const result = hash === undefined ? bcrypt.hashSync(password, cost) : bcrypt.compareSync(password, hash);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
