// One attempt at one claimed outbound message: what to ask Twilio, and what to record.
//
// Twilio's create call has no idempotency key, so exactly-once rests on what we record:
// a claimed attempt is in doubt (the database marked it so before we call) until its
// outcome is recorded. Claimed again while in doubt (we crashed, timed out, or got a
// 5xx), the message is first looked up at Twilio — and a status callback, whose URL
// carries our message id, also records it — before it is ever posted again.

import {
  type CreateOutcome,
  type FoundMessage,
  LookupError,
  type OutboundMessage,
  type TwilioError,
} from './messages-api.ts';

export interface ClaimedSend {
  messageId: string;
  channel: string;
  to: string;
  /** null: no sending number was set for the channel when it was queued. */
  from: string | null;
  body: string;
  attempts: number;
  /** Deleted since it was queued: sent only if Twilio already has it. */
  deleted: boolean;
  /** When an earlier attempt, whose outcome is unknown, began. */
  lookUpSince: Date | null;
}

export interface Twilio {
  create(message: OutboundMessage): Promise<CreateOutcome>;
  find(query: { to: string; from: string; body: string; since: Date }): Promise<FoundMessage | null>;
}

export interface OutboxStore {
  record(messageId: string, sid: string, twilioStatus: string): Promise<void>;
  retry(
    messageId: string,
    delaySeconds: number,
    error: TwilioError,
    inDoubt: boolean,
  ): Promise<'retrying' | 'failed'>;
  end(messageId: string, state: 'failed' | 'canceled', error: TwilioError | null): Promise<void>;
}

export interface SendPolicy {
  /** The first retry's delay; each further one doubles it, up to MAX_DELAY_SECONDS. */
  retryBaseSeconds: number;
  statusCallback(messageId: string): string;
}

export type AttemptResult = 'sent' | 'found' | 'retrying' | 'failed' | 'canceled';

const MAX_DELAY_SECONDS = 15 * 60;

export function backoffSeconds(attempts: number, baseSeconds: number): number {
  return Math.min(MAX_DELAY_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
}

export async function attempt(
  send: ClaimedSend,
  twilio: Twilio,
  store: OutboxStore,
  policy: SendPolicy,
): Promise<AttemptResult> {
  const backoff = backoffSeconds(send.attempts, policy.retryBaseSeconds);
  if (send.lookUpSince && send.from) {
    let found: FoundMessage | null;
    try {
      found = await twilio.find({ to: send.to, from: send.from, body: send.body, since: send.lookUpSince });
    } catch (error) {
      if (!(error instanceof LookupError)) throw error;
      return store.retry(send.messageId, backoff, error.error, true);
    }
    if (found) {
      await store.record(send.messageId, found.sid, found.status);
      return 'found';
    }
  }
  if (send.deleted) {
    await store.end(send.messageId, 'canceled', null);
    return 'canceled';
  }
  if (!send.from) {
    await store.end(send.messageId, 'failed', {
      code: 'no_sending_number',
      message: `No sending number is set for ${send.channel}; an operator sets one with set_external_channel.`,
    });
    return 'failed';
  }
  const outcome = await twilio.create({
    to: send.to,
    from: send.from,
    body: send.body,
    statusCallback: policy.statusCallback(send.messageId),
  });
  switch (outcome.kind) {
    case 'created':
      await store.record(send.messageId, outcome.sid, outcome.status);
      return 'sent';
    case 'refused':
      await store.end(send.messageId, 'failed', outcome.error);
      return 'failed';
    case 'throttled':
      return store.retry(
        send.messageId,
        Math.max(backoff, outcome.retryAfterSeconds ?? 0),
        outcome.error,
        false,
      );
    case 'in_doubt':
      return store.retry(send.messageId, backoff, outcome.error, true);
  }
}
