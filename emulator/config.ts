// The project's supabase/config.toml, read with the keys the emulator honours.
// The Supabase CLI reads the same file, so local and hosted settings agree.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { z } from 'zod';

const functionSchema = z.object({
  enabled: z.boolean().default(true),
  verify_jwt: z.boolean().default(true),
  entrypoint: z.string().optional(),
});

/** [auth.rate_limit], with the Supabase CLI's defaults (see config.toml for what each counts). */
const rateLimitSchema = z.object({
  email_sent: z.number().nonnegative().default(2),
  sms_sent: z.number().nonnegative().default(30),
  anonymous_users: z.number().nonnegative().default(30),
  token_refresh: z.number().nonnegative().default(150),
  sign_in_sign_ups: z.number().nonnegative().default(30),
  token_verifications: z.number().nonnegative().default(30),
  web3: z.number().nonnegative().default(30),
});

export type AuthRateLimits = z.infer<typeof rateLimitSchema>;
export const DEFAULT_AUTH_RATE_LIMITS: AuthRateLimits = rateLimitSchema.parse({});

const configSchema = z.object({
  project_id: z.string().default('local'),
  api: z
    .object({
      port: z.number().int().default(54321),
      schemas: z.array(z.string()).default(['public', 'graphql_public']),
      extra_search_path: z.array(z.string()).default(['public', 'extensions']),
      max_rows: z.number().int().default(1000),
    })
    .prefault({}),
  db: z
    .object({ port: z.number().int().default(54322), major_version: z.number().int().default(17) })
    .prefault({}),
  auth: z
    .object({
      site_url: z.string().default('http://127.0.0.1:3000'),
      jwt_expiry: z.number().int().positive().default(3600),
      enable_refresh_token_rotation: z.boolean().default(true),
      refresh_token_reuse_interval: z.number().int().nonnegative().default(10),
      enable_signup: z.boolean().default(true),
      enable_anonymous_sign_ins: z.boolean().default(false),
      minimum_password_length: z.number().int().default(6),
      email: z.object({ enabled: z.boolean().default(true) }).prefault({}),
      rate_limit: rateLimitSchema.prefault({}),
    })
    .prefault({}),
  functions: z.record(z.string(), functionSchema).default({}),
});

export type ProjectConfig = z.infer<typeof configSchema>;

export interface FunctionEntry {
  name: string;
  /** Absolute path of the module exporting `default { fetch }`. */
  entrypoint: string;
  verifyJwt: boolean;
}

export function loadProjectConfig(projectDir: string): ProjectConfig {
  const file = path.join(projectDir, 'supabase', 'config.toml');
  const raw = existsSync(file) ? parse(readFileSync(file, 'utf8')) : {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`supabase/config.toml is invalid: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/**
 * Functions to serve: those declared in config.toml (entrypoint relative to supabase/),
 * plus any functions/<name>/index.ts not declared there (verify_jwt defaults to true, as on the platform).
 */
export function listFunctions(projectDir: string, config: ProjectConfig): FunctionEntry[] {
  const entries = new Map<string, FunctionEntry>();
  for (const [name, fn] of Object.entries(config.functions)) {
    if (!fn.enabled) continue;
    const entrypoint = fn.entrypoint
      ? path.resolve(projectDir, 'supabase', fn.entrypoint)
      : path.join(projectDir, 'functions', name, 'index.ts');
    entries.set(name, { name, entrypoint, verifyJwt: fn.verify_jwt });
  }
  const functionsDir = path.join(projectDir, 'functions');
  if (existsSync(functionsDir)) {
    for (const dir of readdirSync(functionsDir, { withFileTypes: true })) {
      if (!dir.isDirectory() || dir.name.startsWith('_') || entries.has(dir.name)) continue;
      if (config.functions[dir.name]?.enabled === false) continue;
      const entrypoint = path.join(functionsDir, dir.name, 'index.ts');
      if (existsSync(entrypoint)) entries.set(dir.name, { name: dir.name, entrypoint, verifyJwt: true });
    }
  }
  return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name));
}
