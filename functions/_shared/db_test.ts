// Unit tests for the literals of the send batches (send-batches.ts): read back as PostgreSQL reads an escape
// string constant, each must give the value exactly and end exactly where it ends.

import assert from 'node:assert/strict';
import { literal } from './db.ts';

/** Reads the escape string constant at the start of `sql`; returns its value and where it ended. */
function readEscapeString(sql: string): { value: string; end: number } {
  assert.ok(sql.startsWith("E'"), `not an escape string constant: ${sql}`);
  let value = '';
  for (let i = 2; i < sql.length; i++) {
    const c = sql[i];
    if (c === '\\') {
      // PostgreSQL would read \n, \x41, \u0041, \' … as escapes: only \\ may occur.
      assert.equal(sql[i + 1], '\\', `a backslash escape other than \\\\ at ${i} of ${sql}`);
      value += '\\';
      i++;
    } else if (c === "'") {
      if (sql[i + 1] !== "'") return { value, end: i + 1 };
      value += "'";
      i++;
    } else {
      value += c;
    }
  }
  throw new Error(`unterminated constant: ${sql}`);
}

const values = [
  '',
  'plain',
  "it's",
  "'",
  "''",
  '\\',
  "\\'",
  "\\''); select 1; --",
  "E'",
  '$v$ $$ $tag$',
  '{"body": "a \\"quoted\\" \\\\ line\\nnext", "x": "\\u0041"}',
  'émoji 🎉 and 中文',
];

Deno.test('every literal reads back as its value and ends where it ends', () => {
  for (const value of values) {
    const sql = literal(value);
    assert.deepEqual(readEscapeString(sql), { value, end: sql.length }, `for ${JSON.stringify(value)}`);
  }
});

Deno.test('a literal followed by more SQL still ends at its own end', () => {
  for (const value of values) {
    const sql = `${literal(value)}, 'next'`;
    assert.equal(readEscapeString(sql).end, literal(value).length, `for ${JSON.stringify(value)}`);
  }
});
