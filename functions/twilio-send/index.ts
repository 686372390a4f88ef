// twilio-send (verify_jwt = false): sends what the outbox holds due. The database calls
// it through pg_net after a message is queued and every 10 seconds while anything is
// due (pg_cron); calling it more often changes nothing but how soon: it only claims
// due rows, each for one attempt under a lease (see delivery.ts for exactly-once).
// POST (any body) → 200 {sent, found, retrying, failed, canceled}: what this call did.
//
// Configuration (secrets): TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_BASE_URL
// (default https://api.twilio.com), TWILIO_STATUS_CALLBACK_URL (where Twilio posts
// status callbacks; default SUPABASE_URL/functions/v1/twilio-status). Tuning:
// TWILIO_RETRY_BASE_SECONDS (5), TWILIO_MAX_ATTEMPTS (8), TWILIO_REQUEST_TIMEOUT_SECONDS
// (10) and TWILIO_SEND_LEASE_SECONDS (60, at least 3 request timeouts).

import { database } from '../_shared/db.ts';
import { ApiError } from '../_shared/errors.ts';
import { createHandler, json } from '../_shared/handler.ts';
import { type AttemptResult, attempt, type ClaimedSend, type OutboxStore } from './delivery.ts';
import { createMessage, findMessage, type TwilioAccount } from './messages-api.ts';

const BATCH = 10;
/** Stop claiming after this long, so that one call ends well within the platform's limits. */
const WORK_BUDGET_MS = 30_000;

function numberSetting(name: string, fallback: number, minimum: number): number {
  const raw = Deno.env.get(name);
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < minimum) {
    throw new ApiError(503, 'not_configured', `${name} must be a number of at least ${minimum}`);
  }
  return value;
}

function settings() {
  const accountSid = Deno.env.get('TWILIO_ACCOUNT_SID');
  const authToken = Deno.env.get('TWILIO_AUTH_TOKEN');
  if (!accountSid || !authToken) {
    throw new ApiError(
      503,
      'not_configured',
      'Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send through Twilio',
    );
  }
  const timeoutSeconds = numberSetting('TWILIO_REQUEST_TIMEOUT_SECONDS', 10, 1);
  const account: TwilioAccount = {
    accountSid,
    authToken,
    baseUrl: Deno.env.get('TWILIO_API_BASE_URL') || 'https://api.twilio.com',
    timeoutMs: timeoutSeconds * 1000,
  };
  const callbackUrl =
    Deno.env.get('TWILIO_STATUS_CALLBACK_URL') ||
    `${Deno.env.get('SUPABASE_URL')}/functions/v1/twilio-status`;
  return {
    account,
    // A lookup and a create fit in a lease, with room to record the outcome.
    leaseSeconds: Math.max(numberSetting('TWILIO_SEND_LEASE_SECONDS', 60, 1), 3 * timeoutSeconds),
    maxAttempts: numberSetting('TWILIO_MAX_ATTEMPTS', 8, 1),
    policy: {
      retryBaseSeconds: numberSetting('TWILIO_RETRY_BASE_SECONDS', 5, 0),
      statusCallback: (messageId: string) =>
        `${callbackUrl}${callbackUrl.includes('?') ? '&' : '?'}message_id=${encodeURIComponent(messageId)}`,
    },
  };
}

interface ClaimRow {
  message_id: string;
  channel: string;
  to_address: string;
  from_address: string | null;
  body: string;
  attempts: number;
  deleted: boolean;
  look_up_since: Date | null;
}

export default createHandler('twilio-send', async (request, context) => {
  if (request.method !== 'POST')
    throw new ApiError(405, 'method_not_allowed', `Use POST, not ${request.method}`);
  await request.body?.cancel();
  const { account, leaseSeconds, maxAttempts, policy } = settings();
  const sql = database();
  const store: OutboxStore = {
    async record(messageId, sid, twilioStatus) {
      await sql`select private.record_external_send(${messageId}::uuid, ${sid}, ${twilioStatus})`;
    },
    async retry(messageId, delaySeconds, error, inDoubt) {
      const [row] = await sql<{ outcome: 'retrying' | 'failed' }[]>`
        select private.retry_external_send(${messageId}::uuid, ${delaySeconds}, ${sql.json({ ...error })},
                                           ${inDoubt}, ${maxAttempts}) as outcome`;
      return row?.outcome ?? 'retrying';
    },
    async end(messageId, state, error) {
      await sql`select private.end_external_send(${messageId}::uuid, ${state}, ${error ? sql.json({ ...error }) : null})`;
    },
  };
  const twilio = {
    create: (message: Parameters<typeof createMessage>[1]) => createMessage(account, message),
    find: (query: { to: string; from: string; body: string; since: Date }) =>
      findMessage(account, {
        ...query,
        taken: async (sids) => {
          const rows = await sql<{ sid: string }[]>`
            select o.sid from private.external_outbox o where o.sid = any(${sids})`;
          return new Set(rows.map((row) => row.sid));
        },
      }),
  };

  const counts: Record<AttemptResult, number> = { sent: 0, found: 0, retrying: 0, failed: 0, canceled: 0 };
  const started = Date.now();
  while (Date.now() - started < WORK_BUDGET_MS) {
    const claimed = await sql<
      ClaimRow[]
    >`select * from private.claim_external_sends(${BATCH}, ${leaseSeconds})`;
    if (claimed.length === 0) break;
    const results = await Promise.all(
      claimed.map(async (row) => {
        const send: ClaimedSend = {
          messageId: row.message_id,
          channel: row.channel,
          to: row.to_address,
          from: row.from_address,
          body: row.body,
          attempts: row.attempts,
          deleted: row.deleted,
          lookUpSince: row.look_up_since,
        };
        const result = await attempt(send, twilio, store, policy);
        context.log(result, { message_id: send.messageId, attempt: send.attempts });
        return result;
      }),
    );
    for (const result of results) counts[result]++;
  }
  return json(counts);
});
