// One joined channel: the join itself (validation, limits, token, RLS read
// check, replay), then everything the client sends on the topic — broadcast,
// presence, access_token, phx_leave — and the ways it ends: leave, shutdown
// (a `system` error followed by `phx_close`), or the socket going away.
// Messages of one channel are handled one at a time, in order (the
// connection queues them per topic), as a Phoenix channel process does.

import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Claims } from '../keys.ts';
import {
  type AuthorizationContext,
  type CheckFailure,
  emptyPolicies,
  type Policies,
} from './authorization.ts';
import type { RealtimeContext } from './context.ts';
import { parseJoinPayload } from './join-schema.ts';
import { payloadByteLimit, WindowCounter } from './limits.ts';
import {
  encodeMessage,
  encodeReply,
  encodeUserBroadcast,
  type InboundMessage,
  isRecord,
  type Ref,
  type Vsn,
} from './protocol.ts';
import { type Delivery, type Subscriber, spaceOf } from './registry.ts';
import { type ReplayedMessage, replayMessages } from './replay.ts';
import { checkToken } from './tokens.ts';
import { identify } from './users.ts';

/** What a channel needs from the socket it lives on. */
export interface ChannelHost {
  readonly vsn: Vsn;
  /** The API key the socket connected with; the token of channels that name none. */
  readonly apiKey: string;
  /** The client's address. */
  readonly address: string;
  /** The socket's x-* request headers (request.headers in policies). */
  readonly headers: Record<string, string>;
  send(data: string | Buffer): void;
  /** Channels joined or being joined on this socket. */
  channelCount(): number;
  /** False once the socket is gone. */
  isOpen(): boolean;
  hasJoinedChannels(): boolean;
  attach(channel: Channel): void;
  detach(channel: Channel): void;
  /** Runs `work` after the topic's earlier messages. */
  enqueue(topic: string, work: () => Promise<void>): void;
}

const unauthorized = (topic: string) =>
  `You do not have permissions to read from this Channel topic: ${topic}`;

function replyTo(host: ChannelHost, message: InboundMessage, status: 'ok' | 'error', response: unknown) {
  host.send(encodeReply(host.vsn, message, status, response));
}

/** Joins `message.topic` on the host: replies to the client and, on success, attaches a Channel. */
export async function joinChannel(context: RealtimeContext, host: ChannelHost, message: InboundMessage) {
  const { log, limits } = context;
  const topic = message.topic;
  const subTopic = topic.slice('realtime:'.length);
  let countedHere = false;
  const fail = async (reason: string) => {
    // A socket counts as a user only once a join succeeds.
    if (countedHere && !host.hasJoinedChannels()) context.users.release(host);
    if (limits.joinErrorBackoffMs > 0) await new Promise((r) => setTimeout(r, limits.joinErrorBackoffMs));
    replyTo(host, message, 'error', { reason });
  };

  if (subTopic === '') return fail('TopicNameRequired: You must provide a topic name');
  if (!isRecord(message.payload)) return fail('InvalidJoinPayload: unable to parse, expected a map');
  const { request, problems } = parseJoinPayload(message.payload);
  if (problems.length > 0) log.warn(`InvalidJoinPayload on ${topic}: ${problems.join('; ')}`);

  if (!context.users.has(host) && context.users.isFull()) {
    log.warn(`ConnectionRateLimitReached: Too many connected users (${limits.maxConcurrentUsers})`);
    return fail('ConnectionRateLimitReached: Too many connected users');
  }
  // The count includes this join.
  if (host.channelCount() > limits.maxChannelsPerConnection) {
    return fail('ChannelRateLimitReached: Too many channels');
  }

  const named = request.accessToken ?? request.userToken;
  const token = named?.startsWith('sb_')
    ? host.apiKey
    : (request.userToken ?? request.accessToken ?? host.apiKey);
  const checked = await checkToken(context.keys, token);
  if (!checked.ok) return fail(checked.joinReason);

  if (!context.users.has(host)) {
    // Held from here, so that simultaneous joins cannot overshoot the limits.
    const refused = context.users.admit(host, identify(checked.claims, checked.role, host.address));
    if (refused) {
      log.warn(`ConnectionRateLimitReached: ${refused} (${host.address})`);
      return fail(`ConnectionRateLimitReached: ${refused}`);
    }
    countedHere = true;
  }

  if (request.postgresChanges.length > 0) {
    log.warn(`a client asked for Postgres Changes on ${topic}, which the emulator does not provide`);
    return fail(
      'PostgresChangesNotSupported: the local emulator does not stream Postgres Changes; ' +
        'use Broadcast from Database (realtime.send or realtime.broadcast_changes)',
    );
  }

  const authorization: AuthorizationContext = {
    topic: subTopic,
    claims: checked.claims,
    role: checked.role,
    headers: host.headers,
  };
  let policies: Policies | null = null;
  if (request.private) {
    const result = await context.authorizer.read(emptyPolicies(), authorization, {
      presence: request.presenceEnabled,
    });
    if (!result.ok) return fail(joinFailure(context, result, subTopic));
    policies = result.policies;
    if (!policies.broadcast.read && !policies.presence.read)
      return fail(`Unauthorized: ${unauthorized(subTopic)}`);
  }

  let replayed: Awaited<ReturnType<typeof replayMessages>> | undefined;
  if (request.replay) {
    if (!request.private) return fail('UnableToReplayMessages: Replay is not allowed for public channels');
    if (policies?.broadcast.read === false) return fail(`Unauthorized: ${unauthorized(subTopic)}`);
    replayed = await replayMessages(context.authorizer.pool, subTopic, request.replay);
    if (!replayed.ok) {
      log.warn(`UnableToReplayMessages on ${topic}: ${replayed.message}`);
      return fail(
        replayed.reason === 'invalid_params'
          ? 'UnableToReplayMessages: Replay params are not valid'
          : 'UnableToReplayMessages: Realtime was unable to replay messages',
      );
    }
  }

  // The socket may have gone while the checks ran.
  if (!host.isOpen()) {
    context.users.release(host);
    return;
  }

  const presenceKey =
    request.presenceKey === undefined || request.presenceKey === null || request.presenceKey === ''
      ? randomUUID()
      : typeof request.presenceKey === 'string'
        ? request.presenceKey
        : JSON.stringify(request.presenceKey);
  const channel = new Channel(context, host, {
    topic,
    subTopic,
    joinRef: message.joinRef,
    isPrivate: request.private,
    selfBroadcast: request.selfBroadcast,
    ackBroadcast: request.ackBroadcast,
    presenceEnabled: request.presenceEnabled,
    presenceKey,
    policies,
    token,
    claims: checked.claims,
    authorization,
    expiresAt: checked.expiresAt,
    replayedIds: new Set(replayed?.ok ? replayed.messages.map((m) => m.id) : []),
  });
  host.attach(channel);
  context.registry.add(channel);
  replyTo(host, message, 'ok', { postgres_changes: [] });

  if (replayed?.ok) {
    for (const stored of replayed.messages) channel.sendReplayed(stored);
  }
  if (channel.presenceEnabled) channel.syncPresence();
  if (request.replicationReady) channel.notifyReplicationReady();
}

function joinFailure(context: RealtimeContext, failure: CheckFailure, subTopic: string): string {
  const { log } = context;
  switch (failure.kind) {
    case 'rls_policy_error':
      log.warn(`RlsPolicyError on topic ${subTopic}: ${failure.message}`);
      return `Unauthorized: ${unauthorized(subTopic)}`;
    case 'missing_partition':
      log.error('MissingPartition: Realtime was unable to find the expected messages partition');
      return 'MissingPartition: Realtime was unable to find the expected messages partition';
    case 'query_canceled':
      log.warn(`QueryCanceled on topic ${subTopic}: ${failure.message}`);
      return `QueryCanceled: ${failure.message}`;
    case 'database_unavailable':
      log.warn(`UnableToConnectToProject: ${failure.message}`);
      return 'UnableToConnectToProject: Realtime was unable to connect to the project database';
  }
}

interface ChannelSetup {
  topic: string;
  subTopic: string;
  joinRef: Ref;
  isPrivate: boolean;
  selfBroadcast: boolean;
  ackBroadcast: boolean;
  presenceEnabled: boolean;
  presenceKey: string;
  policies: Policies | null;
  token: string;
  claims: Claims;
  authorization: AuthorizationContext;
  expiresAt: number;
  replayedIds: Set<string>;
}

export class Channel implements Subscriber {
  readonly id: number;
  readonly topic: string;
  readonly subTopic: string;
  readonly joinRef: Ref;
  readonly isPrivate: boolean;
  readonly space: string;
  readonly selfBroadcast: boolean;
  readonly ackBroadcast: boolean;
  readonly presenceKey: string;
  presenceEnabled: boolean;
  /** Cached RLS results (private channels); reset by a new access token. */
  private policies: Policies | null;
  private token: string;
  private authorization: AuthorizationContext;
  private readonly replayedIds: Set<string>;
  private trackedPayload: Record<string, unknown> | null = null;
  private readonly presenceCalls: WindowCounter;
  private tokenTimer: NodeJS.Timeout | undefined;
  private replicationTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly context: RealtimeContext,
    private readonly host: ChannelHost,
    setup: ChannelSetup,
  ) {
    this.id = context.nextChannelId();
    this.topic = setup.topic;
    this.subTopic = setup.subTopic;
    this.joinRef = setup.joinRef;
    this.isPrivate = setup.isPrivate;
    this.space = spaceOf(setup.isPrivate, setup.subTopic);
    this.selfBroadcast = setup.selfBroadcast;
    this.ackBroadcast = setup.ackBroadcast;
    this.presenceEnabled = setup.presenceEnabled;
    this.presenceKey = setup.presenceKey;
    this.policies = setup.policies;
    this.token = setup.token;
    this.authorization = setup.authorization;
    this.replayedIds = setup.replayedIds;
    this.presenceCalls = new WindowCounter(
      context.limits.presenceCallsPerWindow,
      context.limits.presenceWindowMs,
    );
    this.scheduleTokenCheck(setup.expiresAt);
  }

  get vsn(): Vsn {
    return this.host.vsn;
  }

  canReceiveBroadcast(): boolean {
    return !this.isPrivate || this.policies?.broadcast.read === true;
  }

  canReceivePresence(): boolean {
    return !this.isPrivate || this.policies?.presence.read === true;
  }

  alreadyReplayed(messageId: string): boolean {
    return this.replayedIds.has(messageId);
  }

  sendRaw(data: string | Buffer): void {
    if (!this.closed) this.host.send(data);
  }

  /** A server push on this channel, like Phoenix's `push/3`. */
  private push(event: string, payload: unknown): void {
    this.sendRaw(
      encodeMessage(this.vsn, { joinRef: this.joinRef, ref: null, topic: this.topic, event, payload }),
    );
  }

  private reply(message: InboundMessage, status: 'ok' | 'error', response: unknown): void {
    this.sendRaw(encodeReply(this.vsn, message, status, response));
  }

  /** Handles a client message on this channel (never phx_join, which the connection routes). */
  async handle(message: InboundMessage, counted: () => boolean): Promise<void> {
    if (this.closed) return;
    switch (message.event) {
      case 'phx_leave':
        this.reply(message, 'ok', {});
        this.close(true);
        return;
      case 'access_token':
        return this.refreshToken(message.payload);
      case 'broadcast':
        if (!counted()) return this.shutdown('Too many messages per second');
        return this.broadcast(message);
      case 'presence':
        if (!counted()) return this.shutdown('Too many messages per second');
        return this.presence(message);
      default:
        // Other events are ignored, as on the platform (no reply), but they count.
        if (!counted()) return this.shutdown('Too many messages per second');
    }
  }

  // ── broadcast ──────────────────────────────────────────────────────────────

  private async broadcast(message: InboundMessage): Promise<void> {
    if (this.isPrivate) {
      const policies = await this.writePolicies();
      // A denied write is dropped without a word (with ack the client times out), like the platform.
      if (!policies?.broadcast.write) return;
    }
    let delivery: Delivery;
    let size: number;
    if (message.userBroadcast) {
      const { event, encoding, payload } = message.userBroadcast;
      size = payload.length + Buffer.byteLength(event);
      // Client metadata is not forwarded (the platform does not use it either).
      delivery = { kind: 'user-broadcast', broadcast: { event, encoding, payload } };
    } else {
      if (!isRecord(message.payload)) return;
      size = Buffer.byteLength(JSON.stringify(message.payload));
      delivery = { kind: 'broadcast', payload: message.payload };
    }
    if (size > payloadByteLimit(this.context.limits)) {
      if (this.ackBroadcast) this.reply(message, 'error', 'payload_size_exceeded');
      return;
    }
    this.context.registry.deliver(this.space, delivery, this.selfBroadcast ? undefined : this);
    if (this.ackBroadcast) this.reply(message, 'ok', {});
  }

  /** The cached write permissions, checked on first use (null if the check failed). */
  private async writePolicies(): Promise<Policies | null> {
    const current = this.policies ?? emptyPolicies();
    if (current.broadcast.write !== null && current.presence.write !== null) return current;
    const result = await this.context.authorizer.write(current, this.authorization);
    if (!result.ok) {
      this.logCheckFailure(result);
      return null;
    }
    if (!this.closed) this.policies = result.policies;
    return result.policies;
  }

  private logCheckFailure(failure: CheckFailure) {
    const code = {
      rls_policy_error: 'RlsPolicyError',
      missing_partition: 'MissingPartition',
      query_canceled: 'QueryCanceled',
      database_unavailable: 'UnableToConnectToProject',
    }[failure.kind];
    this.context.log.warn(`${code} on topic ${this.subTopic}: ${failure.message}`);
  }

  // ── presence ───────────────────────────────────────────────────────────────

  private async presence(message: InboundMessage): Promise<void> {
    const payload = message.payload;
    if (!isRecord(payload) || typeof payload.event !== 'string') {
      this.reply(message, 'ok', {});
      return;
    }
    if (!this.presenceCalls.take()) {
      this.context.log.warn(`ClientPresenceRateLimitReached on topic ${this.subTopic}`);
      return this.shutdown('Client presence rate limit exceeded');
    }
    const event = payload.event.toLowerCase();
    if (event === 'untrack') {
      this.untrack();
      this.reply(message, 'ok', {});
      return;
    }
    if (event !== 'track') {
      this.context.log.warn(`UnknownPresenceEvent: ${event}`);
      this.reply(message, 'error', {});
      return;
    }
    if (this.isPrivate && !(await this.mayTrack())) {
      if (!this.closed) this.reply(message, 'error', {});
      return;
    }
    if (this.closed) return;
    const meta = 'payload' in payload ? payload.payload : {};
    if (!isRecord(meta)) {
      this.reply(message, 'error', { reason: 'Presence track payload must be a map' });
      return;
    }
    if (this.trackedPayload && isDeepStrictEqual(meta, this.trackedPayload)) {
      this.reply(message, 'ok', {});
      return;
    }
    if (Buffer.byteLength(JSON.stringify(meta)) > payloadByteLimit(this.context.limits)) {
      return this.shutdown('Track message size exceeded');
    }
    const diff = this.context.presence.track(this.space, this.id, this.presenceKey, meta);
    this.trackedPayload = meta;
    const wasEnabled = this.presenceEnabled;
    this.presenceEnabled = true;
    this.reply(message, 'ok', {});
    this.context.registry.deliver(this.space, { kind: 'presence-diff', payload: diff });
    // A track can be what turns presence on for this client: give it the state it missed.
    if (!wasEnabled) this.syncPresence();
  }

  /** Presence write (and read, if not checked at join) for a private channel. */
  private async mayTrack(): Promise<boolean> {
    let policies = this.policies ?? emptyPolicies();
    if (policies.presence.write === null) {
      if (policies.presence.read === null) {
        const read = await this.context.authorizer.read(policies, this.authorization, { presence: true });
        if (!read.ok) {
          this.logCheckFailure(read);
          return false;
        }
        policies = read.policies;
      }
      const write = await this.context.authorizer.write(policies, this.authorization);
      if (!write.ok) {
        this.logCheckFailure(write);
        return false;
      }
      policies = write.policies;
      if (!this.closed) this.policies = policies;
    }
    return policies.presence.write === true;
  }

  private untrack(): void {
    const diff = this.context.presence.untrack(this.space, this.id);
    this.trackedPayload = null;
    if (diff) this.context.registry.deliver(this.space, { kind: 'presence-diff', payload: diff });
  }

  /** Pushes presence_state, if this client may see presence. */
  syncPresence(): void {
    if (!this.presenceEnabled || !this.canReceivePresence()) return;
    this.push('presence_state', this.context.presence.state(this.space));
  }

  // ── replay and replication readiness ──────────────────────────────────────

  sendReplayed(stored: ReplayedMessage): void {
    const meta = { replayed: true, id: stored.id };
    if (stored.payload.encoding === 'binary') {
      const frame = encodeUserBroadcast(this.vsn, this.topic, {
        event: stored.event,
        encoding: 'binary',
        payload: stored.payload.bytes,
        meta,
      });
      if (frame !== null) this.sendRaw(frame);
      return;
    }
    // A JSON replay is a push on the channel: {type, event, payload, meta}.
    const text = `{"type":"broadcast","event":${JSON.stringify(stored.event)},"meta":${JSON.stringify(meta)},"payload":${stored.payload.text}}`;
    const frame =
      this.vsn === '2.0.0'
        ? `[${JSON.stringify(this.joinRef)},null,${JSON.stringify(this.topic)},"broadcast",${text}]`
        : `{"topic":${JSON.stringify(this.topic)},"event":"broadcast","payload":${text},"ref":null}`;
    this.sendRaw(frame);
  }

  /** The `replication_ready` opt-in: a system message once database broadcasts stream. */
  notifyReplicationReady(): void {
    const replication = this.context.replication;
    const ready = () =>
      this.push('system', {
        extension: 'system',
        status: 'ok',
        message: 'Replication connection established',
        channel: this.subTopic,
      });
    if (!replication || replication.isStreaming()) {
      ready();
      return;
    }
    this.replicationTimer = setTimeout(
      () => this.shutdown('Replication connection was not established in time'),
      60_000,
    );
    void replication.whenStreaming().then(() => {
      if (this.closed) return;
      clearTimeout(this.replicationTimer);
      ready();
    });
  }

  // ── tokens ─────────────────────────────────────────────────────────────────

  /** Re-verifies the JWT every min(tokenRecheckMs, time to expiry); an expired one ends the channel. */
  private scheduleTokenCheck(expiresAt: number): void {
    clearTimeout(this.tokenTimer);
    const untilExpiry = expiresAt - Date.now();
    // Fire just after `exp`, when the token is expired by the verifier's clock too.
    const delay =
      untilExpiry <= this.context.limits.tokenRecheckMs
        ? untilExpiry + 50
        : this.context.limits.tokenRecheckMs;
    this.tokenTimer = setTimeout(
      () =>
        this.host.enqueue(this.topic, async () => {
          if (this.closed) return;
          const checked = await checkToken(this.context.keys, this.token);
          if (this.closed) return;
          if (!checked.ok) return this.shutdown(checked.shutdownMessage);
          this.scheduleTokenCheck(checked.expiresAt);
        }),
      Math.max(0, delay),
    );
    this.tokenTimer.unref();
  }

  private async refreshToken(payload: unknown): Promise<void> {
    const token = isRecord(payload) ? payload.access_token : undefined;
    if (typeof token !== 'string' || token.startsWith('sb_') || token === this.token) return;
    const previous = this.policies;
    this.token = token;
    // The permissions checked with the previous token hold until the new token's are known, as
    // on the platform: broadcasts keep arriving while the check runs instead of being dropped.
    const checked = await checkToken(this.context.keys, token);
    if (this.closed) return;
    if (!checked.ok) return this.shutdown(checked.shutdownMessage);
    this.authorization = { ...this.authorization, claims: checked.claims, role: checked.role };
    if (this.isPrivate) {
      const result = await this.context.authorizer.read(emptyPolicies(), this.authorization, {
        presence: this.presenceEnabled,
      });
      if (this.closed) return;
      if (!result.ok) {
        if (result.kind === 'rls_policy_error') {
          this.logCheckFailure(result);
          return this.shutdown(unauthorized(this.subTopic));
        }
        this.logCheckFailure(result);
        return this.shutdown('Realtime was unable to connect to the project database');
      }
      const next = result.policies;
      const revoked =
        (previous?.broadcast.read === true && next.broadcast.read === false) ||
        (previous?.presence.read === true && next.presence.read === false);
      if (revoked)
        return this.shutdown(
          `You no longer have permission to read from this Channel topic: ${this.subTopic}`,
        );
      if (!next.broadcast.read && !next.presence.read) return this.shutdown(unauthorized(this.subTopic));
      this.policies = next;
    }
    this.scheduleTokenCheck(checked.expiresAt);
  }

  // ── the end ────────────────────────────────────────────────────────────────

  /** Ends the channel from the server: a `system` error with the reason, then `phx_close`. */
  shutdown(message: string): void {
    if (this.closed) return;
    this.push('system', { extension: 'system', status: 'error', message, channel: this.subTopic });
    this.context.log.info(`ChannelShutdown: ${message} (topic ${this.subTopic})`);
    this.close(true);
  }

  /** Leaves the topic: presence untracked (others see the leave), listeners removed. */
  close(sendClose: boolean): void {
    if (this.closed) return;
    if (sendClose) {
      // Like Phoenix: the join ref doubles as the ref of phx_close.
      this.sendRaw(
        encodeMessage(this.vsn, {
          joinRef: this.joinRef,
          ref: this.joinRef,
          topic: this.topic,
          event: 'phx_close',
          payload: {},
        }),
      );
    }
    this.closed = true;
    clearTimeout(this.tokenTimer);
    clearTimeout(this.replicationTimer);
    this.context.registry.remove(this);
    this.host.detach(this);
    const diff = this.context.presence.untrack(this.space, this.id);
    if (diff) this.context.registry.deliver(this.space, { kind: 'presence-diff', payload: diff });
  }
}
