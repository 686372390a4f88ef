// Checking a channel's JWT the way Realtime does: signature, expiry, and the
// claims it requires (`role` and `exp`), with the platform's error names and
// messages for the join reply and for the system message that ends a channel.

import type { Claims, Keys } from '../keys.ts';

export type TokenCheck =
  | { ok: true; claims: Claims; role: string; expiresAt: number }
  | {
      ok: false;
      /** The join reply's reason: "<ErrorName>: <message>". */
      joinReason: string;
      /** The message of the system error that closes a joined channel. */
      shutdownMessage: string;
    };

const failure = (code: string, message: string): TokenCheck => ({
  ok: false,
  joinReason: `${code}: ${message}`,
  shutdownMessage: message,
});

export async function checkToken(keys: Keys, token: string): Promise<TokenCheck> {
  const result = await keys.verify(token.replace(/\s/g, ''));
  if (!result.ok) {
    if (result.reason === 'expired') {
      return failure('InvalidJWTToken', `Token has expired ${result.expiredSecondsAgo ?? 0} seconds ago`);
    }
    if (result.reason === 'malformed')
      return failure('MalformedJWT', 'The token provided is not a valid JWT');
    // A correctly signed token without `exp` is reported as missing claims, like the platform.
    if (/no exp claim/.test(result.message)) {
      return failure('InvalidJWTToken', 'Fields `role` and `exp` are required in JWT');
    }
    return failure('JwtSignatureError', 'Failed to validate JWT signature');
  }
  const { claims } = result;
  if (typeof claims.role !== 'string' || typeof claims.exp !== 'number') {
    return failure('InvalidJWTToken', 'Fields `role` and `exp` are required in JWT');
  }
  if (claims.exp * 1000 <= Date.now()) return failure('InvalidJWTToken', 'Token expiration time is invalid');
  return { ok: true, claims, role: claims.role, expiresAt: claims.exp * 1000 };
}
