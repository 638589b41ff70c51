/**
 * The dashboard session cookie is `__Host-larder_session` (Secure, Path=/,
 * no Domain) when the request came over TLS, and `larder_session` over
 * plain HTTP (browsers accept the `__Host-` prefix only with Secure, which
 * needs https). The admin routes on a Koa app served over https with a
 * certificate made here by openssl, and over http.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createServer as createHttp, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttps, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import Koa from 'koa';
import { AdminAuth } from '../../daemon/admin/auth.js';
import { adminRoutes, type AdminRouteDeps } from '../../daemon/http/admin-routes.js';
import { tempDir } from '../helpers/daemon.js';

const run = promisify(execFile);
let dir: string;
let auth: AdminAuth;
let tls: Server;
let plain: Server;

function app(): Koa {
  const k = new Koa();
  const routes = adminRoutes({ auth } as unknown as AdminRouteDeps);
  k.use(async (ctx) => {
    if (!(await routes(ctx))) ctx.status = 404;
  });
  return k;
}

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

function get(url: string, cookie?: string): Promise<{ status: number; setCookie: string[] }> {
  const u = new URL(url);
  const headers = cookie ? { cookie } : {};
  return new Promise((resolve, reject) => {
    const done = (res: IncomingMessage): void => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [] }));
    };
    const req = u.protocol === 'https:' ? request(u, { rejectUnauthorized: false, headers }, done) : httpRequest(u, { headers }, done);
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = await tempDir('larder-cookie-tls-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  auth = new AdminAuth(join(dir, 'admin-token'));
  await auth.init();
  tls = createHttps({ key: await readFile(key), cert: await readFile(cert) }, app().callback());
  plain = createHttp(app().callback());
});

after(async () => {
  tls?.close();
  plain?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('over https the session cookie is __Host- prefixed and Secure; over http it is plain', async () => {
  const https = `https://127.0.0.1:${await listen(tls)}`;
  const http = `http://127.0.0.1:${await listen(plain)}`;

  const overTls = await get(`${https}/_/ui/login?t=${auth.newLink()}`);
  assert.equal(overTls.status, 302);
  const c = overTls.setCookie.find((s) => s.startsWith('__Host-larder_session='));
  assert.ok(c, overTls.setCookie.join(' | '));
  assert.match(c, /; path=\//i);
  assert.match(c, /; secure/i);
  assert.match(c, /; httponly/i);
  assert.doesNotMatch(c, /domain=/i);
  const pair = c.split(';')[0]!;
  // The cookie authenticates over TLS (404: past auth, no such endpoint), and only under its own name.
  assert.equal((await get(`${https}/_/api/v1/none`, pair)).status, 404);
  assert.equal((await get(`${https}/_/api/v1/none`, pair.replace('__Host-', ''))).status, 401);

  const overHttp = await get(`${http}/_/ui/login?t=${auth.newLink()}`);
  const p = overHttp.setCookie.find((s) => s.startsWith('larder_session='));
  assert.ok(p, overHttp.setCookie.join(' | '));
  assert.doesNotMatch(p, /; secure/i);
  assert.equal((await get(`${http}/_/api/v1/none`, p.split(';')[0])).status, 404);
});
