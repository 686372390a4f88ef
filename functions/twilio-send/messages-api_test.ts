import assert from 'node:assert/strict';
import { classifyCreateAnswer, retryAfterSeconds } from './messages-api.ts';

const noHeaders = new Headers();

Deno.test('a 201 with a sid is created, with the status Twilio gave', () => {
  assert.deepEqual(classifyCreateAnswer(201, noHeaders, { sid: 'SM1', status: 'accepted' }), {
    kind: 'created',
    sid: 'SM1',
    status: 'accepted',
  });
});

Deno.test('a 2xx without a sid is in doubt, not a success', () => {
  assert.equal(classifyCreateAnswer(200, noHeaders, {}).kind, 'in_doubt');
});

Deno.test('a 400 is refused for good, keeping Twilio’s code and message', () => {
  const outcome = classifyCreateAnswer(400, noHeaders, {
    code: 21211,
    message: "The 'To' number is not a valid phone number.",
    status: 400,
  });
  assert.deepEqual(outcome, {
    kind: 'refused',
    error: { code: '21211', message: "The 'To' number is not a valid phone number.", status: 400 },
  });
});

Deno.test('a 429 is throttled with its Retry-After; a 5xx is in doubt', () => {
  const throttled = classifyCreateAnswer(429, new Headers({ 'retry-after': '7' }), { code: 20429 });
  assert.equal(throttled.kind, 'throttled');
  assert.equal(throttled.kind === 'throttled' && throttled.retryAfterSeconds, 7);
  assert.equal(classifyCreateAnswer(500, noHeaders, null).kind, 'in_doubt');
  assert.equal(classifyCreateAnswer(503, noHeaders, 'busy').kind, 'in_doubt');
});

Deno.test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-07-01T10:00:00Z');
  assert.equal(retryAfterSeconds('12', now), 12);
  assert.equal(retryAfterSeconds('Wed, 01 Jul 2026 10:00:30 GMT', now), 30);
  assert.equal(retryAfterSeconds('soon', now), null);
  assert.equal(retryAfterSeconds(null, now), null);
});
