// The phx_join payload, validated like the platform does (its Ecto schema and
// phx_join.schema.json): unknown keys are ignored, booleans may also come as
// "true"/"false" strings, and a field of the wrong type is reported
// (InvalidJoinPayload, in the log) and then treated as absent, so the join
// goes on with the defaults, as on the platform.

import { z } from 'zod';

const flexibleBoolean = z.union([
  z.boolean(),
  z
    .string()
    .regex(/^(true|false)$/i, 'unable to parse, expected boolean')
    .transform((value) => value.toLowerCase() === 'true'),
]);

const replaySchema = z.object({
  since: z.number().int().optional(),
  limit: z.number().int().optional(),
});

const broadcastSchema = z.object({
  self: flexibleBoolean.optional(),
  ack: flexibleBoolean.optional(),
  replication_ready: flexibleBoolean.optional(),
  replay: replaySchema.optional(),
});

const presenceSchema = z.object({
  enabled: flexibleBoolean.optional(),
  key: z.unknown().optional(),
});

const postgresChangeSchema = z.object({
  event: z.string().nullish(),
  schema: z.string().nullish(),
  table: z.string().nullish(),
  filter: z.string().nullish(),
});

const configSchema = z.object({
  broadcast: broadcastSchema.nullish(),
  presence: presenceSchema.nullish(),
  postgres_changes: z.array(postgresChangeSchema.nullable()).nullish(),
  private: flexibleBoolean.nullish(),
});

/** Mirrors the platform's join payload schema. */
export const joinPayloadSchema = z.object({
  config: configSchema.nullish(),
  access_token: z.string().nullish(),
  user_token: z.string().nullish(),
});

export interface JoinRequest {
  private: boolean;
  selfBroadcast: boolean;
  ackBroadcast: boolean;
  replicationReady: boolean;
  /** The raw replay settings, if any (checked when the replay runs, as on the platform). */
  replay: Record<string, unknown> | undefined;
  /** False only when the client sent `presence.enabled: false` (an absent presence config enables it). */
  presenceEnabled: boolean;
  /** The requested presence key; '' or absent means the server picks one. */
  presenceKey: unknown;
  postgresChanges: unknown[];
  accessToken: string | undefined;
  userToken: string | undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One field, parsed on its own so that a bad sibling does not take it down. */
function field<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Validates a join payload: the request to act on, and the problems found (empty if none). */
export function parseJoinPayload(payload: Record<string, unknown>): {
  request: JoinRequest;
  problems: string[];
} {
  const strict = joinPayloadSchema.safeParse(payload);
  const problems = strict.success
    ? []
    : strict.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`);

  const config = isRecord(payload.config) ? payload.config : undefined;
  const broadcast = config && isRecord(config.broadcast) ? config.broadcast : undefined;
  const presence = config && isRecord(config.presence) ? config.presence : undefined;
  const replay = broadcast && isRecord(broadcast.replay) ? broadcast.replay : undefined;
  const postgresChanges = config && Array.isArray(config.postgres_changes) ? config.postgres_changes : [];

  return {
    problems,
    request: {
      private: field(flexibleBoolean, config?.private) ?? false,
      selfBroadcast: field(flexibleBoolean, broadcast?.self) ?? false,
      ackBroadcast: field(flexibleBoolean, broadcast?.ack) ?? false,
      replicationReady: field(flexibleBoolean, broadcast?.replication_ready) ?? false,
      replay,
      presenceEnabled: presence ? (field(flexibleBoolean, presence.enabled) ?? false) : true,
      presenceKey: presence?.key,
      postgresChanges: postgresChanges.filter((entry) => entry !== null),
      accessToken: field(z.string(), payload.access_token),
      userToken: field(z.string(), payload.user_token),
    },
  };
}
