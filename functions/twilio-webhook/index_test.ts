// The webhook's configuration, on the function itself (its database is never
// reached here): without TWILIO_AUTH_TOKEN it answers 503, and the signature
// covers TWILIO_WEBHOOK_URL, when set, instead of the project's own URL.
// Signatures are computed independently with node:crypto.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import handler from './index.ts';

const token = 'webhook-test-token';
const projectUrl = 'http://project.example.test';
const configuredUrl = 'https://hooks.example.test/twilio/sms';
// No MessageSid: once the signature is accepted the request is refused as not a message (400),
// before anything is written.
const notAMessage = new URLSearchParams({ From: '+14158675310', To: '+15005550006' });

function sign(url: string, params: URLSearchParams): string {
  let payload = url;
  for (const name of [...new Set(params.keys())].sort()) payload += name + params.get(name);
  return createHmac('sha1', token).update(payload).digest('base64');
}

/** Runs `work` with these variables set (undefined: unset), restoring them afterwards. */
async function withEnv(vars: Record<string, string | undefined>, work: () => Promise<void>) {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, Deno.env.get(name)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
  apply(vars);
  try {
    await work();
  } finally {
    apply(saved);
  }
}

/** The request as the function sees it behind the gateway (its own host, the project's query). */
const post = (signature: string, query = '') =>
  handler.fetch(
    new Request(`http://127.0.0.1:8000/twilio-webhook${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: notAMessage.toString(),
    }),
  );

Deno.test('without TWILIO_AUTH_TOKEN the webhook answers 503 not_configured', async () => {
  await withEnv({ TWILIO_AUTH_TOKEN: undefined, SUPABASE_URL: projectUrl }, async () => {
    const response = await post(sign(`${projectUrl}/functions/v1/twilio-webhook`, notAMessage));
    assert.equal(response.status, 503);
    assert.equal((await response.json()).code, 'not_configured');
  });
});

Deno.test('without TWILIO_WEBHOOK_URL the signature covers the project URL of the function', async () => {
  await withEnv(
    { TWILIO_AUTH_TOKEN: token, TWILIO_WEBHOOK_URL: undefined, SUPABASE_URL: projectUrl },
    async () => {
      const accepted = await post(
        sign(`${projectUrl}/functions/v1/twilio-webhook?tenant=a`, notAMessage),
        '?tenant=a',
      );
      assert.equal(accepted.status, 400);
      assert.equal((await accepted.json()).code, 'invalid_webhook');
      assert.equal((await post(sign(configuredUrl, notAMessage))).status, 403);
    },
  );
});

Deno.test('with TWILIO_WEBHOOK_URL the signature covers that URL (and the query Twilio called it with)', async () => {
  await withEnv(
    { TWILIO_AUTH_TOKEN: token, TWILIO_WEBHOOK_URL: configuredUrl, SUPABASE_URL: projectUrl },
    async () => {
      const accepted = await post(sign(`${configuredUrl}?tenant=a`, notAMessage), '?tenant=a');
      assert.equal(accepted.status, 400);
      assert.equal((await accepted.json()).code, 'invalid_webhook');
      const forProjectUrl = await post(sign(`${projectUrl}/functions/v1/twilio-webhook`, notAMessage));
      assert.equal(forProjectUrl.status, 403);
      assert.equal((await forProjectUrl.json()).code, 'invalid_signature');
    },
  );
});
