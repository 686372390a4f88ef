// A FAKE RTCPeerConnection pair for the negotiation logic only: the signaling
// state machine (offer/answer, rollback, the errors of a description in the
// wrong state), negotiationneeded, trickled candidates, and a pre-negotiated
// data channel that opens once both sides hold both descriptions and a
// candidate of the other. No media, no real network.

type Handler<E> = ((event: E) => void) | null;

class FakeDescription {
  constructor(
    readonly type: RTCSdpType,
    readonly sdp: string,
  ) {}
  toJSON(): RTCSessionDescriptionInit {
    return { type: this.type, sdp: this.sdp };
  }
}

export class FakeNetwork {
  readonly peers: FakePeerConnection[] = [];
  create = (): RTCPeerConnection => {
    const pc = new FakePeerConnection(this);
    this.peers.push(pc);
    return pc as unknown as RTCPeerConnection;
  };
  /** The other end: the open peer connection created by the other side last. */
  otherOf(pc: FakePeerConnection): FakePeerConnection | undefined {
    return this.peers.filter((p) => p !== pc && p.connectionState !== 'closed').at(-1);
  }
}

class FakeChannel {
  readyState: RTCDataChannelState = 'connecting';
  onopen: Handler<Event> = null;
  onclose: Handler<Event> = null;
  onmessage: Handler<MessageEvent> = null;
  constructor(readonly pc: FakePeerConnection) {}
  send(data: string): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError: channel not open');
    const other = this.pc.network.otherOf(this.pc)?.channel;
    queueMicrotask(() => other?.onmessage?.({ data } as MessageEvent));
  }
  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.onclose?.(new Event('close'));
  }
}

export class FakePeerConnection {
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: FakeDescription | null = null;
  remoteDescription: FakeDescription | null = null;
  channel: FakeChannel | null = null;
  remoteCandidates = 0;
  onnegotiationneeded: Handler<Event> = null;
  onicecandidate: Handler<{ candidate: { toJSON(): RTCIceCandidateInit } | null }> = null;
  onconnectionstatechange: Handler<Event> = null;
  private offers = 0;

  constructor(readonly network: FakeNetwork) {}

  createDataChannel(_label: string, init: RTCDataChannelInit): FakeChannel {
    if (!init.negotiated) throw new Error('the fake only knows pre-negotiated channels');
    this.channel = new FakeChannel(this);
    queueMicrotask(() => this.onnegotiationneeded?.(new Event('negotiationneeded')));
    return this.channel;
  }

  async setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description?.type === 'rollback') {
      if (this.signalingState !== 'have-local-offer')
        throw new Error('InvalidStateError: nothing to roll back');
      this.signalingState = 'stable';
      this.localDescription = null;
      return;
    }
    if (this.signalingState === 'stable') {
      this.localDescription = new FakeDescription('offer', `offer-${++this.offers}`);
      this.signalingState = 'have-local-offer';
    } else if (this.signalingState === 'have-remote-offer') {
      this.localDescription = new FakeDescription('answer', `answer-to-${this.remoteDescription?.sdp}`);
      this.signalingState = 'stable';
    } else {
      throw new Error(`InvalidStateError: setLocalDescription in ${this.signalingState}`);
    }
    this.trickle();
    this.maybeConnect();
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description.type === 'offer') {
      if (this.signalingState !== 'stable')
        throw new Error(`InvalidStateError: offer in ${this.signalingState}`);
      this.signalingState = 'have-remote-offer';
    } else if (description.type === 'answer') {
      if (this.signalingState !== 'have-local-offer')
        throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      this.signalingState = 'stable';
    }
    this.remoteDescription = new FakeDescription(description.type as RTCSdpType, description.sdp ?? '');
    this.maybeConnect();
  }

  async addIceCandidate(candidate?: RTCIceCandidateInit): Promise<void> {
    await Promise.resolve();
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    if (candidate) this.remoteCandidates += 1;
    this.maybeConnect();
  }

  close(): void {
    if (this.connectionState === 'closed') return;
    this.connectionState = 'closed';
    this.channel?.close();
    const other = this.network.otherOf(this);
    if (other?.channel?.readyState === 'open') other.channel.close();
  }

  /** The path between the two ends breaks. */
  fail(): void {
    this.connectionState = 'failed';
    this.onconnectionstatechange?.(new Event('connectionstatechange'));
  }

  private trickle(): void {
    queueMicrotask(() => {
      this.onicecandidate?.({
        candidate: { toJSON: () => ({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' }) },
      });
      this.onicecandidate?.({ candidate: null });
    });
  }

  private maybeConnect(): void {
    const other = this.network.otherOf(this);
    const ready = (pc: FakePeerConnection) =>
      pc.signalingState === 'stable' &&
      pc.localDescription &&
      pc.remoteDescription &&
      pc.remoteCandidates > 0;
    if (!other || !ready(this) || !ready(other) || this.connectionState === 'connected') return;
    for (const pc of [this, other]) {
      pc.connectionState = 'connected';
      pc.onconnectionstatechange?.(new Event('connectionstatechange'));
      if (pc.channel && pc.channel.readyState === 'connecting') {
        pc.channel.readyState = 'open';
        pc.channel.onopen?.(new Event('open'));
      }
    }
  }
}
