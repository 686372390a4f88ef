// Signing keys and API keys. Like current Supabase projects, tokens are signed
// with an asymmetric key (ES256) published as a JWKS; the anon and service_role
// API keys are long-lived JWTs signed by the same key. The private key is kept in
// the data folder, so keys stay the same across restarts until a reset.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CryptoKey,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

export interface Claims extends JWTPayload {
  role?: string;
  sub?: string;
  email?: string;
  session_id?: string;
  is_anonymous?: boolean;
  [claim: string]: unknown;
}

export type VerifyResult =
  | { ok: true; claims: Claims }
  | { ok: false; reason: 'malformed' | 'expired' | 'invalid'; message: string; expiredSecondsAgo?: number };

export interface Keys {
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  readonly jwks: JSONWebKeySet;
  /** Signs claims; `exp` must be present. */
  sign(claims: Claims): Promise<string>;
  verify(token: string): Promise<VerifyResult>;
  /** The role an API key stands for, or null if it is not one of the project's keys. */
  apiKeyRole(apiKey: string): 'anon' | 'service_role' | null;
}

const ISSUER = 'supabase-emulator';
/** How many verified tokens are remembered (a few MB at most). */
const VERIFIED_TOKENS_KEPT = 10_000;
const TEN_YEARS = 10 * 365 * 24 * 3600;
const ISSUED_AT = 1_700_000_000;

interface StoredKey {
  privateJwk: JWK;
  publicJwk: JWK;
  /** ECDSA signatures differ on every signing, so the API keys are kept, not re-made. */
  anonKey: string;
  serviceRoleKey: string;
}

async function loadOrCreateKey(dataDir: string | undefined): Promise<StoredKey> {
  const file = dataDir ? path.join(dataDir, 'signing-key.json') : undefined;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StoredKey;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const apiKey = (role: string) =>
    new SignJWT({ iss: ISSUER, role, iat: ISSUED_AT, exp: ISSUED_AT + TEN_YEARS })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .sign(privateKey);
  const stored: StoredKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig', key_ops: ['verify'] },
    anonKey: await apiKey('anon'),
    serviceRoleKey: await apiKey('service_role'),
  };
  if (file) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return stored;
}

export async function loadKeys(dataDir?: string): Promise<Keys> {
  const stored = await loadOrCreateKey(dataDir);
  const privateKey = (await importJWK(stored.privateJwk, 'ES256')) as CryptoKey;
  const publicKey = (await importJWK(stored.publicJwk, 'ES256')) as CryptoKey;
  const kid = stored.publicJwk.kid as string;

  const sign = (claims: Claims) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(privateKey);

  const { anonKey, serviceRoleKey } = stored;

  // Tokens already verified, with their claims: the same bytes verify the same way, so a
  // signature is checked once per token, not once per request. Expiry is checked on every
  // use (exactly as jwtVerify does); only successes are kept, the oldest dropped first.
  const verified = new Map<string, Claims>();

  const verify = async (token: string): Promise<VerifyResult> => {
    const known = verified.get(token);
    if (known) {
      if ((known.exp as number) > Math.floor(Date.now() / 1000)) return { ok: true, claims: { ...known } };
      verified.delete(token);
    }
    if (typeof token !== 'string' || token.split('.').length !== 3) {
      return {
        ok: false,
        reason: 'malformed',
        message: 'token is not a JWT (expected three dot-separated parts)',
      };
    }
    try {
      const { payload } = await jwtVerify(token, publicKey, { algorithms: ['ES256'] });
      if (typeof payload.exp !== 'number') {
        return { ok: false, reason: 'invalid', message: 'token has no exp claim' };
      }
      if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value as string);
      verified.set(token, payload as Claims);
      return { ok: true, claims: { ...(payload as Claims) } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        const exp = Number(error.payload.exp);
        return {
          ok: false,
          reason: 'expired',
          message: 'token has expired',
          expiredSecondsAgo: Math.max(0, Math.floor(Date.now() / 1000) - exp),
        };
      }
      if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
        return { ok: false, reason: 'malformed', message: 'token could not be decoded' };
      }
      return { ok: false, reason: 'invalid', message: 'token signature is invalid' };
    }
  };

  return {
    anonKey,
    serviceRoleKey,
    jwks: { keys: [stored.publicJwk] },
    sign,
    verify,
    apiKeyRole: (apiKey) => (apiKey === anonKey ? 'anon' : apiKey === serviceRoleKey ? 'service_role' : null),
  };
}
