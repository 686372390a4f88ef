// A workaround for the client library's WebRTC fast path: it sends each signal
// (offer, answer, ICE batch) with its own call of the `signal` function, at once,
// so two calls can be stored out of order and ICE candidates reach the peer before
// the offer they belong to; the link then fails for good. Sending them one after
// another keeps them in order (the server stores and relays them in that order).

import { type ChatTransport, supabaseTransport } from '../../../client/src/index.ts';

type Supabase = Parameters<typeof supabaseTransport>[0];

export function orderedSignalsTransport(supabase: Supabase): ChatTransport {
  const transport = supabaseTransport(supabase);
  let lastSignal: Promise<unknown> = Promise.resolve();
  return {
    ...transport,
    invoke<T>(name: string, body: Record<string, unknown>): Promise<T> {
      if (name !== 'signal') return transport.invoke<T>(name, body);
      const sent = lastSignal.catch(() => undefined).then(() => transport.invoke<T>(name, body));
      lastSignal = sent;
      return sent;
    },
  };
}
