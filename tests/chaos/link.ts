// One client's network, as a loopback TCP proxy in front of the stack: every
// byte of its HTTP requests and its Realtime socket goes through here, so the
// chaos suite can fail it the ways a real network fails:
// - `stallSocket()`: the Realtime socket stops carrying bytes both ways and
//   nothing is closed (a half-open connection; only a heartbeat notices);
// - `cut(ms)`: every connection is reset and new ones are refused for a while.

import net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** The Realtime WebSocket (its first bytes are the upgrade request). */
  websocket: boolean;
  stalled: boolean;
}

export class Link {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private downUntil = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stalls the open Realtime socket(s) for good: the client must find out and connect anew. */
  stallSocket(): number {
    let stalled = 0;
    for (const pair of this.pairs) {
      if (!pair.websocket || pair.stalled) continue;
      pair.stalled = true;
      stalled++;
    }
    return stalled;
  }

  /** Resets every connection and refuses new ones for `ms`. */
  cut(ms: number): void {
    this.downUntil = Date.now() + ms;
    for (const pair of this.pairs) this.drop(pair);
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (Date.now() < this.downUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    const pair: Pair = { client, upstream, websocket: false, stalled: false };
    this.pairs.add(pair);
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        pair.websocket = /^upgrade:\s*websocket/im.test(chunk.toString('latin1'));
      }
      // A stalled connection swallows bytes: the sender's writes succeed, nothing arrives.
      if (!pair.stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.stalled) client.write(chunk);
    });
    const end = () => this.drop(pair);
    client.on('error', end);
    client.on('close', end);
    client.on('end', () => (pair.stalled ? end() : upstream.end()));
    // The server giving up on a stalled connection is not heard by the client either.
    const upstreamGone = () => (pair.stalled ? upstream.destroy() : end());
    upstream.on('error', upstreamGone);
    upstream.on('close', upstreamGone);
    upstream.on('end', () => (pair.stalled ? undefined : client.end()));
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}
