// The three outbox storages keep the same contract: items per user, by
// client_id, put replaces, delete removes; the persistent ones are shared.

import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import {
  indexedDbStorage,
  localStorageStorage,
  memoryStorage,
  type OutboxItem,
  type OutboxStorage,
} from '../../src/outbox-storage.ts';
import { StorageArea } from '../support/storage-area.ts';

const item = (clientId: string, body = 'hi'): OutboxItem => ({
  client_id: clientId,
  conversation_id: 'c1',
  body,
  reply_to: null,
  metadata: { tag: 1 },
  queued_at: 1,
  order: 1000,
  status: 'pending',
  attempts: 0,
  error: null,
});

const area = new StorageArea();
const factory = new IDBFactory();
const storages: [string, () => OutboxStorage, boolean][] = [
  ['memory', () => memoryStorage(), false],
  ['localStorage', () => localStorageStorage(area), true],
  ['IndexedDB', () => indexedDbStorage('outbox-test', factory), true],
];

describe.each(storages)('%s storage', (_name, make, shared) => {
  it('keeps items per user, replaces by client_id and deletes', async () => {
    const storage = make();
    await storage.put('alice', item('a1'));
    await storage.put('alice', item('a2'));
    await storage.put('alice', item('a1', 'edited'));
    await storage.put('bob', item('b1'));
    await storage.delete('alice', 'a2');
    expect(await storage.list('alice')).toEqual([item('a1', 'edited')]);
    expect(await storage.list('bob')).toEqual([item('b1')]);
    expect(storage.shared).toBe(shared);
    await storage.delete('alice', 'a1');
    await storage.delete('bob', 'b1');
  });
});

describe.each(storages.filter(([, , shared]) => shared))('%s storage (persistent)', (_name, make) => {
  it('is seen by a second instance (another tab, a reload)', async () => {
    await make().put('carol', item('c1'));
    expect(await make().list('carol')).toEqual([item('c1')]);
  });
});

it('skips a localStorage entry that is not valid JSON instead of failing', async () => {
  const broken = new StorageArea();
  broken.setItem('supachat:outbox:dave:x', '{not json');
  const storage = localStorageStorage(broken);
  expect(await storage.list('dave')).toEqual([]);
  expect(broken.length).toBe(0);
});
