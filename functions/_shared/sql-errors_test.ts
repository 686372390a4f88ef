import assert from 'node:assert/strict';
import { ApiError } from './errors.ts';
import { apiErrorFromSql } from './sql-errors.ts';

Deno.test('a PGRST error carries status, code, message, hint and headers', () => {
  const error = apiErrorFromSql({
    code: 'PGRST',
    message: JSON.stringify({
      code: 'rate_limited',
      message: 'Slow down',
      details: '{"retry_after_seconds": 3}',
      hint: null,
    }),
    detail: JSON.stringify({ status: 429, headers: { 'Retry-After': '3' } }),
  });
  assert.ok(error);
  assert.equal(error.status, 429);
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.message, 'Slow down');
  assert.equal(error.details, '{"retry_after_seconds": 3}');
  const response = error.toResponse();
  assert.equal(response.headers.get('retry-after'), '3');
});

Deno.test('details go out as text, as through PostgREST: an object as its JSON text', async () => {
  const fromObject = await new ApiError(400, 'invalid_argument', 'Unknown field', { argument: 'x' })
    .toResponse()
    .json();
  assert.equal(fromObject.details, '{"argument":"x"}');
  const fromText = await new ApiError(400, 'invalid_seq', 'Too far', '{"last_seq": 5}').toResponse().json();
  assert.equal(fromText.details, '{"last_seq": 5}');
});

Deno.test('standard SQLSTATEs map to 4xx like PostgREST, with the SQLSTATE as the code', () => {
  assert.equal(apiErrorFromSql({ code: '42501', message: 'permission denied' })?.status, 403);
  assert.equal(apiErrorFromSql({ code: '23505', message: 'duplicate key' })?.status, 409);
  const badUuid = apiErrorFromSql({ code: '22P02', message: 'invalid input syntax for type uuid: "x"' });
  assert.equal(badUuid?.status, 400);
  assert.equal(badUuid?.code, '22P02');
  assert.equal(badUuid?.message, 'invalid input syntax for type uuid: "x"');
  assert.equal(apiErrorFromSql({ code: 'PT402', message: 'pay' })?.status, 402);
});

Deno.test('unknown failures are not dressed up as client errors', () => {
  assert.equal(apiErrorFromSql({ code: 'XX000', message: 'internal' }), undefined);
  assert.equal(apiErrorFromSql({ code: '57014', message: 'canceling statement due to timeout' }), undefined);
  assert.equal(apiErrorFromSql({ code: 'P0002', message: 'no data found' }), undefined);
  assert.equal(apiErrorFromSql(new Error('socket closed')), undefined);
  assert.equal(apiErrorFromSql({ code: 'PGRST', message: 'not json' }), undefined);
  // postgres.js's own errors when the server ends a connection: not a client error to give up on.
  assert.equal(apiErrorFromSql({ code: 'CONNECTION_CLOSED', message: 'write CONNECTION_CLOSED' }), undefined);
  assert.equal(apiErrorFromSql({ code: 'CONNECTION_DESTROYED', message: 'destroyed' }), undefined);
  assert.equal(apiErrorFromSql({ code: 'EPIPE', message: 'write EPIPE' }), undefined);
  assert.equal(apiErrorFromSql({ code: 'ECONNRESET', message: 'read ECONNRESET' }), undefined);
});
