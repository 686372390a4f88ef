// Tokens as an attacker or a broken client would present them: garbage,
// truncated, with a wrong algorithm, expired, forged with another key,
// tampered with, the project's own keys, valid ones of other users (one of
// them deleted), and tokens the project itself signed with odd claims (what a
// careless backend could mint).

import fc from 'fast-check';
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import type { World } from './world.ts';

export interface TokenPool {
  /** Every token the fuzzer can present, with a label for counterexamples. */
  all: { label: string; token: string }[];
  /** Tokens that verify: the API keys and the users' access tokens. */
  valid: string[];
  /** The signed-in users' access tokens. */
  users: string[];
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function tokenPool(world: World): Promise<TokenPool> {
  const { stack } = world;
  const [alice, bob] = world.users as [World['users'][0], World['users'][0]];
  const now = Math.floor(Date.now() / 1000);
  const userClaims = (sub: string) => ({
    sub,
    role: 'authenticated',
    aud: 'authenticated',
    iat: now,
    exp: now + 3600,
    session_id: crypto.randomUUID(),
  });
  const signed = (claims: Record<string, unknown>) => stack.keys.sign(claims);
  const forgedKey = (await generateKeyPair('ES256')).privateKey;
  const kid = JSON.parse(
    Buffer.from(alice.session.access_token.split('.')[0] as string, 'base64url').toString(),
  ).kid as string;
  const [header, payload, signature] = alice.session.access_token.split('.') as [string, string, string];
  const tampered = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;

  const labelled: [string, string | Promise<string>][] = [
    ['anon key', stack.anonKey],
    ['service_role key', stack.serviceRoleKey],
    ...world.users.map((user, i): [string, string] => [`user ${i}`, user.session.access_token]),
    ['deleted user', world.deletedUser.session.access_token],
    ['refresh token', alice.session.refresh_token],
    ['expired', signed({ ...userClaims(alice.id), iat: now - 7200, exp: now - 3600 })],
    [
      'forged (another key, same kid)',
      new SignJWT(userClaims(alice.id)).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(forgedKey),
    ],
    [
      'HS256 with the old default secret',
      new SignJWT({ ...userClaims(alice.id), role: 'service_role' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode('super-secret-jwt-token-with-at-least-32-characters-long')),
    ],
    ['alg none', new UnsecuredJWT({ ...userClaims(alice.id), role: 'service_role' }).encode()],
    ['tampered payload', `${header}.${base64url({ ...tampered, role: 'service_role' })}.${signature}`],
    ['another user in the payload', `${header}.${base64url({ ...tampered, sub: bob.id })}.${signature}`],
    ['no exp', signed({ sub: alice.id, role: 'authenticated' })],
    ['no role', signed({ sub: alice.id, exp: now + 3600 })],
    ['numeric role', signed({ sub: alice.id, role: 7, exp: now + 3600 })],
    ['role supabase_admin', signed({ sub: alice.id, role: 'supabase_admin', exp: now + 3600 })],
    ['role that does not exist', signed({ sub: alice.id, role: 'nobody', exp: now + 3600 })],
    ['sub not a uuid', signed({ ...userClaims('not-a-uuid'), sub: 'not-a-uuid' })],
    ['sub of nobody', signed(userClaims(crypto.randomUUID()))],
    ['exp as a string', signed({ ...userClaims(alice.id), exp: String(now + 3600) })],
    ['exp in the year 275760', signed({ ...userClaims(alice.id), exp: 8_639_999_999_999 })],
    ['not yet valid (nbf)', signed({ ...userClaims(alice.id), nbf: now + 3600 })],
    ['claims as an array', `${header}.${base64url([1, 2])}.${signature}`],
    ['empty', ''],
    ['three dots', '..'],
    ['not base64', 'a.b.c'],
    ['sb_ secret look-alike', 'sb_secret_0000000000000000'],
  ];
  const all = await Promise.all(labelled.map(async ([label, token]) => ({ label, token: await token })));
  return {
    all,
    valid: [stack.anonKey, stack.serviceRoleKey, ...world.users.map((user) => user.session.access_token)],
    users: world.users.map((user) => user.session.access_token),
  };
}

/** Any token: one of the pool, a valid one cut short or with a character changed, or random text. */
export function tokenArb(pool: TokenPool): fc.Arbitrary<string> {
  const valid = fc.constantFrom(...pool.valid);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...pool.all.map((entry) => entry.token)) },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.nat()).map(([token, at]) => token.slice(0, at % token.length)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.nat(), fc.constantFrom('A', '_', '-', '.', '=', ' '))
        .map(([token, at, char]) => {
          const i = at % token.length;
          return token.slice(0, i) + char + token.slice(i + 1);
        }),
    },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 80 }) },
  );
}

/** The Authorization header: mostly a bearer token, sometimes another scheme, none, or a broken one. */
export function authorizationArb(pool: TokenPool): fc.Arbitrary<string | undefined> {
  const token = tokenArb(pool);
  return fc.oneof(
    { weight: 6, arbitrary: token.map((t) => `Bearer ${t}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('bearer ', 'BEARER  ', 'Basic ', '', 'Bearer', 'Token '), token)
        .map(([scheme, t]) => scheme + t),
    },
  );
}

/** Mostly a signed-in user's bearer token, else any Authorization header at all. */
export function userAuthorizationArb(pool: TokenPool): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...pool.users).map((token) => `Bearer ${token}`) },
    { weight: 1, arbitrary: authorizationArb(pool) },
  );
}

/** Header values must be Latin-1 without control characters for fetch to send them. */
export const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '');
