// Verifies the caller's access token against the project's published keys
// (the JWKS of Supabase Auth), so a function trusts no claim it did not check.

import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { ApiError } from './errors.ts';
import { VerifiedTokens } from './verified-tokens.ts';

export interface Caller {
  /** The verified claims, handed to Postgres as request.jwt.claims. */
  claims: JWTPayload & { role: string; sub?: string };
  /** The signed-in user's id; undefined for the anon or service_role key. */
  userId: string | undefined;
  role: string;
}

let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
const verified = new VerifiedTokens();

function keySet() {
  const base = Deno.env.get('SUPABASE_URL');
  if (!base) throw new Error('SUPABASE_URL is not set');
  jwks ??= createRemoteJWKSet(new URL('/auth/v1/.well-known/jwks.json', base));
  return jwks;
}

export async function verifyCaller(request: Request): Promise<Caller> {
  const header = request.headers.get('authorization') ?? '';
  const token = /^bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (!token) throw new ApiError(401, 'unauthorized', 'Missing bearer token in the Authorization header');
  try {
    let payload = verified.get(token);
    if (!payload) {
      payload = (await jwtVerify(token, keySet())).payload;
      verified.remember(token, payload);
    }
    const role = typeof payload.role === 'string' ? payload.role : '';
    if (!['anon', 'authenticated', 'service_role'].includes(role)) {
      throw new ApiError(401, 'unauthorized', 'The token carries no known role');
    }
    const userId = role === 'authenticated' && typeof payload.sub === 'string' ? payload.sub : undefined;
    return { claims: { ...payload, role }, userId, role };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const message =
      error instanceof errors.JWTExpired ? 'The access token has expired' : 'The access token is invalid';
    throw new ApiError(401, 'unauthorized', message);
  }
}

/** Like verifyCaller, but demands a signed-in user. */
export async function requireUser(request: Request): Promise<Caller & { userId: string }> {
  const caller = await verifyCaller(request);
  if (!caller.userId)
    throw new ApiError(401, 'unauthorized', 'Sign in first: this endpoint needs a user token');
  return caller as Caller & { userId: string };
}
