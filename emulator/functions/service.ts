// Edge Functions at /functions/v1/<name>: the functions run on Deno (one host
// process serving them all, see host.ts) with the environment the platform
// provides; `verify_jwt` from supabase/config.toml is enforced here first.
//
// Tracing (emulator only, for benchmarks): a request carrying
// `x-emulator-trace: 1` is answered with `x-emulator-trace:
// service_in=…,proxy_out=…,deno_in=…,deno_out=…,proxy_back=…`, the wall-clock
// times (epoch ms) at which it reached this service, was handed to Deno (after
// verify_jwt), reached and left the function in Deno, and came back here.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http, { type OutgoingHttpHeaders } from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { FunctionEntry } from '../config.ts';
import { HOP_BY_HOP, json, type NodeHandler, type NodeResponse } from '../http.ts';
import type { Keys } from '../keys.ts';
import type { Logger } from '../log.ts';

export interface FunctionsService {
  /** /functions/v1/<name>/…: verify_jwt, then proxied to Deno over kept-alive connections. */
  handleNode: NodeHandler;
  readonly names: string[];
  /** The Deno process id while it runs. */
  readonly pid: number | undefined;
  /** Kills Deno (SIGKILL) and resolves once it has exited; the next request starts a new one. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface FunctionsDeps {
  projectDir: string;
  functions: FunctionEntry[];
  keys: Keys;
  /** The variables the platform gives every function. */
  env: {
    SUPABASE_URL: string;
    SUPABASE_ANON_KEY: string;
    SUPABASE_SERVICE_ROLE_KEY: string;
    SUPABASE_DB_URL: string;
  };
  /** Extra variables (secrets), like `supabase secrets set`. */
  secrets?: Record<string, string>;
  /** Restart Deno when a function's source changes. */
  watch?: boolean;
  log: Logger;
}

export function denoBinary(projectDir: string): string {
  const local = path.join(projectDir, 'node_modules', '.bin', 'deno');
  if (!existsSync(local))
    throw new Error('Deno is missing: run `npm install` (it comes from the deno npm package)');
  return local;
}

/** The registry npm uses, so Deno's `npm:` imports resolve through the same one. */
export function npmRegistry(): string | undefined {
  if (process.env.NPM_CONFIG_REGISTRY) return process.env.NPM_CONFIG_REGISTRY;
  try {
    return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const unauthorized = (code: string, message: string) => json({ code, message }, 401);

export const TRACE_HEADER = 'x-emulator-trace';
const wallClock = () => (performance.timeOrigin + performance.now()).toFixed(3);

export async function startFunctions(deps: FunctionsDeps): Promise<FunctionsService> {
  const { projectDir, keys, log } = deps;
  const byName = new Map(deps.functions.map((fn) => [fn.name, fn]));
  const manifest = Object.fromEntries(deps.functions.map((fn) => [fn.name, fn.entrypoint]));
  const registry = npmRegistry();

  const args = [
    'run',
    '--allow-net',
    '--allow-env',
    '--allow-read',
    '--allow-sys',
    '--no-prompt',
    '--config',
    path.join(projectDir, 'deno.json'),
    ...(deps.watch ? [`--watch=${path.join(projectDir, 'functions')}`, '--no-clear-screen'] : []),
    path.join(projectDir, 'emulator', 'functions', 'host.ts'),
  ];

  interface Host {
    child: ChildProcess;
    /** Resolves once Deno serves; rejects if it exits or hangs first. */
    ready: Promise<void>;
    /** Where it serves now (0 once it exited). */
    port: number;
  }
  let host: Host | undefined;
  let stopping = false;

  // One Deno process at a time. When it dies unexpectedly (a crash, a kill), it is
  // replaced, as the platform boots a fresh worker: at once if it had been serving,
  // else (it failed to boot) on the next request.
  const launch = (): Host => {
    const child = spawn(denoBinary(projectDir), args, {
      cwd: projectDir,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...deps.secrets,
        ...deps.env,
        EMULATOR_FUNCTIONS: JSON.stringify(manifest),
        ...(registry ? { NPM_CONFIG_REGISTRY: registry } : {}),
        NO_COLOR: '1',
      },
    });
    let markReady: () => void = () => undefined;
    let failStart: (error: Error) => void = () => undefined;
    const current: Host = {
      child,
      port: 0,
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failStart = reject;
      }),
    };
    current.ready.catch(() => undefined); // a request, or start-up, awaits it
    const timeout = setTimeout(() => {
      failStart(new Error('Deno did not start within 120 s'));
      child.kill('SIGKILL'); // so that the next request tries a new one
    }, 120_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const readyPort = /^\{"ready":(\d+)\}$/.exec(line)?.[1];
      if (readyPort) {
        current.port = Number(readyPort);
        clearTimeout(timeout);
        markReady();
        return;
      }
      log.info(line);
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      if (/^(Download|Watcher|Restarting)/.test(line)) log.info(line);
      else log.warn(line);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timeout);
      const served = current.port !== 0;
      current.port = 0;
      if (host === current) host = undefined;
      if (stopping) return;
      const reason = `Deno exited (${signal ?? `code ${code}`})`;
      failStart(new Error(reason));
      if (served) {
        log.error(`${reason}; starting a new Deno process for Edge Functions`);
        ensureHost();
      } else {
        log.error(`${reason} before serving; Edge Functions are unavailable until the next request`);
      }
    });
    return current;
  };
  const ensureHost = (): Host => {
    host ??= launch();
    return host;
  };

  log.info(
    `starting Deno for ${deps.functions.length} function(s): ${[...byName.keys()].join(', ') || 'none'}`,
  );
  await ensureHost().ready;

  const verify = async (authorization: string | undefined): Promise<Response | undefined> => {
    if (!authorization) return unauthorized('UNAUTHORIZED_NO_AUTH_HEADER', 'Missing authorization header');
    const token = /^bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
    if (!token) return unauthorized('UNAUTHORIZED_INVALID_JWT_FORMAT', 'Invalid JWT');
    const result = await keys.verify(token);
    if (!result.ok) {
      return unauthorized(
        result.reason === 'malformed' ? 'UNAUTHORIZED_INVALID_JWT_FORMAT' : 'UNAUTHORIZED_INVALID_JWT',
        result.reason === 'expired' ? 'JWT has expired' : 'Invalid JWT',
      );
    }
    return undefined;
  };

  // Connections to Deno are kept open and reused, as the platform's relay keeps its own.
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });

  const proxy = (
    req: http.IncomingMessage,
    body: Buffer,
    port: number,
    target: string,
  ): Promise<NodeResponse & { response: http.IncomingMessage }> => {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === 'host' || name === 'content-length' || name === 'expect') continue;
      if (HOP_BY_HOP.includes(name)) continue;
      headers[name] = value;
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    if (hasBody) headers['content-length'] = body.length;
    return new Promise((resolve, reject) => {
      const upstream = http.request(
        { host: '127.0.0.1', port, method: req.method, path: target, headers, agent },
        (response) =>
          resolve({
            status: response.statusCode ?? 502,
            headers: response.headers,
            body: response,
            response,
          }),
      );
      upstream.on('error', reject);
      upstream.end(hasBody ? body : undefined);
    });
  };

  return {
    names: [...byName.keys()],
    get pid() {
      const child = host?.child;
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    handleNode: async (req, body, url) => {
      const serviceIn = req.headers[TRACE_HEADER] === '1' ? wallClock() : undefined;
      const rest = url.pathname.replace(/^\/functions\/v1/, '');
      const name = rest.split('/')[1] ?? '';
      const fn = byName.get(name);
      if (!fn) return json({ code: 'NOT_FOUND', message: 'Requested function was not found' }, 404);
      if (fn.verifyJwt && req.method !== 'OPTIONS') {
        const denied = await verify(req.headers.authorization);
        if (denied) return denied;
      }
      let port: number;
      try {
        const current = ensureHost();
        await current.ready;
        port = current.port; // with --watch, Deno's program restarts on a new port
      } catch {
        return json({ code: 'BOOT_ERROR', message: 'Function failed to start (please check logs)' }, 503);
      }
      const proxyOut = serviceIn === undefined ? undefined : wallClock();
      let answer: Awaited<ReturnType<typeof proxy>>;
      try {
        answer = await proxy(req, body, port, `${rest}${url.search}`);
      } catch (error) {
        // Deno went away with the request (crashed, killed): the platform's answer for a worker that died.
        log.warn(`${name}: no answer from Deno (${(error as Error).message})`);
        return json(
          { code: 'WORKER_ERROR', message: 'Function exited due to an error (please check logs)' },
          500,
        );
      }
      if (serviceIn !== undefined) {
        const inDeno = answer.response.headers[TRACE_HEADER];
        answer.headers = {
          ...answer.headers,
          [TRACE_HEADER]: `service_in=${serviceIn},proxy_out=${proxyOut},${inDeno ? `${inDeno},` : ''}proxy_back=${wallClock()}`,
        };
      }
      return answer;
    },
    kill: async () => {
      const child = host?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      stopping = true;
      agent.destroy();
      const child = host?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}
