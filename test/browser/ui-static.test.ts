/**
 * serveUi (daemon/http/ui-static.ts) on a real socket: redirects, content
 * types, CSP and caching headers, conditional requests, HEAD, the
 * index.html fallback for routes, 404 for missing assets, the login path
 * left to the admin routes, 503 when the UI is not built, and no way out of
 * the directory (encoded dot segments, backslashes, dotfiles).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { UI_CSP, resolveUiPath, serveUi } from '../../daemon/http/ui-static.js';

let root: string;
let dist: string;
let server: Server;
let base: string;

/** Raw request (the path is sent exactly as given, no URL normalisation). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveUi', () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-ui-static-'));
    dist = join(root, 'dist');
    await mkdir(join(dist, 'sub'), { recursive: true });
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>Larder</title>');
    await writeFile(join(dist, 'app.js'), 'console.log(1)');
    await writeFile(join(dist, 'app.css'), 'body{}');
    await writeFile(join(dist, '.env'), 'SECRET=1');
    await writeFile(join(root, 'secret.txt'), 'outside');
    const app = new Koa();
    app.use(async (ctx) => {
      const dir = ctx.get('x-dist') === 'missing' ? join(root, 'nope') : dist;
      if (!(await serveUi(ctx, dir))) {
        ctx.status = 404;
        ctx.body = 'not handled';
      }
    });
    server = createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });

  it('redirects /_/ui to /_/ui/ and serves index.html with CSP and revalidation headers', async () => {
    const r = await raw('GET', '/_/ui?x=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/_/ui/?x=1');
    const i = await raw('GET', '/_/ui/');
    assert.equal(i.status, 200);
    assert.equal(i.body, '<!doctype html><title>Larder</title>');
    assert.equal(i.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(i.headers['content-security-policy'], UI_CSP);
    assert.equal(UI_CSP, "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
    assert.equal(i.headers['x-content-type-options'], 'nosniff');
    assert.equal(i.headers['x-frame-options'], 'DENY');
    assert.equal(i.headers['cache-control'], 'no-cache');
    const etag = String(i.headers.etag);
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await raw('GET', '/_/ui/index.html', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
  });

  it('serves assets with their types, HEAD without a body', async () => {
    const js = await raw('GET', '/_/ui/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.body, 'console.log(1)');
    assert.equal((await raw('GET', '/_/ui/app.css')).headers['content-type'], 'text/css; charset=utf-8');
    const head = await raw('HEAD', '/_/ui/app.js');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '14');
    assert.equal(head.body, '');
  });

  it('falls back to index.html for routes, 404s missing assets, leaves login and other methods alone', async () => {
    const route = await raw('GET', '/_/ui/pins');
    assert.equal(route.status, 200);
    assert.match(route.body, /<title>Larder/);
    assert.equal((await raw('GET', '/_/ui/missing.js')).body, 'not handled');
    assert.equal((await raw('GET', '/_/ui/login?t=abc')).body, 'not handled');
    assert.equal((await raw('POST', '/_/ui/')).body, 'not handled');
    assert.equal((await raw('GET', '/_/uix')).body, 'not handled');
    assert.equal((await raw('GET', '/other')).body, 'not handled');
  });

  it('answers 503 with a hint when the dashboard is not built', async () => {
    const r = await raw('GET', '/_/ui/', { 'x-dist': 'missing' });
    assert.equal(r.status, 503);
    assert.match(r.body, /npm run build:ui/);
  });

  it('never serves files outside the directory or dotfiles', async () => {
    for (const p of [
      '/_/ui/../secret.txt',
      '/_/ui/%2e%2e/secret.txt',
      '/_/ui/%2E%2E%2Fsecret.txt',
      '/_/ui/sub/..%2F..%2Fsecret.txt',
      '/_/ui/..%5Csecret.txt',
      '/_/ui/.env',
      '/_/ui/%00',
      '/_/ui/%E0%A4%A',
    ]) {
      const r = await raw('GET', p);
      assert.doesNotMatch(r.body, /outside|SECRET/, p);
    }
    assert.equal(resolveUiPath(dist, '..%2Fsecret.txt'), undefined);
    assert.equal(resolveUiPath(dist, 'sub/../app.js'), undefined);
    assert.equal(resolveUiPath(dist, 'app.js'), join(dist, 'app.js'));
  });
});
