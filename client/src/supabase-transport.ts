// ChatTransport on supabase-js, with the workarounds a chat client needs:
// - channels join only after auth has settled and Realtime holds the current
//   token (a join sent without it is accepted but hears nothing);
// - a channel that fails is removed, so realtime-js does not rejoin it by
//   itself (forever, and after sleep with an expired token): the library
//   re-authorizes first and decides whether to join again;
// - errors of `functions.invoke` are read from the Response in
//   `FunctionsHttpError.context` ({code, message, details, hint} and Retry-After).

import {
  FunctionsFetchError,
  FunctionsHttpError,
  FunctionsRelayError,
  isAuthRetryableFetchError,
  type RealtimeChannel,
  type SupabaseClient,
} from '@supabase/supabase-js';
import { ChatError } from './errors.ts';
import type {
  AuthChange,
  ChannelHandlers,
  ChannelStatus,
  ChatTransport,
  TransportChannel,
} from './transport.ts';

/** Seconds before expiry at which a session is refreshed before a join rather than used. */
const REFRESH_MARGIN_SECONDS = 30;

// biome-ignore lint/suspicious/noExplicitAny: any database schema will do
type AnySupabaseClient = SupabaseClient<any, any, any>;

export function supabaseTransport(supabase: AnySupabaseClient): ChatTransport {
  const leaving = new Map<string, Promise<unknown>>();
  return {
    async currentUser() {
      const { data } = await supabase.auth.getSession();
      return data.session?.user.id ?? null;
    },

    async authorize() {
      const { data } = await supabase.auth.getSession();
      let session = data.session;
      if (session && (session.expires_at ?? 0) - Date.now() / 1000 < REFRESH_MARGIN_SECONDS) {
        const refreshed = await supabase.auth.refreshSession();
        if (isAuthRetryableFetchError(refreshed.error)) throw networkError(refreshed.error.message);
        session = refreshed.data.session;
      }
      if (!session) {
        throw new ChatError({
          status: 401,
          code: 'session_expired',
          message: 'There is no valid session: sign in again.',
        });
      }
      await supabase.realtime.setAuth(session.access_token);
    },

    onAuthChange(listener) {
      const { data } = supabase.auth.onAuthStateChange((event) => {
        const change: AuthChange | null =
          event === 'TOKEN_REFRESHED'
            ? 'token-refreshed'
            : event === 'SIGNED_IN'
              ? 'signed-in'
              : event === 'SIGNED_OUT'
                ? 'signed-out'
                : null;
        // Outside auth-js's lock: the listener may call back into supabase.auth.
        if (change) setTimeout(() => listener(change), 0);
      });
      return () => data.subscription.unsubscribe();
    },

    join(topic, handlers, options = {}) {
      return joinChannel(supabase, leaving, topic, handlers, options.presenceKey);
    },

    async rpc<T>(name: string, args: Record<string, unknown>) {
      const { data, error, status } = await supabase.rpc(name, args);
      if (error) {
        const details = error.details as unknown;
        throw new ChatError({
          status: status || 0,
          code: error.code || (status ? 'error' : 'network_error'),
          message: error.message,
          details: parseJson(details),
          hint: error.hint || null,
          retryAfterMs: retryAfterFromDetails(parseJson(details)),
        });
      }
      return data as T;
    },

    async invoke<T>(name: string, body: Record<string, unknown>) {
      const { data, error } = await supabase.functions.invoke(name, { body });
      if (error) throw await functionError(error);
      return data as T;
    },
  };
}

/**
 * supabase-js keeps one channel per topic and removes a left one only once its
 * leave is answered: a join of the same topic waits for that, or it would be
 * handed the channel being left.
 */
function joinChannel(
  supabase: AnySupabaseClient,
  leaving: Map<string, Promise<unknown>>,
  topic: string,
  handlers: ChannelHandlers,
  presenceKey: string | undefined,
): TransportChannel {
  let channel: RealtimeChannel | null = null;
  let ended = false;
  const end = () => {
    ended = true;
    if (!channel) return;
    const removal = supabase.removeChannel(channel).catch(() => undefined);
    leaving.set(topic, removal);
    void removal.then(() => {
      if (leaving.get(topic) === removal) leaving.delete(topic);
    });
  };
  const open = () => {
    const joining = supabase.channel(topic, {
      config: {
        private: true,
        broadcast: { self: false, ack: false },
        ...(presenceKey ? { presence: { key: presenceKey, enabled: true } } : {}),
      },
    });
    joining.on('broadcast', { event: '*' }, (message: { event: string; payload?: unknown }) => {
      if (!ended) handlers.onEvent(message.event, message.payload ?? null);
    });
    if (presenceKey && handlers.onPresence) {
      joining.on('presence', { event: 'sync' }, () => {
        if (!ended) handlers.onPresence?.(Object.keys(joining.presenceState()));
      });
    }
    joining.subscribe((status, err) => {
      if (ended) return;
      if (status === 'SUBSCRIBED') {
        handlers.onStatus({ state: 'joined' });
        return;
      }
      end();
      handlers.onStatus(failure(topic, status, err));
    });
    return joining;
  };
  void (leaving.get(topic) ?? Promise.resolve()).then(() => {
    if (!ended) channel = open();
  });
  return {
    broadcast(event, payload) {
      if (!ended && channel?.state === 'joined') void channel.send({ type: 'broadcast', event, payload });
    },
    track(payload) {
      if (!ended) void channel?.track(payload);
    },
    leave() {
      if (!ended) end();
    },
  };
}

/** What a failed join or a lost channel means: refused (not authorized) or dropped (worth joining again). */
function failure(topic: string, status: string, err: Error | undefined): ChannelStatus {
  const reason = serverReason(err);
  if (reason?.startsWith('Unauthorized')) {
    return {
      state: 'refused',
      error: new ChatError({ status: 403, code: 'join_refused', message: reason, details: { topic } }),
    };
  }
  const code =
    status === 'TIMED_OUT' ? 'join_timed_out' : status === 'CLOSED' ? 'channel_closed' : 'channel_error';
  return {
    state: 'dropped',
    error: new ChatError({
      status: 0,
      code: reason && /token|jwt/i.test(reason) ? 'token_rejected' : code,
      message: reason ?? err?.message ?? `channel ${status.toLowerCase()}`,
      details: { topic },
    }),
  };
}

/** The reason of a join the server answered with an error (not a socket failure). */
function serverReason(err: Error | undefined): string | null {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause && typeof cause === 'object' && typeof (cause as { code?: unknown }).code !== 'number') {
    const reason = (cause as { reason?: unknown }).reason;
    if (typeof reason === 'string') return reason;
  }
  return null;
}

async function functionError(error: unknown): Promise<ChatError> {
  if (error instanceof FunctionsHttpError) {
    const response = error.context as Response;
    let body: Record<string, unknown> = {};
    try {
      body = (await response.clone().json()) as Record<string, unknown>;
    } catch {}
    const header = Number(response.headers.get('Retry-After'));
    const details = parseJson(body.details); // the JSON text of an object, as PostgREST sends it
    return new ChatError({
      status: response.status,
      code: typeof body.code === 'string' ? body.code : `http_${response.status}`,
      message: typeof body.message === 'string' ? body.message : response.statusText || 'request failed',
      details,
      hint: typeof body.hint === 'string' ? body.hint : null,
      retryAfterMs: Number.isFinite(header) && header > 0 ? header * 1000 : retryAfterFromDetails(details),
    });
  }
  if (error instanceof FunctionsRelayError) {
    return new ChatError({ status: 502, code: 'relay_error', message: error.message });
  }
  if (error instanceof FunctionsFetchError) return networkError(error.message);
  return ChatError.from(error);
}

function networkError(message: string): ChatError {
  return new ChatError({ status: 0, code: 'network_error', message });
}

function retryAfterFromDetails(details: unknown): number | undefined {
  const seconds = (details as { retry_after_seconds?: unknown } | null)?.retry_after_seconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : undefined;
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
