// The Web Locks request() semantics (exclusive, queued, abortable) for two
// "tabs" in one Node process, which has no navigator.locks before Node 22.

import type { LockManagerLike } from '../../src/tabs.ts';

export function inProcessLocks(): LockManagerLike {
  const held = new Set<string>();
  const queues = new Map<string, (() => void)[]>();
  const next = (name: string) => {
    const waiting = queues.get(name)?.shift();
    if (waiting) waiting();
    else held.delete(name);
  };
  return {
    request(name, options, callback) {
      return new Promise((resolve, reject) => {
        const run = () => {
          held.add(name);
          callback()
            .then(resolve, reject)
            .finally(() => next(name));
        };
        if (!held.has(name)) {
          run();
          return;
        }
        const queue = queues.get(name) ?? [];
        queues.set(name, queue);
        queue.push(run);
        options.signal?.addEventListener('abort', () => {
          const index = queue.indexOf(run);
          if (index >= 0) queue.splice(index, 1);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    },
  };
}
