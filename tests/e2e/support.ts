// Shared helpers for the e2e suites: the shared stack, fresh users, direct SQL.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type CryptoKey, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { createStackClient, createUser } from '../../emulator/testing.ts';

export const stack = inject('stack');

export const newUser = (options?: Parameters<typeof createUser>[1]) => createUser(stack, options);
export const anonClient = () => createStackClient(stack);
export const serviceClient = () => createStackClient(stack, stack.serviceRoleKey);

/** A pool as `postgres`, closed after the file's tests. */
export function sqlPool(url = stack.dbUrl): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  afterAll(() => pool.end());
  return pool;
}

/** Signs claims with the stack's own key (for expired tokens) or a stranger's (forged). */
export async function mintToken(claims: Record<string, unknown>, signer: 'project' | 'forged' = 'project') {
  let key: CryptoKey;
  let kid: string;
  if (signer === 'project') {
    if (!stack.dataDir) throw new Error('the shared stack has no data folder to read its key from');
    const stored = JSON.parse(readFileSync(path.join(stack.dataDir, 'signing-key.json'), 'utf8')) as {
      privateJwk: JWK;
    };
    key = (await importJWK(stored.privateJwk, 'ES256')) as CryptoKey;
    kid = stored.privateJwk.kid as string;
  } else {
    key = (await generateKeyPair('ES256')).privateKey;
    kid = 'forged';
  }
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(key);
}

/** fetch against the gateway with the anon key unless headers say otherwise. */
export function api(pathname: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  return fetch(`${stack.url}${pathname}`, {
    ...init,
    headers: { apikey: stack.anonKey, ...init.headers },
  });
}
