// A folder of static files (a built front end) served at `/` by the gateway,
// with `/supabase-config.json` saying where the project is, so one build of a
// front end runs against any stack. Hashed build assets are cached for good,
// everything else is revalidated (ETag), and a missing build is a clear 503.

import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { errorBody, type Handler, json } from './http.ts';

/** The file a front end reads to find the project: its URL and anon key. */
export const SITE_CONFIG_PATH = '/supabase-config.json';

export interface StaticSiteOptions {
  /** The build output (holds index.html). */
  root: string;
  anonKey: string;
  /** What to tell a person who finds the folder empty. */
  buildHint: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Bundlers put a content hash in the names of files under assets/: they never change. */
const IMMUTABLE = /^\/assets\//;

export function staticSite(options: StaticSiteOptions): Handler {
  const root = path.resolve(options.root);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return json(errorBody('method_not_allowed', `${request.method} is not allowed here`), 405, {
        allow: 'GET, HEAD',
      });
    }
    const url = new URL(request.url);
    if (url.pathname === SITE_CONFIG_PATH) {
      // The API is this same gateway, whatever host name the page was opened with.
      return json({ url: url.origin, anonKey: options.anonKey }, 200, { 'cache-control': 'no-store' });
    }
    if (!existsSync(path.join(root, 'index.html'))) {
      return json(
        errorBody('site_not_built', `Nothing to serve: ${root} holds no index.html`, options.buildHint),
        503,
        { 'cache-control': 'no-store', 'retry-after': '5' },
      );
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return json(errorBody('bad_request', 'The path is not valid percent-encoding'), 400);
    }
    const file = path.join(root, pathname.endsWith('/') ? `${pathname}index.html` : pathname);
    const stats =
      file.startsWith(`${root}${path.sep}`) && !pathname.includes('\0') ? statOf(file) : undefined;
    if (!stats?.isFile() || path.basename(file).startsWith('.')) {
      return json(errorBody('not_found', `No file at ${url.pathname}`), 404);
    }
    const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'cache-control': IMMUTABLE.test(pathname) ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag,
      'x-content-type-options': 'nosniff',
    };
    if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers });
    headers['content-length'] = String(stats.size);
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return new Response(body, { status: 200, headers });
  };
}

function statOf(file: string) {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}
