// Where pending sends wait: in memory (gone with the page), in localStorage or
// in IndexedDB (kept across reloads, shared by the tabs of one origin). One
// record per send, keyed by client_id, so tabs never overwrite each other's.

import type { ChatErrorShape } from './errors.ts';

export interface OutboxItem {
  client_id: string;
  conversation_id: string;
  body: string;
  reply_to: string | null;
  metadata: Record<string, unknown>;
  /** When it was queued (ms since epoch); also the flush order, with `order`. */
  queued_at: number;
  order: number;
  status: 'pending' | 'failed';
  attempts: number;
  error: ChatErrorShape | null;
}

export interface OutboxStorage {
  /** Every item of `userId`'s outbox, in any order. */
  list(userId: string): Promise<OutboxItem[]>;
  put(userId: string, item: OutboxItem): Promise<void>;
  delete(userId: string, clientId: string): Promise<void>;
  /** True when other tabs see the same items (so one tab may send for all). */
  readonly shared: boolean;
}

export function memoryStorage(): OutboxStorage {
  const users = new Map<string, Map<string, OutboxItem>>();
  const of = (userId: string) => {
    const items = users.get(userId) ?? new Map<string, OutboxItem>();
    users.set(userId, items);
    return items;
  };
  return {
    shared: false,
    list: async (userId) => [...of(userId).values()].map((item) => structuredClone(item)),
    put: async (userId, item) => void of(userId).set(item.client_id, structuredClone(item)),
    delete: async (userId, clientId) => void of(userId).delete(clientId),
  };
}

/** localStorage (or any Storage): key `<prefix><user id>:<client_id>`. */
export function localStorageStorage(
  storage: Storage = globalThis.localStorage,
  prefix = 'supachat:outbox:',
): OutboxStorage {
  const key = (userId: string, clientId: string) => `${prefix}${userId}:${clientId}`;
  return {
    shared: true,
    async list(userId) {
      const items: OutboxItem[] = [];
      const start = `${prefix}${userId}:`;
      for (let i = 0; i < storage.length; i++) {
        const name = storage.key(i);
        if (!name?.startsWith(start)) continue;
        const raw = storage.getItem(name);
        if (!raw) continue;
        try {
          items.push(JSON.parse(raw) as OutboxItem);
        } catch {
          storage.removeItem(name); // not ours, or torn: nothing to send from it
        }
      }
      return items;
    },
    put: async (userId, item) => storage.setItem(key(userId, item.client_id), JSON.stringify(item)),
    delete: async (userId, clientId) => storage.removeItem(key(userId, clientId)),
  };
}

/** IndexedDB: database `name`, one object store keyed by [user id, client_id]. */
export function indexedDbStorage(
  name = 'supachat-outbox',
  factory: IDBFactory = globalThis.indexedDB,
): OutboxStorage {
  const STORE = 'items';
  let opened: Promise<IDBDatabase> | undefined;
  const open = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(name, 1);
      request.onupgradeneeded = () => {
        const store = request.result.createObjectStore(STORE, { keyPath: ['user_id', 'client_id'] });
        store.createIndex('user_id', 'user_id');
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  };
  const run = async <T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>) => {
    const db = await open();
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };
  return {
    shared: true,
    async list(userId) {
      const rows = await run('readonly', (store) => store.index('user_id').getAll(userId));
      return (rows as (OutboxItem & { user_id?: string })[]).map(({ user_id: _, ...item }) => item);
    },
    put: async (userId, item) =>
      void (await run('readwrite', (store) => store.put({ ...item, user_id: userId }))),
    delete: async (userId, clientId) =>
      void (await run('readwrite', (store) => store.delete([userId, clientId]))),
  };
}
