// Who listens where. A topic exists twice: once in the public space (channels
// joined without `private`) and once in the private space (joined with
// `private: true`, authorized by RLS); a message sent to one space never
// reaches the other. Fan-out encodes each message once per serializer and
// applies the platform's delivery rules: the sender is skipped unless it asked
// for `self`, private channels get broadcasts only with broadcast read
// permission and presence diffs only with presence read permission, and a
// database broadcast already replayed to a channel is not sent to it again.

import type { PresenceDiff } from './presence.ts';
import { encodeMessage, encodeUserBroadcast, type UserBroadcast, type Vsn } from './protocol.ts';

export interface Subscriber {
  readonly id: number;
  /** The joined topic, "realtime:<name>". */
  readonly topic: string;
  readonly space: string;
  readonly vsn: Vsn;
  canReceiveBroadcast(): boolean;
  canReceivePresence(): boolean;
  alreadyReplayed(messageId: string): boolean;
  sendRaw(data: string | Buffer): void;
}

export type Delivery =
  /** A broadcast as a JSON text frame (sent as JSON by a client, or by the batch HTTP API). */
  | { kind: 'broadcast'; payload: Record<string, unknown>; messageId?: string }
  /** A broadcast carried as a user broadcast (binary frames, the single HTTP API, the database). */
  | { kind: 'user-broadcast'; broadcast: UserBroadcast; messageId?: string }
  | { kind: 'presence-diff'; payload: PresenceDiff };

export const spaceOf = (isPrivate: boolean, subTopic: string) =>
  `${isPrivate ? 'private' : 'public'}:${subTopic}`;

export class Registry {
  private readonly spaces = new Map<string, Set<Subscriber>>();

  add(subscriber: Subscriber): void {
    let members = this.spaces.get(subscriber.space);
    if (!members) {
      members = new Set();
      this.spaces.set(subscriber.space, members);
    }
    members.add(subscriber);
  }

  remove(subscriber: Subscriber): void {
    const members = this.spaces.get(subscriber.space);
    if (!members) return;
    members.delete(subscriber);
    if (members.size === 0) this.spaces.delete(subscriber.space);
  }

  /** Number of topic spaces with at least one subscriber. */
  get spaceCount(): number {
    return this.spaces.size;
  }

  /** Sends to every eligible subscriber of the space; returns how many got it. */
  deliver(space: string, delivery: Delivery, skip?: Subscriber): number {
    const members = this.spaces.get(space);
    if (!members) return 0;
    const encoded = new Map<Vsn, string | Buffer | null>();
    const encode = (vsn: Vsn, topic: string) => {
      if (!encoded.has(vsn)) encoded.set(vsn, encodeDelivery(vsn, topic, delivery));
      return encoded.get(vsn) ?? null;
    };
    let sent = 0;
    // A copy: sending may close a slow subscriber, which removes it from the set.
    for (const subscriber of [...members]) {
      if (subscriber === skip) continue;
      if (delivery.kind === 'presence-diff') {
        if (!subscriber.canReceivePresence()) continue;
      } else {
        if (!subscriber.canReceiveBroadcast()) continue;
        if (delivery.messageId && subscriber.alreadyReplayed(delivery.messageId)) continue;
      }
      const frame = encode(subscriber.vsn, subscriber.topic);
      if (frame === null) continue;
      subscriber.sendRaw(frame);
      sent += 1;
    }
    return sent;
  }
}

function encodeDelivery(vsn: Vsn, topic: string, delivery: Delivery): string | Buffer | null {
  switch (delivery.kind) {
    case 'broadcast':
      return encodeMessage(vsn, {
        joinRef: null,
        ref: null,
        topic,
        event: 'broadcast',
        payload: delivery.payload,
      });
    case 'user-broadcast':
      return encodeUserBroadcast(vsn, topic, delivery.broadcast);
    case 'presence-diff':
      return encodeMessage(vsn, {
        joinRef: null,
        ref: null,
        topic,
        event: 'presence_diff',
        payload: delivery.payload,
      });
  }
}
