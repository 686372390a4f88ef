// The Supabase Auth (GoTrue) subset supabase-js needs, at /auth/v1: sign-up,
// password and anonymous sign-in, refresh-token rotation, the user endpoint,
// logout, admin user management and the JWKS. Users live in auth.users.
// Passwords are hashed off the event loop (password-hasher.ts); sign-ups,
// sign-ins, refreshes and user updates are rate limited per client address
// (rate-limits.ts), which the gateway passes in X-Forwarded-For.

import type pg from 'pg';
import { z } from 'zod';
import type { AuthRateLimits, ProjectConfig } from '../config.ts';
import { type Handler, json, readJson } from '../http.ts';
import type { Claims, Keys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { restartSafePool } from '../postgres/connections.ts';
import {
  API_VERSION,
  AuthError,
  authError,
  authErrorResponse,
  badJson,
  badJwt,
  invalidCredentials,
  noAuthorization,
  notAdmin,
  overRateLimit,
  validationFailed,
} from './errors.ts';
import { createPasswordHasher } from './password-hasher.ts';
import { createAuthRateLimiter, type RateLimitedAction } from './rate-limits.ts';
import * as store from './store.ts';

export interface AuthService {
  handle: Handler;
  stop(): Promise<void>;
}

export interface AuthDeps {
  dbUrl: string;
  keys: Keys;
  config: ProjectConfig['auth'];
  /** Per-address limits (default: config.rate_limit); false limits nothing. */
  rateLimits?: AuthRateLimits | false;
  /** The public API URL (known once the gateway listens). */
  publicUrl: () => string;
  log: Logger;
}

// No spaces, control characters or second @; a dot in the domain.
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;
const MAX_EMAIL_LENGTH = 255;
/** bcrypt reads only the first 72 bytes of a password; GoTrue refuses longer ones. */
const MAX_PASSWORD_LENGTH = 72;

const signUpBody = z.object({
  email: z.string().optional(),
  password: z.string().optional(),
  phone: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
const passwordGrantBody = z.object({ email: z.string().optional(), password: z.string().optional() });
const refreshGrantBody = z.object({ refresh_token: z.string().optional() });
const updateUserBody = z.object({
  email: z.string().optional(),
  password: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
const adminCreateBody = z.object({
  email: z.string().optional(),
  password: z.string().optional(),
  email_confirm: z.boolean().optional(),
  user_metadata: z.record(z.string(), z.unknown()).optional(),
  app_metadata: z.record(z.string(), z.unknown()).optional(),
});

/** True when a string anywhere in `value` holds U+0000, which PostgreSQL text and jsonb cannot store. */
function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([key, item]) => key.includes('\u0000') || holdsNul(item));
  }
  return false;
}

function parseBody<T extends Record<string, unknown>>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw validationFailed(`Invalid request body: ${z.prettifyError(result.error)}`);
  // Emails are checked by format, passwords may hold anything; metadata goes into jsonb as it is.
  const { data, user_metadata, app_metadata } = result.data;
  if (holdsNul([data, user_metadata, app_metadata])) {
    throw validationFailed('User metadata must not contain NUL characters');
  }
  return result.data;
}

function userJson(user: store.UserRow, identities: store.IdentityRow[]) {
  return {
    id: user.id,
    aud: user.aud,
    role: user.role,
    email: user.email ?? '',
    email_confirmed_at: user.email_confirmed_at,
    phone: '',
    confirmed_at: user.confirmed_at,
    last_sign_in_at: user.last_sign_in_at,
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    identities: identities.map((identity) => ({
      identity_id: identity.id,
      id: identity.provider_id,
      user_id: identity.user_id,
      identity_data: identity.identity_data,
      provider: identity.provider,
      last_sign_in_at: identity.last_sign_in_at,
      created_at: identity.created_at,
      updated_at: identity.updated_at,
      email: identity.email,
    })),
    created_at: user.created_at,
    updated_at: user.updated_at,
    is_anonymous: user.is_anonymous,
  };
}

export function startAuth(deps: AuthDeps): AuthService {
  const { keys, config, log } = deps;
  const pool = restartSafePool({ connectionString: deps.dbUrl, max: 5 }, (error) =>
    log.warn(`idle auth connection failed: ${error.message}`),
  );
  const passwords = createPasswordHasher();
  const rateLimiter = createAuthRateLimiter(deps.rateLimits ?? config.rate_limit);
  let dummyHash: Promise<string> | undefined;

  /** Counts the request against its address's bucket, as GoTrue does; 429 past the limit. */
  const limit = (request: Request, action: RateLimitedAction) => {
    // The first X-Forwarded-For address: the client as the gateway saw it. None, no limit (as GoTrue).
    const address = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
    if (address && !rateLimiter.take(action, address)) throw overRateLimit();
  };

  const transaction = async <T>(work: (db: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };

  const accessToken = (user: store.UserRow, sessionId: string, method: string) => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Claims = {
      iss: `${deps.publicUrl()}/auth/v1`,
      sub: user.id,
      aud: 'authenticated',
      exp: now + config.jwt_expiry,
      iat: now,
      email: user.email ?? '',
      phone: '',
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: 'authenticated',
      aal: 'aal1',
      amr: [{ method, timestamp: now }],
      session_id: sessionId,
      is_anonymous: user.is_anonymous,
    };
    return { token: keys.sign(claims), expiresAt: claims.exp as number };
  };

  const sessionJson = async (
    db: pg.PoolClient,
    user: store.UserRow,
    sessionId: string,
    refresh: string,
    method: string,
  ) => {
    const { token, expiresAt } = accessToken(user, sessionId, method);
    return {
      access_token: await token,
      token_type: 'bearer',
      expires_in: config.jwt_expiry,
      expires_at: expiresAt,
      refresh_token: refresh,
      user: userJson(user, await store.identitiesOf(db, user.id)),
    };
  };

  const validatePassword = (password: string | undefined): string => {
    if (!password) throw authError(422, 'validation_failed', 'Signup requires a valid password');
    if (Buffer.byteLength(password) > MAX_PASSWORD_LENGTH) {
      throw validationFailed(`Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
    }
    if (password.length < config.minimum_password_length) {
      throw authError(
        422,
        'weak_password',
        `Password should be at least ${config.minimum_password_length} characters.`,
        { weak_password: { reasons: ['length'], message: 'Password is too short' } },
      );
    }
    return password;
  };

  const normalizeEmail = (email: string): string => {
    const normalized = email.trim().toLowerCase();
    if (normalized === '') throw validationFailed('An email address is required');
    if (normalized.length > MAX_EMAIL_LENGTH) throw validationFailed('An email address is too long');
    if (!EMAIL.test(normalized)) {
      throw authError(400, 'validation_failed', 'Unable to validate email address: invalid format');
    }
    return normalized;
  };

  /** The verified claims of the request's bearer token. */
  const bearerClaims = async (request: Request): Promise<Claims> => {
    const header = request.headers.get('authorization') ?? '';
    const token = /^bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (!token) throw noAuthorization();
    const result = await keys.verify(token);
    if (!result.ok) {
      const detail =
        result.reason === 'expired'
          ? `token is expired by ${result.expiredSecondsAgo}s`
          : 'unable to parse or verify signature';
      throw authError(401, 'bad_jwt', `invalid JWT: ${detail}`);
    }
    return result.claims;
  };

  const userFromToken = async (request: Request) => {
    const claims = await bearerClaims(request);
    if (!claims.sub) throw badJwt('missing sub claim');
    const user = await store.findUserById(pool, claims.sub);
    if (!user) throw authError(403, 'user_not_found', 'User from sub claim in JWT does not exist');
    const sessionId = typeof claims.session_id === 'string' ? claims.session_id : '';
    if (!sessionId || !(await store.sessionExists(pool, sessionId))) {
      throw authError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
    }
    return { user, sessionId };
  };

  const requireServiceRole = async (request: Request) => {
    const claims = await bearerClaims(request);
    if (claims.role !== 'service_role') throw notAdmin();
  };

  const signUp = async (request: Request) => {
    const body = parseBody(signUpBody, await readJson(request, badJson));
    if (!config.enable_signup)
      throw authError(422, 'signup_disabled', 'Signups not allowed for this instance');
    if (body.email === undefined && body.password === undefined && body.phone === undefined) {
      if (!config.enable_anonymous_sign_ins) {
        throw authError(422, 'anonymous_provider_disabled', 'Anonymous sign-ins are disabled');
      }
      limit(request, 'anonymous');
      return transaction(async (db) => {
        const user = await store.insertUser(db, {
          email: null,
          encryptedPassword: null,
          userMetadata: body.data ?? {},
          appMetadata: {},
          isAnonymous: true,
        });
        await store.touchSignIn(db, user.id);
        const session = await store.createSession(db, user.id);
        const fresh = (await store.findUserById(db, user.id)) as store.UserRow;
        return json(await sessionJson(db, fresh, session.sessionId, session.token, 'anonymous'));
      });
    }
    limit(request, 'signups');
    if (body.phone !== undefined)
      throw authError(422, 'phone_provider_disabled', 'Phone signups are disabled');
    if (!config.email.enabled) throw authError(422, 'email_provider_disabled', 'Email signups are disabled');
    const email = normalizeEmail(body.email ?? '');
    const password = validatePassword(body.password);
    const encryptedPassword = await passwords.hash(password);
    return transaction(async (db) => {
      if (await store.findUserByEmail(db, email)) {
        throw authError(422, 'user_already_exists', 'User already registered');
      }
      const user = await store.insertUser(db, {
        email,
        encryptedPassword,
        userMetadata: body.data ?? {},
        appMetadata: { provider: 'email', providers: ['email'] },
        isAnonymous: false,
      });
      await store.touchSignIn(db, user.id);
      const session = await store.createSession(db, user.id);
      const fresh = (await store.findUserById(db, user.id)) as store.UserRow;
      log.info(`signed up ${email}`);
      return json(await sessionJson(db, fresh, session.sessionId, session.token, 'password'));
    }).catch((error: unknown) => {
      // Two sign-ups racing for one email: the unique index decides.
      if ((error as { code?: string }).code === '23505') {
        throw authError(422, 'user_already_exists', 'User already registered');
      }
      throw error;
    });
  };

  const passwordGrant = async (request: Request) => {
    const body = parseBody(passwordGrantBody, await readJson(request, badJson));
    if (!body.email || !body.password) throw validationFailed('An email and a password are required');
    const email = body.email.trim().toLowerCase();
    const user = await store.findUserByEmail(pool, email);
    // Compare even when the user is unknown, so timing does not reveal which emails exist.
    dummyHash ??= passwords.hash('not-a-password');
    const hash = user?.encrypted_password ?? (await dummyHash);
    const matches = await passwords.verify(body.password, hash);
    if (!user?.encrypted_password || !matches) throw invalidCredentials();
    return transaction(async (db) => {
      await store.touchSignIn(db, user.id);
      const session = await store.createSession(db, user.id);
      const fresh = (await store.findUserById(db, user.id)) as store.UserRow;
      return json(await sessionJson(db, fresh, session.sessionId, session.token, 'password'));
    });
  };

  const refreshGrant = async (request: Request) => {
    const body = parseBody(refreshGrantBody, await readJson(request, badJson));
    if (!body.refresh_token) throw validationFailed('refresh_token is required');
    const refreshToken = body.refresh_token;
    return transaction(async (db) => {
      const row = await store.findRefreshToken(db, refreshToken);
      if (!row) {
        throw authError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
      }
      if (row.revoked) {
        const ageSeconds = (Date.now() - row.updated_at.getTime()) / 1000;
        if (config.enable_refresh_token_rotation && ageSeconds > config.refresh_token_reuse_interval) {
          throw authError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
        }
      }
      const user = await store.findUserById(db, row.user_id);
      if (!user || !(await store.sessionExists(db, row.session_id))) {
        throw authError(400, 'session_not_found', 'Session from session_id claim in JWT does not exist');
      }
      const next = await store.rotateRefreshToken(db, row);
      return json(await sessionJson(db, user, row.session_id, next, 'token_refresh'));
    });
  };

  const getUser = async (request: Request) => {
    const { user } = await userFromToken(request);
    return json(userJson(user, await store.identitiesOf(pool, user.id)));
  };

  const putUser = async (request: Request) => {
    const { user } = await userFromToken(request);
    limit(request, 'user');
    const body = parseBody(updateUserBody, await readJson(request, badJson));
    const email = body.email === undefined ? undefined : normalizeEmail(body.email);
    const encryptedPassword =
      body.password === undefined ? undefined : await passwords.hash(validatePassword(body.password));
    return transaction(async (db) => {
      if (email && email !== user.email && (await store.findUserByEmail(db, email))) {
        throw authError(422, 'email_exists', 'A user with this email address has already been registered');
      }
      const updated = await store.updateUser(db, user.id, {
        email,
        encryptedPassword,
        userMetadata: body.data,
      });
      return json(userJson(updated, await store.identitiesOf(db, user.id)));
    });
  };

  const logout = async (request: Request) => {
    const { user, sessionId } = await userFromToken(request);
    const scope = new URL(request.url).searchParams.get('scope') ?? 'global';
    if (scope !== 'global' && scope !== 'local' && scope !== 'others') {
      throw validationFailed('scope must be one of global, local, others');
    }
    await store.deleteSessions(pool, user.id, sessionId, scope);
    return new Response(null, { status: 204, headers: { 'x-supabase-api-version': API_VERSION } });
  };

  const adminCreateUser = async (request: Request) => {
    await requireServiceRole(request);
    const body = parseBody(adminCreateBody, await readJson(request, badJson));
    const email = body.email === undefined ? null : normalizeEmail(body.email);
    const encryptedPassword =
      body.password === undefined ? null : await passwords.hash(validatePassword(body.password));
    return transaction(async (db) => {
      if (email && (await store.findUserByEmail(db, email))) {
        throw authError(422, 'email_exists', 'A user with this email address has already been registered');
      }
      const user = await store.insertUser(db, {
        email,
        encryptedPassword,
        userMetadata: body.user_metadata ?? {},
        appMetadata: { provider: 'email', providers: ['email'], ...body.app_metadata },
        isAnonymous: email === null,
      });
      return json(userJson(user, await store.identitiesOf(db, user.id)));
    });
  };

  const adminUserById = async (request: Request, id: string) => {
    await requireServiceRole(request);
    if (!z.uuid().safeParse(id).success) throw validationFailed('user id must be a UUID');
    if (request.method === 'DELETE') {
      if (!(await store.deleteUser(pool, id))) throw authError(404, 'user_not_found', 'User not found');
      return json({});
    }
    const user = await store.findUserById(pool, id);
    if (!user) throw authError(404, 'user_not_found', 'User not found');
    return json(userJson(user, await store.identitiesOf(pool, id)));
  };

  const settings = () =>
    json({
      external: {
        email: config.email.enabled,
        phone: false,
        anonymous_users: config.enable_anonymous_sign_ins,
      },
      disable_signup: !config.enable_signup,
      mailer_autoconfirm: true,
      phone_autoconfirm: false,
      sms_provider: '',
      saml_enabled: false,
    });

  const route = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/auth\/v1/, '').replace(/\/+$/, '') || '/';
    const method = request.method;
    const allow = (methods: string[], run: () => Promise<Response> | Response) => {
      if (!methods.includes(method))
        throw authError(405, 'method_not_allowed', `Method ${method} not allowed`);
      return run();
    };
    if (path === '/.well-known/jwks.json') return allow(['GET', 'HEAD'], () => json(keys.jwks));
    if (path === '/health')
      return allow(['GET', 'HEAD'], () => json({ name: 'GoTrue', description: 'emulated' }));
    if (path === '/settings') return allow(['GET', 'HEAD'], settings);
    if (path === '/signup') return allow(['POST'], () => signUp(request));
    if (path === '/token') {
      return allow(['POST'], () => {
        const grant = url.searchParams.get('grant_type');
        if (grant !== 'password' && grant !== 'refresh_token') {
          throw authError(
            400,
            'unsupported_grant_type',
            `grant_type ${grant ?? '(missing)'} is not supported`,
          );
        }
        limit(request, 'token');
        return grant === 'password' ? passwordGrant(request) : refreshGrant(request);
      });
    }
    if (path === '/user') {
      return allow(['GET', 'PUT'], () => (method === 'GET' ? getUser(request) : putUser(request)));
    }
    if (path === '/logout') return allow(['POST'], () => logout(request));
    if (path === '/admin/users') return allow(['POST'], () => adminCreateUser(request));
    const adminUser = /^\/admin\/users\/([^/]+)$/.exec(path);
    if (adminUser) return allow(['GET', 'DELETE'], () => adminUserById(request, adminUser[1] as string));
    throw authError(404, 'not_found', `No auth endpoint ${method} ${path}`);
  };

  return {
    handle: async (request) => {
      try {
        const response = await route(request);
        response.headers.set('x-supabase-api-version', API_VERSION);
        return response;
      } catch (error) {
        if (error instanceof AuthError) return authErrorResponse(error, request);
        // A value PostgreSQL cannot take (a data exception) is the request's fault, not ours.
        if ((error as { code?: string }).code?.startsWith('22')) {
          return authErrorResponse(
            validationFailed('The request holds a value that cannot be stored'),
            request,
          );
        }
        throw error;
      }
    },
    stop: async () => {
      await passwords.stop();
      await pool.end();
    },
  };
}
