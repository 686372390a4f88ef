// The built library (npm run build:client: plain JavaScript) in a plain Node
// process — no TypeScript loader — with supabase-js on the `ws` transport, as
// Node 20 needs: it connects, goes live, sends and sees its message stored.

import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { PROJECT_DIR } from '../../../emulator/stack.ts';
import { groupOf, person, stack } from './support.ts';

const run = promisify(execFile);

const SCRIPT = `
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { createChat } from './src/index.js';

const [url, anonKey, email, password, conversationId] = process.argv.slice(2);
const supabase = createClient(url, anonKey, {
  auth: { persistSession: false },
  realtime: { transport: WebSocket }, // Node 20 has no global WebSocket; Node 22+ needs no option
});
await supabase.auth.signInWithPassword({ email, password });
const chat = createChat(supabase);
const conversation = chat.open(conversationId);
const until = (check) => new Promise((resolve) => {
  const poll = () => (check() ? resolve() : setTimeout(poll, 20));
  poll();
});
await until(() => chat.connection.getSnapshot().state === 'live');
await conversation.send('from plain node');
await until(() => conversation.store.getSnapshot().messages.some((m) => m.status === 'sent'));
console.log(JSON.stringify({
  state: chat.connection.getSnapshot().state,
  messages: conversation.store.getSnapshot().messages.map(({ seq, body, status }) => ({ seq, body, status })),
}));
chat.close();
process.exit(0);
`;

it('runs as built JavaScript in plain Node with the ws transport', async () => {
  const [alice, bob] = await Promise.all([person(), person()]);
  const id = await groupOf(alice, 'node', [bob]);
  await run(path.join(PROJECT_DIR, 'node_modules', '.bin', 'tsc'), ['-p', 'client/tsconfig.build.json'], {
    cwd: PROJECT_DIR,
  });
  const script = path.join(PROJECT_DIR, 'client', 'dist', `smoke-${process.pid}.mjs`);
  writeFileSync(script, SCRIPT);
  try {
    const { stdout } = await run(
      process.execPath,
      [script, stack.url, stack.anonKey, bob.email, bob.password, id],
      {
        timeout: 50_000,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(result).toEqual({
      state: 'live',
      messages: [{ seq: 1, body: 'from plain node', status: 'sent' }],
    });
  } finally {
    rmSync(script, { force: true });
  }
});
