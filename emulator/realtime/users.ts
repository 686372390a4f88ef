// The platform's "concurrent users": sockets that have joined a channel, at
// most maxConcurrentUsers of them. So that one client cannot take every slot,
// each client also gets only a share: a signed-in user (their `sub`) at most
// maxConnectionsPerClient sockets of their own, and sockets without a user
// token (the anon key) at most as many per client address, and at most
// maxAnonymousConnections together, so the rest is always left to signed-in
// users. The service role (the project's own servers) counts only in the total.

import type { Claims } from '../keys.ts';
import type { RealtimeLimits } from './limits.ts';

/** Who a socket belongs to, for its share. */
export type ClientIdentity =
  | { kind: 'user'; key: string }
  | { kind: 'anonymous'; key: string }
  | { kind: 'service' };

export function identify(claims: Claims, role: string, address: string): ClientIdentity {
  if (role === 'service_role') return { kind: 'service' };
  if (typeof claims.sub === 'string' && claims.sub !== '') return { kind: 'user', key: `user ${claims.sub}` };
  return { kind: 'anonymous', key: `address ${address}` };
}

export class ConcurrentUsers {
  private readonly identities = new Map<object, ClientIdentity>();
  private readonly perClient = new Map<string, number>();
  private anonymous = 0;

  constructor(private readonly limits: RealtimeLimits) {}

  get size(): number {
    return this.identities.size;
  }

  has(connection: object): boolean {
    return this.identities.has(connection);
  }

  isFull(): boolean {
    return this.identities.size >= this.limits.maxConcurrentUsers;
  }

  /** Counts `connection` as a user of `identity`; if it may not be, the reason (and nothing is counted). */
  admit(connection: object, identity: ClientIdentity): string | undefined {
    if (this.identities.has(connection)) return undefined;
    if (this.isFull()) return 'Too many connected users';
    if (identity.kind !== 'service') {
      if ((this.perClient.get(identity.key) ?? 0) >= this.limits.maxConnectionsPerClient) {
        return identity.kind === 'user'
          ? 'Too many connections for this user'
          : 'Too many connections from this address';
      }
      if (identity.kind === 'anonymous' && this.anonymous >= this.limits.maxAnonymousConnections) {
        return 'Too many connections without a user token';
      }
      this.perClient.set(identity.key, (this.perClient.get(identity.key) ?? 0) + 1);
      if (identity.kind === 'anonymous') this.anonymous += 1;
    }
    this.identities.set(connection, identity);
    return undefined;
  }

  release(connection: object): void {
    const identity = this.identities.get(connection);
    if (!identity) return;
    this.identities.delete(connection);
    if (identity.kind === 'service') return;
    const left = (this.perClient.get(identity.key) ?? 1) - 1;
    if (left > 0) this.perClient.set(identity.key, left);
    else this.perClient.delete(identity.key);
    if (identity.kind === 'anonymous') this.anonymous -= 1;
  }
}
