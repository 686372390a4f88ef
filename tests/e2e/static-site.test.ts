// The gateway serves a built front end at `/`: the right content types, hashed
// assets cached for good and the rest revalidated, its project settings in
// /supabase-config.json, nothing outside the folder, and a clear 503 while the
// folder holds no build. The APIs keep their own routes.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../emulator/gateway.ts';
import { loadKeys } from '../../emulator/keys.ts';
import { quietLogger } from '../../emulator/log.ts';
import { staticSite } from '../../emulator/static-site.ts';

const root = mkdtempSync(path.join(tmpdir(), 'static-site-'));
const site = path.join(root, 'dist');
let built: Gateway; // serves `site`, with a build in it
let unbuilt: Gateway; // serves a folder that holds no build
let anonKey: string;

beforeAll(async () => {
  mkdirSync(path.join(site, 'assets'), { recursive: true });
  writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(site, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(path.join(site, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(path.join(site, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(site, '.sources-hash'), 'secret-ish');
  writeFileSync(path.join(root, 'outside.txt'), 'not part of the site');
  const keys = await loadKeys(undefined);
  anonKey = keys.anonKey;
  const serving = (folder: string) =>
    startGateway({
      port: 0,
      keys,
      log: quietLogger(),
      home: staticSite({ root: folder, anonKey, buildHint: 'Run the build' }),
    });
  [built, unbuilt] = [await serving(site), await serving(path.join(root, 'not-built'))];
});
afterAll(async () => {
  await Promise.all([built?.close(), unbuilt?.close()]);
  rmSync(root, { recursive: true, force: true });
});

const get = (pathname: string, init?: RequestInit) => fetch(`${built.url}${pathname}`, init);

describe('before the front end is built', () => {
  it('answers 503 site_not_built with the hint, and still gives the project settings', async () => {
    const response = await fetch(`${unbuilt.url}/`);
    expect(response.status).toBe(503);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toMatchObject({ code: 'site_not_built', hint: 'Run the build' });
    expect((await fetch(`${unbuilt.url}/supabase-config.json`)).status).toBe(200);
  });
});

describe('a built front end', () => {
  it('serves index.html at / with a content type and revalidation', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('<title>app</title>');
  });

  it('caches hashed assets for good and types every file by its extension', async () => {
    const cases: [string, string][] = [
      ['/assets/index-abc123.js', 'text/javascript; charset=utf-8'],
      ['/assets/index-abc123.css', 'text/css; charset=utf-8'],
      ['/logo.svg', 'image/svg+xml'],
    ];
    for (const [pathname, type] of cases) {
      const response = await get(pathname);
      expect(response.status, pathname).toBe(200);
      expect(response.headers.get('content-type'), pathname).toBe(type);
    }
    const asset = await get('/assets/index-abc123.js');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await get('/logo.svg')).headers.get('cache-control')).toBe('no-cache');
  });

  it('answers a matching If-None-Match with 304 and HEAD with headers only', async () => {
    const etag = (await get('/')).headers.get('etag') as string;
    expect(etag).toMatch(/^".+"$/);
    const again = await get('/', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const head = await get('/assets/index-abc123.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('console.log(1)'.length));
    expect(await head.text()).toBe('');
  });

  it('tells the front end where the project is: this gateway and its anon key', async () => {
    const response = await get('/supabase-config.json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ url: built.url, anonKey });
  });

  it('answers 404 for unknown files, dotfiles and paths that climb out of the folder', async () => {
    for (const pathname of [
      '/missing.js',
      '/.sources-hash',
      '/assets/..%2f..%2foutside.txt',
      '/%2e%2e/outside.txt',
    ]) {
      const response = await get(pathname);
      expect(response.status, pathname).toBe(404);
      expect((await response.json()).code, pathname).toBe('not_found');
    }
  });

  it('refuses writes with 405 and leaves the API prefixes to their services', async () => {
    const post = await get('/', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    // No services are routed in this gateway: an API path is the gateway's own 404, not a file.
    const api = await get('/rest/v1/rpc/anything');
    expect(api.status).toBe(404);
    expect((await api.json()).message).toBe('No route matches GET /rest/v1/rpc/anything');
  });
});
