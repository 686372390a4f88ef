// The built library (npm run build:client: plain JavaScript) in a plain Node
// process — no TypeScript loader: on Node 20 with supabase-js on the `ws`
// transport, on Node 22 with its own WebSocket. Either connects, goes live,
// sends and sees its message stored.

import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
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
  // Node 20 has no global WebSocket: give supabase-js the ws package. Node 22+ needs no option.
  ...(globalThis.WebSocket ? {} : { realtime: { transport: WebSocket } }),
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

const NODE_22 = path.join(PROJECT_DIR, 'tools', 'node22', 'node_modules', '.bin', 'node');

beforeAll(async () => {
  await run(path.join(PROJECT_DIR, 'node_modules', '.bin', 'tsc'), ['-p', 'client/tsconfig.build.json'], {
    cwd: PROJECT_DIR,
  });
});

it.each([
  ['Node 20, with the ws transport', process.execPath],
  ['Node 22, with its own WebSocket', NODE_22],
])('runs as built JavaScript in plain %s', async (_name, node) => {
  if (!existsSync(node)) throw new Error(`${node} is missing: npm ci --prefix tools/node22`);
  const [alice, bob] = await Promise.all([person(), person()]);
  const id = await groupOf(alice, 'node', [bob]);
  const script = path.join(PROJECT_DIR, 'client', 'dist', `smoke-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(script, SCRIPT);
  try {
    const args = [script, stack.url, stack.anonKey, bob.email, bob.password, id];
    const { stdout: version } = await run(node, ['--version']);
    const { stdout } = await run(node, args, { timeout: 50_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(version.startsWith(node === NODE_22 ? 'v22.' : 'v20.')).toBe(true);
    expect(result).toEqual({
      state: 'live',
      messages: [{ seq: 1, body: 'from plain node', status: 'sent' }],
    });
  } finally {
    rmSync(script, { force: true });
  }
});
