// The WebRTC fast path across open direct conversations: a PeerLink while both
// people have the conversation open (presence says so), started by either side,
// closed when either leaves or the link fails — then messages simply keep
// coming through Realtime. Every message is still sent through `send-message`;
// the peer's copy is shown at once and replaced by the stored one (same client_id).

import type { ChatContext } from './context.ts';
import type { Conversation } from './conversation.ts';
import type { OutboxItem } from './outbox-storage.ts';
import { PeerLink, type PeerPayload } from './peer-link.ts';
import type { SignalEvent, SignalType } from './types.ts';

export interface WebRtcOptions {
  iceServers?: RTCIceServer[];
  /** Makes the peer connection (default: `new RTCPeerConnection({iceServers})`). */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

interface Hooks {
  conversation(id: string): Conversation | undefined;
  onLinks(open: number): void;
}

export class PeerLinks {
  private readonly links = new Map<string, { link: PeerLink; peerId: string }>();
  private openCount = 0;

  constructor(
    private readonly context: ChatContext,
    private readonly options: WebRtcOptions,
    private readonly hooks: Hooks,
  ) {}

  /** Presence changed in a conversation: start a link when the other person is there, end it when gone. */
  onPresence(conversationId: string, online: readonly string[]): void {
    const peerId = this.peerOf(conversationId);
    if (!peerId) return;
    const current = this.links.get(conversationId);
    if (online.includes(peerId)) {
      if (!current || current.link.isClosed) this.link(conversationId, peerId);
    } else if (current) {
      current.link.close(false);
      this.links.delete(conversationId);
    }
  }

  onSignal(signal: SignalEvent): void {
    const peerId = this.peerOf(signal.conversation_id);
    if (!peerId || signal.from !== peerId) return;
    let current = this.links.get(signal.conversation_id);
    if (!current || current.link.isClosed) {
      if (signal.type !== 'offer') return;
      current = { link: this.link(signal.conversation_id, peerId), peerId };
    }
    current.link.onSignal(signal.type, signal.payload).catch(() => current?.link.close(false));
  }

  message(item: OutboxItem): void {
    this.links.get(item.conversation_id)?.link.send({
      t: 'message',
      client_id: item.client_id,
      body: item.body,
      reply_to: item.reply_to,
      metadata: item.metadata,
      created_at: new Date(item.queued_at).toISOString(),
    });
  }

  typing(conversationId: string, typing: boolean): void {
    this.links.get(conversationId)?.link.send({ t: 'typing', typing });
  }

  closeConversation(conversationId: string): void {
    this.links.get(conversationId)?.link.close();
    this.links.delete(conversationId);
  }

  close(): void {
    for (const id of [...this.links.keys()]) this.closeConversation(id);
  }

  /** The other member of an open direct conversation. */
  private peerOf(conversationId: string): string | undefined {
    const conversation = this.hooks.conversation(conversationId);
    if (conversation?.kind !== 'direct') return undefined;
    return conversation.memberIds.find((id) => id !== this.context.userId);
  }

  private link(conversationId: string, peerId: string): PeerLink {
    this.links.get(conversationId)?.link.close(false);
    const create =
      this.options.createPeerConnection ?? ((config: RTCConfiguration) => new RTCPeerConnection(config));
    let sent: Promise<unknown> = Promise.resolve();
    const link = new PeerLink({
      clock: this.context.clock,
      polite: this.context.userId < peerId,
      createPeerConnection: () => create({ iceServers: this.options.iceServers ?? [] }),
      // One call at a time, so the peer gets offer, answer and candidates in the order they were made.
      signal: (type: SignalType, payload: unknown) => {
        sent = sent
          .then(() =>
            this.context.transport.invoke('signal', {
              conversation_id: conversationId,
              to: peerId,
              type,
              payload,
            }),
          )
          .catch(() => undefined); // a lost signal: the link does not open, Realtime carries on
      },
      onPayload: (payload: PeerPayload) => this.receive(conversationId, peerId, payload),
      onOpenChange: (open) => {
        this.openCount += open ? 1 : -1;
        this.hooks.conversation(conversationId)?.setPeerLink(open);
        this.hooks.onLinks(this.openCount);
      },
    });
    this.links.set(conversationId, { link, peerId });
    return link;
  }

  private receive(conversationId: string, peerId: string, payload: PeerPayload): void {
    const conversation = this.hooks.conversation(conversationId);
    if (!conversation) return;
    if (payload.t === 'typing') {
      conversation.receivePeerTyping(peerId, payload.typing);
      return;
    }
    conversation.receivePeerMessage({ ...payload, sender_id: peerId });
  }
}
