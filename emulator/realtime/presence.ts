// Presence state per topic space, shaped like Phoenix.Presence: a channel
// tracks one key with one meta; the state groups metas by key
// ({key: {metas: [{phx_ref, ...meta}]}}) and every change is a diff
// ({joins, leaves}). A re-track is a join of the new meta (with phx_ref_prev)
// and a leave of the old one in the same diff.

import { randomBytes } from 'node:crypto';

export interface PresenceMeta {
  phx_ref: string;
  phx_ref_prev?: string;
  [field: string]: unknown;
}

export type PresenceState = Record<string, { metas: PresenceMeta[] }>;
export interface PresenceDiff {
  joins: PresenceState;
  leaves: PresenceState;
}

interface Entry {
  key: string;
  meta: PresenceMeta;
}

/** Phoenix refs are short opaque strings; these look alike. */
const newRef = () => `F${randomBytes(12).toString('base64url')}`;

export class PresenceTracker {
  /** space → channel id → what that channel tracks. Empty spaces are removed. */
  private readonly spaces = new Map<string, Map<number, Entry>>();

  state(space: string): PresenceState {
    const state: PresenceState = {};
    for (const { key, meta } of this.spaces.get(space)?.values() ?? []) {
      const group = state[key] ?? { metas: [] };
      group.metas.push(meta);
      state[key] = group;
    }
    return state;
  }

  track(space: string, channelId: number, key: string, payload: Record<string, unknown>): PresenceDiff {
    let entries = this.spaces.get(space);
    if (!entries) {
      entries = new Map();
      this.spaces.set(space, entries);
    }
    const previous = entries.get(channelId);
    const meta: PresenceMeta = { ...payload, phx_ref: newRef() };
    if (previous) meta.phx_ref_prev = previous.meta.phx_ref;
    entries.set(channelId, { key, meta });
    const diff: PresenceDiff = { joins: { [key]: { metas: [meta] } }, leaves: {} };
    if (previous) diff.leaves[previous.key] = { metas: [previous.meta] };
    return diff;
  }

  /** The diff of the channel's departure, or null if it tracked nothing. */
  untrack(space: string, channelId: number): PresenceDiff | null {
    const entries = this.spaces.get(space);
    const previous = entries?.get(channelId);
    if (!entries || !previous) return null;
    entries.delete(channelId);
    if (entries.size === 0) this.spaces.delete(space);
    return { joins: {}, leaves: { [previous.key]: { metas: [previous.meta] } } };
  }

  /** Number of tracked presences (for stats). */
  get size(): number {
    let total = 0;
    for (const entries of this.spaces.values()) total += entries.size;
    return total;
  }
}
