// Says whether what you see is current: live, catching up, offline — and
// whether messages travel through Realtime or straight to the other person (WebRTC).

export type ConnectionState = 'connecting' | 'catching-up' | 'live' | 'offline';
export type Transport = 'realtime' | 'webrtc';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting',
  'catching-up': 'Catching up',
  live: 'Live',
  offline: 'Offline',
};

export function ConnectionIndicator({
  state,
  transport,
  problem,
}: {
  state: ConnectionState;
  transport: Transport | null;
  problem: string | null;
}) {
  const via = transport === 'webrtc' ? 'WebRTC' : transport === 'realtime' ? 'Realtime' : null;
  return (
    <output
      className="connection"
      data-state={state}
      aria-live="polite"
      aria-label={`Connection: ${LABELS[state]}${via ? ` via ${via}` : ''}`}
      title={problem ?? undefined}
    >
      {LABELS[state]}
      {via && (
        <span className="transport" data-transport={transport}>
          {via}
        </span>
      )}
    </output>
  );
}
