import assert from 'node:assert/strict';
import { parseInbound } from './inbound.ts';

const sid = 'SM0123456789abcdef0123456789abcdef';

Deno.test('an SMS sender becomes channel sms with its number', () => {
  const parsed = parseInbound(
    new URLSearchParams({ MessageSid: sid, From: '+14155550123', Body: 'Hi there' }),
  );
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.message, {
    channel: 'sms',
    address: '+14155550123',
    messageSid: sid,
    body: 'Hi there',
    profileName: null,
    media: [],
  });
});

Deno.test('a whatsapp: sender becomes channel whatsapp, with its profile name and media', () => {
  const parsed = parseInbound(
    new URLSearchParams({
      MessageSid: sid,
      From: 'whatsapp:+447700900123',
      Body: '',
      ProfileName: 'Ann',
      NumMedia: '1',
      MediaUrl0: 'https://media.example/1',
      MediaContentType0: 'image/jpeg',
    }),
  );
  assert.ok(parsed.ok);
  assert.equal(parsed.message.channel, 'whatsapp');
  assert.equal(parsed.message.address, '+447700900123');
  assert.equal(parsed.message.profileName, 'Ann');
  assert.equal(parsed.message.body, '[1 attachment]');
  assert.deepEqual(parsed.message.media, [{ url: 'https://media.example/1', contentType: 'image/jpeg' }]);
});

Deno.test('missing or malformed fields are reported', () => {
  assert.equal(parseInbound(new URLSearchParams({ From: '+14155550123' })).ok, false);
  assert.equal(parseInbound(new URLSearchParams({ MessageSid: 'nope', From: '+14155550123' })).ok, false);
  const badNumber = parseInbound(new URLSearchParams({ MessageSid: sid, From: 'whatsapp:hello' }));
  assert.equal(badNumber.ok, false);
  if (!badNumber.ok) assert.match(badNumber.problem, /E\.164/);
});

Deno.test('a message without text or media still has a body', () => {
  const parsed = parseInbound(new URLSearchParams({ MessageSid: sid, From: '+14155550123', Body: '  ' }));
  assert.ok(parsed.ok);
  assert.equal(parsed.message.body, '[empty message]');
});
