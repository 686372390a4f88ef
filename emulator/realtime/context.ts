// What every part of the Realtime service shares: configuration, the
// authorization probe, who listens where, presence, and the socket count.

import type { Keys } from '../keys.ts';
import type { Logger } from '../log.ts';
import type { Authorizer } from './authorization.ts';
import type { RealtimeLimits } from './limits.ts';
import type { PresenceTracker } from './presence.ts';
import type { Registry } from './registry.ts';
import type { ReplicationStream } from './replication.ts';
import type { ConcurrentUsers } from './users.ts';

export interface RealtimeContext {
  readonly keys: Keys;
  readonly log: Logger;
  readonly limits: RealtimeLimits;
  readonly authorizer: Authorizer;
  readonly registry: Registry;
  readonly presence: PresenceTracker;
  /** Undefined when database broadcasts are switched off. */
  readonly replication: ReplicationStream | undefined;
  /** Sockets that have joined at least one channel: the platform's "concurrent users". */
  readonly users: ConcurrentUsers;
  nextChannelId(): number;
}
