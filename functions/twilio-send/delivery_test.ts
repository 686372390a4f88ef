// The decisions of one attempt, against a scripted Twilio and an outbox that records calls.

import assert from 'node:assert/strict';
import { type AttemptResult, attempt, backoffSeconds, type ClaimedSend, type Twilio } from './delivery.ts';
import { type CreateOutcome, type FoundMessage, LookupError } from './messages-api.ts';

const claimed = (overrides: Partial<ClaimedSend> = {}): ClaimedSend => ({
  messageId: 'm1',
  channel: 'sms',
  to: '+14155550100',
  from: '+14155550199',
  body: 'Your parcel is on its way',
  attempts: 1,
  deleted: false,
  lookUpSince: null,
  ...overrides,
});

function run(send: ClaimedSend, create: CreateOutcome | null, found: FoundMessage | null | 'fails' = null) {
  const calls: string[] = [];
  const twilio: Twilio = {
    create: async (message) => {
      calls.push(`create ${message.to} ${message.from} ${message.body} ${message.statusCallback}`);
      if (!create) throw new Error('create was not expected');
      return create;
    },
    find: async () => {
      calls.push('find');
      if (found === 'fails') throw new LookupError({ code: 'timeout', message: 'no answer' });
      return found;
    },
  };
  const store = {
    record: async (id: string, sid: string, status: string) =>
      void calls.push(`record ${id} ${sid} ${status}`),
    retry: async (id: string, delay: number, error: { code: string }, inDoubt: boolean) => {
      calls.push(`retry ${id} ${delay} ${error.code} ${inDoubt ? 'in doubt' : 'not created'}`);
      return 'retrying' as const;
    },
    end: async (id: string, state: string, error: { code: string } | null) =>
      void calls.push(`end ${id} ${state} ${error?.code ?? '-'}`),
  };
  const policy = { retryBaseSeconds: 5, statusCallback: (id: string) => `https://cb/?message_id=${id}` };
  return attempt(send, twilio, store, policy).then((result: AttemptResult) => ({ result, calls }));
}

Deno.test('a first attempt posts To, From, Body and our status callback, and records the sid', async () => {
  const { result, calls } = await run(claimed(), { kind: 'created', sid: 'SM9', status: 'queued' });
  assert.equal(result, 'sent');
  assert.deepEqual(calls, [
    'create +14155550100 +14155550199 Your parcel is on its way https://cb/?message_id=m1',
    'record m1 SM9 queued',
  ]);
});

Deno.test('a refusal (4xx) fails the message without a retry', async () => {
  const refused: CreateOutcome = {
    kind: 'refused',
    error: { code: '21211', message: 'bad To', status: 400 },
  };
  const { result, calls } = await run(claimed(), refused);
  assert.equal(result, 'failed');
  assert.deepEqual(calls.slice(1), ['end m1 failed 21211']);
});

Deno.test('a 429 retries not before Retry-After, and not in doubt; a 5xx retries with backoff, in doubt', async () => {
  const throttled: CreateOutcome = {
    kind: 'throttled',
    error: { code: '20429', message: 'Too Many Requests', status: 429 },
    retryAfterSeconds: 30,
  };
  assert.deepEqual((await run(claimed(), throttled)).calls.slice(1), ['retry m1 30 20429 not created']);
  const busy: CreateOutcome = { kind: 'in_doubt', error: { code: 'http_500', message: 'oops', status: 500 } };
  assert.deepEqual((await run(claimed({ attempts: 3 }), busy)).calls.slice(1), [
    'retry m1 20 http_500 in doubt',
  ]);
});

Deno.test('an attempt after one in doubt looks the message up first, and does not post what Twilio has', async () => {
  const since = new Date('2026-07-01T10:00:00Z');
  const { result, calls } = await run(claimed({ lookUpSince: since }), null, { sid: 'SM7', status: 'sent' });
  assert.equal(result, 'found');
  assert.deepEqual(calls, ['find', 'record m1 SM7 sent']);
});

Deno.test('an attempt after one in doubt posts only when the lookup finds nothing', async () => {
  const since = new Date('2026-07-01T10:00:00Z');
  const { calls } = await run(claimed({ lookUpSince: since }), {
    kind: 'created',
    sid: 'SM8',
    status: 'queued',
  });
  assert.equal(calls[0], 'find');
  assert.match(calls[1] as string, /^create /);
});

Deno.test('a lookup Twilio cannot answer is retried later, still in doubt, without posting', async () => {
  const { calls } = await run(claimed({ lookUpSince: new Date() }), null, 'fails');
  assert.deepEqual(calls, ['find', 'retry m1 5 timeout in doubt']);
});

Deno.test('a message deleted before it went is canceled, unless Twilio already has it', async () => {
  assert.deepEqual((await run(claimed({ deleted: true }), null)).calls, ['end m1 canceled -']);
  const found = await run(claimed({ deleted: true, lookUpSince: new Date() }), null, {
    sid: 'SM1',
    status: 'sent',
  });
  assert.equal(found.result, 'found');
});

Deno.test('without a sending number the message fails with no_sending_number', async () => {
  assert.deepEqual((await run(claimed({ from: null }), null)).calls, ['end m1 failed no_sending_number']);
});

Deno.test('backoff doubles from the base and stops at 15 minutes', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => backoffSeconds(n, 5)),
    [5, 10, 20, 40],
  );
  assert.equal(backoffSeconds(20, 5), 900);
  assert.equal(backoffSeconds(3, 0), 0);
});
