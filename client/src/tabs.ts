// Tabs of one origin that share an outbox agree on one of them to send: the
// holder of a Web Lock. They tell each other what changed on a BroadcastChannel.
// When the sending tab closes, its lock is released and another tab takes over.

export type TabMessage =
  | { type: 'outbox-changed' }
  | { type: 'outbox-sent'; client_id: string; row: unknown };

export interface TabCoordinator {
  /** Calls `onLeader` once this tab holds the lock (maybe at once, maybe never). */
  lead(onLeader: () => void): void;
  post(message: TabMessage): void;
  onMessage(listener: (message: TabMessage) => void): () => void;
  close(): void;
}

/** The part of the Web Locks API used here (`navigator.locks`). */
export interface LockManagerLike {
  request(
    name: string,
    options: { mode?: 'exclusive'; signal?: AbortSignal },
    callback: () => Promise<unknown>,
  ): Promise<unknown>;
}

/** One instance alone: it always sends, nobody else hears from it. */
export function singleTab(): TabCoordinator {
  return {
    lead: (onLeader) => onLeader(),
    post: () => undefined,
    onMessage: () => () => undefined,
    close: () => undefined,
  };
}

/** Tabs coordinated by a Web Lock and a BroadcastChannel, both named `name`. */
export function sharedTabs(
  name: string,
  locks: LockManagerLike | undefined = (globalThis.navigator as { locks?: LockManagerLike } | undefined)
    ?.locks,
): TabCoordinator {
  if (!locks || typeof BroadcastChannel === 'undefined') return singleTab();
  const channel = new BroadcastChannel(name);
  const listeners = new Set<(message: TabMessage) => void>();
  channel.onmessage = (event: MessageEvent<TabMessage>) => {
    for (const listener of listeners) listener(event.data);
  };
  const abort = new AbortController();
  let release: (() => void) | undefined;
  return {
    lead(onLeader) {
      locks
        .request(name, { mode: 'exclusive', signal: abort.signal }, () => {
          onLeader();
          return new Promise<void>((resolve) => {
            release = resolve;
          });
        })
        .catch(() => undefined); // aborted on close
    },
    post: (message) => channel.postMessage(message),
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      abort.abort();
      release?.();
      listeners.clear();
      channel.close();
    },
  };
}
