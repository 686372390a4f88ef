// Twilio signature checks against a signature computed independently with
// node:crypto (the same algorithm Twilio documents).

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { computeSignature, isValidSignature, signedPayload } from './twilio-signature.ts';

const token = '12345';
const url = 'https://example.supabase.co/functions/v1/twilio-webhook?channel=sms';
const params = new URLSearchParams({
  To: '+15005550006',
  From: '+14158675310',
  Body: 'Hello & welcome',
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
});

const reference = (payload: string) => createHmac('sha1', token).update(payload).digest('base64');

Deno.test('the signed payload is the URL followed by the sorted names and values', () => {
  assert.equal(
    signedPayload(url, params),
    `${url}BodyHello & welcomeFrom+14158675310MessageSidSM0123456789abcdef0123456789abcdefTo+15005550006`,
  );
});

Deno.test('the signature matches HMAC-SHA1 of the payload, base64', async () => {
  assert.equal(await computeSignature(token, url, params), reference(signedPayload(url, params)));
});

Deno.test('a correct signature is accepted', async () => {
  assert.equal(await isValidSignature(token, reference(signedPayload(url, params)), url, params), true);
});

Deno.test('a changed parameter, a wrong token or a missing header is refused', async () => {
  const signature = reference(signedPayload(url, params));
  const tampered = new URLSearchParams(params);
  tampered.set('Body', 'Hello & welcome!');
  assert.equal(await isValidSignature(token, signature, url, tampered), false);
  assert.equal(await isValidSignature('54321', signature, url, params), false);
  assert.equal(await isValidSignature(token, null, url, params), false);
  assert.equal(await isValidSignature('', signature, url, params), false);
});

Deno.test('a signature over the URL with an explicit default port is accepted', async () => {
  const withPort = 'https://example.supabase.co:443/functions/v1/twilio-webhook?channel=sms';
  assert.equal(await isValidSignature(token, reference(signedPayload(withPort, params)), url, params), true);
});

Deno.test('repeated parameters are signed in sorted order', () => {
  const repeated = new URLSearchParams([
    ['MediaUrl', 'b'],
    ['MediaUrl', 'a'],
  ]);
  assert.equal(signedPayload('u', repeated), 'uMediaUrlaMediaUrlb');
});
