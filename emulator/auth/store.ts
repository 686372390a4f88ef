// Users, sessions and refresh tokens in the auth schema, as Supabase Auth keeps them.

import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';

export interface UserRow {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  is_anonymous: boolean;
}

export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Record<string, unknown>;
  provider: string;
  last_sign_in_at: Date | null;
  created_at: Date;
  updated_at: Date;
  email: string | null;
}

type Queryable = pg.Pool | pg.PoolClient;

const USER_COLUMNS = `id, aud, role, email, encrypted_password, email_confirmed_at, confirmed_at, last_sign_in_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_anonymous`;

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where email = $1 and is_sso_user = false and deleted_at is null`,
    [email],
  );
  return rows[0];
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where id = $1 and deleted_at is null`,
    [id],
  );
  return rows[0];
}

export async function identitiesOf(db: Queryable, userId: string): Promise<IdentityRow[]> {
  const { rows } = await db.query<IdentityRow>(
    `select id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at, email
       from auth.identities where user_id = $1 order by created_at`,
    [userId],
  );
  return rows;
}

export async function insertUser(
  db: Queryable,
  user: {
    email: string | null;
    encryptedPassword: string | null;
    userMetadata: Record<string, unknown>;
    appMetadata: Record<string, unknown>;
    isAnonymous: boolean;
  },
): Promise<UserRow> {
  const id = randomUUID();
  const { rows } = await db.query<UserRow>(
    `insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
       raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at, is_anonymous)
     values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', $2::text, $3,
       case when $2::text is null then null else now() end, $4, $5, false, now(), now(), $6)
     returning ${USER_COLUMNS}`,
    [id, user.email, user.encryptedPassword, user.appMetadata, user.userMetadata, user.isAnonymous],
  );
  const row = rows[0] as UserRow;
  if (user.email) {
    await db.query(
      `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
       values ($1::text, $1::uuid, $2, 'email', now(), now(), now())`,
      [id, { sub: id, email: user.email, email_verified: true, phone_verified: false }],
    );
  }
  return row;
}

export async function updateUser(
  db: Queryable,
  id: string,
  changes: { email?: string; encryptedPassword?: string; userMetadata?: Record<string, unknown> },
): Promise<UserRow> {
  const { rows } = await db.query<UserRow>(
    `update auth.users set
        email = coalesce($2, email),
        encrypted_password = coalesce($3, encrypted_password),
        raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || coalesce($4::jsonb, '{}'::jsonb),
        updated_at = now()
      where id = $1
      returning ${USER_COLUMNS}`,
    [id, changes.email ?? null, changes.encryptedPassword ?? null, changes.userMetadata ?? null],
  );
  return rows[0] as UserRow;
}

export async function deleteUser(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from auth.users where id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

export async function touchSignIn(db: Queryable, userId: string): Promise<void> {
  await db.query('update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1', [userId]);
}

const newRefreshToken = () => randomBytes(16).toString('base64url');

/** Opens a session and returns its first refresh token. */
export async function createSession(
  db: Queryable,
  userId: string,
): Promise<{ sessionId: string; token: string }> {
  const sessionId = randomUUID();
  const token = newRefreshToken();
  await db.query(
    `insert into auth.sessions (id, user_id, created_at, updated_at) values ($1, $2, now(), now())`,
    [sessionId, userId],
  );
  await db.query(
    `insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, session_id)
     values ('00000000-0000-0000-0000-000000000000', $1, $2, false, now(), now(), $3)`,
    [token, userId, sessionId],
  );
  return { sessionId, token };
}

export interface RefreshTokenRow {
  id: string;
  token: string;
  user_id: string;
  revoked: boolean;
  updated_at: Date;
  session_id: string;
}

export async function findRefreshToken(db: Queryable, token: string): Promise<RefreshTokenRow | undefined> {
  const { rows } = await db.query<RefreshTokenRow>(
    `select id, token, user_id, revoked, updated_at, session_id from auth.refresh_tokens where token = $1 for update`,
    [token],
  );
  return rows[0];
}

/** Revokes `parent` and issues its successor in the same session. */
export async function rotateRefreshToken(db: Queryable, parent: RefreshTokenRow): Promise<string> {
  const token = newRefreshToken();
  await db.query('update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1', [
    parent.id,
  ]);
  await db.query(
    `insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
     values ('00000000-0000-0000-0000-000000000000', $1, $2, false, now(), now(), $3, $4)`,
    [token, parent.user_id, parent.token, parent.session_id],
  );
  await db.query('update auth.sessions set refreshed_at = now(), updated_at = now() where id = $1', [
    parent.session_id,
  ]);
  return token;
}

export async function sessionExists(db: Queryable, sessionId: string): Promise<boolean> {
  const { rowCount } = await db.query('select 1 from auth.sessions where id = $1', [sessionId]);
  return (rowCount ?? 0) > 0;
}

export async function deleteSessions(
  db: Queryable,
  userId: string,
  sessionId: string,
  scope: 'global' | 'local' | 'others',
): Promise<void> {
  if (scope === 'local') await db.query('delete from auth.sessions where id = $1', [sessionId]);
  else if (scope === 'others')
    await db.query('delete from auth.sessions where user_id = $1 and id <> $2', [userId, sessionId]);
  else await db.query('delete from auth.sessions where user_id = $1', [userId]);
}
