// Unit tests for the shared handler: envelope, catch-all and preflight.

import assert from 'node:assert/strict';
import { ApiError } from './errors.ts';
import { createHandler, json } from './handler.ts';

const request = (method = 'POST') => new Request('http://localhost/test', { method });

Deno.test('a typed error becomes the envelope with its status', async () => {
  const handler = createHandler('test', () => {
    throw new ApiError(
      403,
      'not_a_member',
      'You are not a member of this conversation',
      null,
      'Ask to be added',
    );
  });
  const response = await handler.fetch(request());
  assert.equal(response.status, 403);
  assert.deepEqual(await response.json(), {
    code: 'not_a_member',
    message: 'You are not a member of this conversation',
    details: null,
    hint: 'Ask to be added',
  });
  assert.equal(response.headers.get('access-control-allow-origin'), '*');
});

Deno.test('an unexpected error is a 500 that reveals no internals', async () => {
  const originalLog = console.log;
  const logged: string[] = [];
  console.log = (line: string) => logged.push(line);
  try {
    const handler = createHandler('test', () => {
      throw new Error('connection string postgres://secret@db leaked?');
    });
    const response = await handler.fetch(request());
    assert.equal(response.status, 500);
    const body = await response.json();
    assert.equal(body.code, 'internal_error');
    assert.ok(!JSON.stringify(body).includes('secret'));
    const requestId = response.headers.get('x-request-id');
    assert.ok(requestId && body.message.includes(requestId), 'the message names the request id');
    assert.ok(
      logged.some((line) => line.includes('secret') && line.includes(requestId)),
      'the log has the details',
    );
  } finally {
    console.log = originalLog;
  }
});

Deno.test('preflight is answered without running the logic', async () => {
  let ran = false;
  const handler = createHandler('test', () => {
    ran = true;
    return Promise.resolve(json({}));
  });
  const response = await handler.fetch(request('OPTIONS'));
  assert.equal(response.status, 204);
  assert.equal(ran, false);
  assert.match(response.headers.get('access-control-allow-headers') ?? '', /authorization/);
});

Deno.test('the caller-supplied request id is echoed back', async () => {
  const handler = createHandler('test', () => Promise.resolve(json({ ok: true }, 201)));
  const response = await handler.fetch(
    new Request('http://localhost/test', { method: 'POST', headers: { 'x-request-id': 'abc-123' } }),
  );
  assert.equal(response.status, 201);
  assert.equal(response.headers.get('x-request-id'), 'abc-123');
});
