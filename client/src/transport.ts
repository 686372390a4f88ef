// What the library needs from the outside world, and nothing more: the signed-in
// user, private Realtime channels, SQL RPCs and Edge Functions. `supabaseTransport`
// implements it on supabase-js; tests implement it with fakes and fault injection.

import type { ChatError } from './errors.ts';

export type ChannelStatus =
  /** Joined: events flow from now on (what was missed before must be fetched). */
  | { state: 'joined' }
  /** Lost (socket closed, timed out, closed by the server): worth joining again. */
  | { state: 'dropped'; error: ChatError }
  /** The server refused the join (not authorized for this topic): joining again will not help. */
  | { state: 'refused'; error: ChatError };

export interface ChannelHandlers {
  onStatus(status: ChannelStatus): void;
  onEvent(event: string, payload: unknown): void;
  /** The presence keys present on the channel, after every change. */
  onPresence?(keys: string[]): void;
}

export interface TransportChannel {
  /** Fire and forget (typing): nothing is retried. */
  broadcast(event: string, payload: Record<string, unknown>): void;
  /** Announces this client's presence under the channel's presence key. */
  track(payload: Record<string, unknown>): void;
  /** Leaves for good; no status is reported after it. */
  leave(): void;
}

export type AuthChange = 'signed-in' | 'token-refreshed' | 'signed-out';

export interface ChatTransport {
  /** The signed-in user's id once auth has settled, or null when nobody is signed in. */
  currentUser(): Promise<string | null>;
  /**
   * Gives Realtime the current access token, refreshing an expired session first.
   * Called before every join. Rejects with a ChatError (`session_expired`) when
   * there is no valid session to be had.
   */
  authorize(): Promise<void>;
  onAuthChange(listener: (change: AuthChange) => void): () => void;
  /** Joins a private channel; the presence key turns presence on. */
  join(topic: string, handlers: ChannelHandlers, options?: { presenceKey?: string }): TransportChannel;
  /** Calls a SQL function; rejects with a ChatError. */
  rpc<T>(name: string, args: Record<string, unknown>): Promise<T>;
  /** Calls an Edge Function with a JSON body; rejects with a ChatError (with `retryAfterMs` on 429). */
  invoke<T>(name: string, body: Record<string, unknown>): Promise<T>;
}
