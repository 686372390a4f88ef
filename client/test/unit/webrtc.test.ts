// The WebRTC fast path with a FAKE peer connection (support/fake-webrtc.ts):
// perfect negotiation when both sides offer at once, candidates trickled over
// the signal relay, messages and typing peer to peer while every message is
// still stored by send-message and shown once, and a failed link that only
// changes the transport.

import { expect, it } from 'vitest';
import { ChatError } from '../../src/errors.ts';
import { PeerLink } from '../../src/peer-link.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';
import { FakeNetwork, type FakePeerConnection } from '../support/fake-webrtc.ts';
import { bodies, modelWorld } from '../support/model-chat.ts';

it('negotiates a data channel through glare, carries messages and typing, and falls back to Realtime when it fails', async () => {
  const world = modelWorld();
  const network = new FakeNetwork();
  const webrtc = { createPeerConnection: network.create };
  const id = world.server.createConversation('direct', ['alice', 'bob']);
  const alice = await world.client('alice', { webrtc });
  const bob = await world.client('bob', { webrtc });
  const aliceView = alice.chat.open(id);
  const bobView = bob.chat.open(id);
  await world.clock.advance(1_000);

  // Both saw each other at once and both offered: the polite side rolled back.
  const offers = world.server.calls.filter((c) => c.name === 'signal' && c.args.type === 'offer');
  expect(new Set(offers.map((c) => c.user))).toEqual(new Set(['alice', 'bob']));
  expect(world.server.calls.some((c) => c.name === 'signal' && c.args.type === 'ice')).toBe(true);
  expect(aliceView.store.getSnapshot().transport).toBe('webrtc');
  expect(bobView.store.getSnapshot().transport).toBe('webrtc');
  expect(bob.chat.connection.getSnapshot().transport).toBe('webrtc');

  // The server is slow to store alice's message: bob already has it peer to peer.
  world.server.sendFailures.push(new ChatError({ status: 503, code: 'unavailable', message: 'busy' }));
  const { client_id } = await aliceView.send('fast');
  await settle();
  expect(bobView.store.getSnapshot().messages).toMatchObject([
    { body: 'fast', via: 'webrtc', seq: null, client_id },
  ]);
  await world.clock.advance(2_000); // the retry stores it
  expect(bobView.store.getSnapshot().messages).toMatchObject([
    { body: 'fast', via: 'server', seq: 1, client_id },
  ]);
  expect(world.server.timeline(id)).toHaveLength(1);

  aliceView.keystroke();
  await settle();
  expect(bobView.typing.getSnapshot()).toEqual(['alice']);

  // The link breaks: only the transport changes, messages keep coming.
  (network.peers.find((pc) => pc.connectionState === 'connected') as FakePeerConnection).fail();
  await settle();
  expect(bobView.store.getSnapshot().transport).toBe('realtime');
  expect(aliceView.store.getSnapshot().transport).toBe('realtime');
  await aliceView.send('slow');
  await settle();
  expect(bodies(bobView.store.getSnapshot().messages)).toEqual(['1:fast', '2:slow']);
  world.closeAll();
});

it('applies signals one after another, and holds candidates that arrive ahead of their offer', async () => {
  const clock = new FakeClock();
  const network = new FakeNetwork();
  const sent: { type: string; payload: unknown }[] = [];
  const link = new PeerLink({
    clock,
    polite: true,
    createPeerConnection: network.create,
    signal: (type, payload) => sent.push({ type, payload }),
    onPayload: () => undefined,
    onOpenChange: () => undefined,
  });
  const pc = network.peers[0] as FakePeerConnection;
  const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' };

  // Realtime hands over each signal at once, without waiting for the one before.
  const early = link.onSignal('ice', { candidates: [candidate] });
  const offer = link.onSignal('offer', { type: 'offer', sdp: 'offer-remote' });
  const later = link.onSignal('ice', { candidates: [candidate, null] });
  await Promise.all([early, offer, later]);
  await settle();

  expect(link.isClosed).toBe(false);
  expect(pc.remoteDescription?.sdp).toBe('offer-remote');
  expect(pc.remoteCandidates).toBe(2);
  expect(sent.filter((s) => s.type === 'answer')).toEqual([
    { type: 'answer', payload: { type: 'answer', sdp: 'answer-to-offer-remote' } },
  ]);
  // What is neither a description nor a candidate list changes nothing.
  await link.onSignal('answer', { type: 'answer' });
  await link.onSignal('ice', { candidates: 'none' });
  expect(link.isClosed).toBe(false);
  expect(pc.signalingState).toBe('stable');
  link.close(false);
});
