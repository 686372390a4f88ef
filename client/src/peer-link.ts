// One WebRTC data channel between two members of a direct conversation,
// negotiated with the perfect-negotiation pattern over the `signal` relay:
// both sides may offer at once; the polite side (the lower user id) rolls back
// its own offer, the impolite one ignores the colliding offer. ICE candidates
// are trickled in small batches. The channel is pre-negotiated (id 0), so
// both sides create it and neither waits for `datachannel`.

import type { Clock } from './clock.ts';
import type { SignalType } from './types.ts';

/** What goes over the data channel. */
export type PeerPayload =
  | {
      t: 'message';
      client_id: string;
      body: string;
      reply_to: string | null;
      metadata: Record<string, unknown>;
      created_at: string;
    }
  | { t: 'typing'; typing: boolean };

export interface PeerLinkOptions {
  clock: Clock;
  polite: boolean;
  createPeerConnection: () => RTCPeerConnection;
  signal(type: SignalType, payload: unknown): void;
  onPayload(payload: PeerPayload): void;
  onOpenChange(open: boolean): void;
  /** Gathers candidates for this long before sending them in one signal. */
  iceBatchMs?: number;
}

export class PeerLink {
  private readonly pc: RTCPeerConnection;
  private readonly channel: RTCDataChannel;
  private makingOffer = false;
  private ignoreOffer = false;
  private candidates: (RTCIceCandidateInit | null)[] = [];
  private cancelIceBatch: (() => void) | undefined;
  private open = false;
  private closed = false;
  private signals: Promise<void> = Promise.resolve();
  private readonly earlyCandidates: (RTCIceCandidateInit | null)[] = [];

  constructor(private readonly options: PeerLinkOptions) {
    this.pc = options.createPeerConnection();
    this.pc.onnegotiationneeded = () => void this.offer();
    this.pc.onicecandidate = ({ candidate }) => this.queueCandidate(candidate ? candidate.toJSON() : null);
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed' || this.pc.connectionState === 'closed') this.close(false);
    };
    this.channel = this.pc.createDataChannel('supachat', { negotiated: true, id: 0, ordered: true });
    this.channel.onopen = () => this.setOpen(true);
    this.channel.onclose = () => this.close(false);
    this.channel.onmessage = (event: MessageEvent) => this.receive(event.data);
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(payload: PeerPayload): boolean {
    if (!this.open || this.channel.readyState !== 'open') return false;
    this.channel.send(JSON.stringify(payload));
    return true;
  }

  /**
   * A signal from the peer (already checked to come from them, for this
   * conversation). Signals are applied one after another, in arrival order:
   * an answer or a candidate must not race the offer still being applied.
   */
  onSignal(type: SignalType, payload: unknown): Promise<void> {
    const applied = this.signals.then(() => this.apply(type, payload));
    this.signals = applied.catch(() => undefined);
    return applied;
  }

  private async apply(type: SignalType, payload: unknown): Promise<void> {
    if (this.closed) return;
    if (type === 'bye') {
      this.close(false);
      return;
    }
    if (type === 'ice') {
      const candidates = (payload as { candidates?: unknown } | null)?.candidates;
      if (!Array.isArray(candidates)) return;
      for (const candidate of candidates as (RTCIceCandidateInit | null)[]) {
        // Candidates of an offer we ignore are dropped; those ahead of their offer wait for it.
        if (this.ignoreOffer) continue;
        if (!this.pc.remoteDescription) this.earlyCandidates.push(candidate);
        else await this.addCandidate(candidate);
      }
      return;
    }
    if (!isDescription(payload) || payload.type !== type) return;
    const collision = payload.type === 'offer' && (this.makingOffer || this.pc.signalingState !== 'stable');
    this.ignoreOffer = !this.options.polite && collision;
    if (this.ignoreOffer) return;
    if (collision) await this.pc.setLocalDescription({ type: 'rollback' });
    await this.pc.setRemoteDescription(payload);
    for (const candidate of this.earlyCandidates.splice(0)) await this.addCandidate(candidate);
    if (payload.type === 'offer') {
      await this.pc.setLocalDescription();
      this.options.signal('answer', this.pc.localDescription?.toJSON());
    }
  }

  private async addCandidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate ?? undefined);
    } catch (error) {
      if (!this.ignoreOffer) throw error;
    }
  }

  /** Ends the link; `sayBye` tells the peer (when we leave, not when it failed). */
  close(sayBye = true): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelIceBatch?.();
    if (sayBye) this.options.signal('bye', null);
    this.channel.close();
    this.pc.close();
    this.setOpen(false);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async offer(): Promise<void> {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      // The peer's offer may have rolled ours back meanwhile: then there is nothing to send.
      const offer = this.pc.localDescription;
      if (offer?.type === 'offer' && this.pc.signalingState === 'have-local-offer')
        this.options.signal('offer', offer.toJSON());
    } finally {
      this.makingOffer = false;
    }
  }

  private queueCandidate(candidate: RTCIceCandidateInit | null): void {
    this.candidates.push(candidate);
    if (this.cancelIceBatch) return;
    this.cancelIceBatch = this.options.clock.setTimeout(() => {
      this.cancelIceBatch = undefined;
      const candidates = this.candidates.splice(0);
      if (!this.closed) this.options.signal('ice', { candidates });
    }, this.options.iceBatchMs ?? 50);
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    try {
      const payload = JSON.parse(data) as PeerPayload;
      if (payload && (payload.t === 'message' || payload.t === 'typing')) this.options.onPayload(payload);
    } catch {
      // Not ours: ignore.
    }
  }

  private setOpen(open: boolean): void {
    if (this.open === open) return;
    this.open = open;
    this.options.onOpenChange(open);
  }
}

function isDescription(payload: unknown): payload is RTCSessionDescriptionInit {
  if (typeof payload !== 'object' || payload === null) return false;
  const { type, sdp } = payload as { type?: unknown; sdp?: unknown };
  return (type === 'offer' || type === 'answer') && typeof sdp === 'string';
}
