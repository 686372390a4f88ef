import assert from 'node:assert/strict';
import { apiErrorFromSql } from './sql-errors.ts';

Deno.test('a PGRST error carries status, code, message, hint and headers', () => {
  const error = apiErrorFromSql({
    code: 'PGRST',
    message: JSON.stringify({
      code: 'rate_limited',
      message: 'Slow down',
      details: { retry_after_seconds: 3 },
      hint: null,
    }),
    detail: JSON.stringify({ status: 429, headers: { 'Retry-After': '3' } }),
  });
  assert.ok(error);
  assert.equal(error.status, 429);
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.message, 'Slow down');
  assert.deepEqual(error.details, { retry_after_seconds: 3 });
  const response = error.toResponse();
  assert.equal(response.headers.get('retry-after'), '3');
});

Deno.test('standard SQLSTATEs map to 4xx like PostgREST', () => {
  assert.equal(apiErrorFromSql({ code: '42501', message: 'permission denied' })?.status, 403);
  assert.equal(apiErrorFromSql({ code: '23505', message: 'duplicate key' })?.status, 409);
  assert.equal(
    apiErrorFromSql({ code: '22P02', message: 'invalid input syntax for type uuid' })?.status,
    400,
  );
});

Deno.test('unknown failures are not dressed up as client errors', () => {
  assert.equal(apiErrorFromSql({ code: 'XX000', message: 'internal' }), undefined);
  assert.equal(apiErrorFromSql(new Error('socket closed')), undefined);
  assert.equal(apiErrorFromSql({ code: 'PGRST', message: 'not json' }), undefined);
});
