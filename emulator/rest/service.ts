// PostgREST's RPC contract at /rest/v1/rpc/<function>: JSON arguments by name,
// the role and claims of the caller's JWT applied inside the transaction, the
// result shaped as PostgREST shapes it, errors with PostgREST's codes.
// Table routes are not emulated (501).

import type { ProjectConfig } from '../config.ts';
import { type Handler, HttpError, json, readJson } from '../http.ts';
import type { Claims, Keys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { restartSafePool } from '../postgres/connections.ts';
import { chooseOverload, findFunctions, type RpcFunction } from './catalog.ts';
import { fromPgError, restError } from './errors.ts';

export interface RestService {
  handle: Handler;
  stop(): Promise<void>;
}

export interface RestDeps {
  dbUrl: string;
  keys: Keys;
  config: ProjectConfig['api'];
  log: Logger;
}

const SINGLE_OBJECT = 'application/vnd.pgrst.object+json';

/** A path segment's percent-decoding, left as it is when malformed (the function is then not found). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

export function startRest(deps: RestDeps): RestService {
  const { keys, config, log } = deps;
  const pool = restartSafePool({ connectionString: deps.dbUrl, max: 10 }, (error) =>
    log.warn(`idle rest connection failed: ${error.message}`),
  );
  // Per-role settings (statement_timeout…) that PostgREST applies after switching role.
  let roleSettings: Promise<Map<string, [string, string][]>> | undefined;

  const loadRoleSettings = async () => {
    const { rows } = await pool.query<{ role: string; settings: string[] }>(
      `select r.rolname as role, s.setconfig as settings
         from pg_catalog.pg_db_role_setting s
         join pg_catalog.pg_roles r on r.oid = s.setrole
        where s.setdatabase = 0 or s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database())`,
    );
    const byRole = new Map<string, [string, string][]>();
    for (const row of rows) {
      const pairs = row.settings.map((setting) => {
        const at = setting.indexOf('=');
        return [setting.slice(0, at), setting.slice(at + 1)] as [string, string];
      });
      byRole.set(row.role, [...(byRole.get(row.role) ?? []), ...pairs]);
    }
    return byRole;
  };

  /** The caller's claims: the bearer token if any, else the API key (the gateway admits no request without one). */
  const callerClaims = async (request: Request): Promise<Claims> => {
    const bearer = /^bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]?.trim();
    const token =
      bearer ?? request.headers.get('apikey') ?? new URL(request.url).searchParams.get('apikey') ?? '';
    const result = await keys.verify(token);
    if (result.ok) return result.claims;
    const message = result.reason === 'expired' ? 'JWT expired' : `JWT ${result.message}`;
    throw restError(401, result.reason === 'expired' ? 'PGRST303' : 'PGRST301', message, null, null, {
      'www-authenticate': `Bearer error="invalid_token", error_description="${message}"`,
    });
  };

  const schemaFor = (request: Request): string => {
    const header =
      request.method === 'GET' || request.method === 'HEAD'
        ? request.headers.get('accept-profile')
        : request.headers.get('content-profile');
    const schema = header ?? config.schemas[0] ?? 'public';
    if (!config.schemas.includes(schema)) {
      throw restError(
        406,
        'PGRST106',
        `The schema must be one of the following: ${config.schemas.join(', ')}`,
      );
    }
    return schema;
  };

  const readArgs = async (request: Request): Promise<Record<string, unknown>> => {
    if (request.method === 'GET' || request.method === 'HEAD') {
      return Object.fromEntries(new URL(request.url).searchParams);
    }
    const contentType = (request.headers.get('content-type') ?? 'application/json').split(';')[0]?.trim();
    if (contentType !== 'application/json') {
      throw restError(415, 'PGRST107', `Content-Type not acceptable: ${contentType}`);
    }
    const body = await readJson(request, (problem) =>
      restError(400, 'PGRST102', 'Empty or invalid json', problem ?? null),
    );
    if (body === undefined) return {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw restError(400, 'PGRST102', 'Empty or invalid json', 'RPC arguments must be a JSON object');
    }
    return body as Record<string, unknown>;
  };

  const notFound = (schema: string, name: string, argNames: string[]) =>
    restError(
      404,
      'PGRST202',
      `Could not find the function ${schema}.${name}${argNames.length ? `(${[...argNames].sort().join(', ')})` : ' without parameters'} in the schema cache`,
      `Searched for the function ${schema}.${name} with parameters ${argNames.length ? [...argNames].sort().join(', ') : 'none'} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    );

  /** SQL calling `fn` with the JSON arguments converted to its declared types by Postgres. */
  const callSql = (fn: RpcFunction, argNames: string[]) => {
    const inputs = fn.inputs.filter((input) => input.name !== null && argNames.includes(input.name));
    const columns = inputs.map((input) => `${quoteIdent(input.name as string)} ${input.type}`).join(', ');
    const namedArgs = inputs.map(
      (input) => `${quoteIdent(input.name as string)} := _a.${quoteIdent(input.name as string)}`,
    );
    const from = inputs.length ? `jsonb_to_record($1::jsonb) as _a(${columns}) cross join lateral ` : '';
    const call = `${from}${quoteIdent(fn.schema)}.${quoteIdent(fn.name)}(${namedArgs.join(', ')}) _r`;
    if (fn.returnsVoid) return `select null::text as body from ${call}`;
    if (fn.returnsSet) return `select coalesce(json_agg(_r), '[]')::text as body from ${call}`;
    return `select to_json(_r)::text as body from ${call}`;
  };

  const call = async (request: Request, name: string): Promise<Response> => {
    const claims = await callerClaims(request);
    const role = typeof claims.role === 'string' ? claims.role : 'anon';
    const schema = schemaFor(request);
    const args = await readArgs(request);
    const argNames = Object.keys(args);
    const readOnly = request.method === 'GET' || request.method === 'HEAD';
    // Not kept when it fails (the database restarting): the next request asks again.
    roleSettings ??= loadRoleSettings().catch((error: unknown) => {
      roleSettings = undefined;
      throw error;
    });
    const settings = (await roleSettings).get(role) ?? [];

    const db = await pool.connect();
    try {
      await db.query(readOnly ? 'begin read only' : 'begin');
      const candidates = chooseOverload(await findFunctions(db, schema, name), argNames);
      if (candidates.length === 0) throw notFound(schema, name, argNames);
      if (candidates.length > 1) {
        throw restError(
          300,
          'PGRST203',
          `Could not choose the best candidate function for ${schema}.${name}`,
        );
      }
      const fn = candidates[0] as RpcFunction;
      if (!readOnly && request.method !== 'POST') {
        throw restError(405, 'PGRST101', 'Only GET and POST verbs are allowed for functions');
      }
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        if (key !== 'authorization' && key !== 'cookie') headers[key] = value;
      });
      const names = [
        'search_path',
        'role',
        'request.jwt.claims',
        'request.method',
        'request.path',
        'request.headers',
      ];
      const values = [
        [schema, ...config.extra_search_path.filter((s) => s !== schema)].map(quoteIdent).join(', '),
        role,
        JSON.stringify(claims),
        request.method,
        new URL(request.url).pathname.replace(/^\/rest\/v1/, ''),
        JSON.stringify(headers),
      ];
      for (const [setting, value] of settings) {
        names.push(setting);
        values.push(value);
      }
      await db.query(
        `select ${names.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
        names.flatMap((setting, i) => [setting, values[i] as string]),
      );
      const { rows } = await db.query<{ body: string | null }>(
        callSql(fn, argNames),
        fn.inputs.some((input) => input.name !== null && argNames.includes(input.name))
          ? [JSON.stringify(args)]
          : [],
      );
      await db.query('commit');
      if (fn.returnsVoid) return new Response(null, { status: 204 });
      let body = rows[0]?.body ?? 'null';
      if (fn.returnsSet && (request.headers.get('accept') ?? '').includes(SINGLE_OBJECT)) {
        const items = JSON.parse(body) as unknown[];
        if (items.length !== 1) {
          throw restError(
            406,
            'PGRST116',
            'JSON object requested, multiple (or no) rows returned',
            `The result contains ${items.length} rows`,
          );
        }
        body = JSON.stringify(items[0]);
      }
      return new Response(body, {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    } catch (error) {
      await db.query('rollback').catch(() => undefined);
      if (error instanceof HttpError) throw error;
      const pgError = error as { code?: string; message: string; detail?: string; hint?: string };
      if (typeof pgError.code === 'string') throw fromPgError(pgError, role !== 'anon');
      throw error;
    } finally {
      db.release();
    }
  };

  return {
    handle: async (request) => {
      const path = new URL(request.url).pathname.replace(/^\/rest\/v1/, '');
      try {
        const rpc = /^\/rpc\/([^/]+)\/?$/.exec(path);
        if (rpc) return await call(request, decodePathSegment(rpc[1] as string));
        if (path === '' || path === '/') {
          throw restError(
            501,
            'not_implemented',
            'The OpenAPI description is not served by the local emulator',
          );
        }
        throw restError(
          501,
          'not_implemented',
          `Table routes (/rest/v1${path}) are not served by the local emulator; use /rest/v1/rpc/<function>`,
          null,
          'See "Differences from hosted Supabase" in the README.',
        );
      } catch (error) {
        if (error instanceof HttpError) return json(error.body, error.status, error.headers);
        throw error;
      }
    },
    stop: () => pool.end(),
  };
}
