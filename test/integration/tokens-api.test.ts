/**
 * Scoped tokens and admin auth hardening on the real daemon: tokens are made,
 * listed and revoked through the CLI and the API, stored only as a hash,
 * audited; a `read` or `replicate` token gets 403 E_SCOPE outside its scope;
 * an Authorization header that is present but invalid is a 401 even with a
 * valid session cookie; cookie writes need `Sec-Fetch-Site: same-origin` and
 * `application/json`; logout ends the session.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import type { AuditRecord, TokenCreated, TokenInfo } from '../../daemon/admin/contract.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { ROOT, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const run = promisify(execFile);
let daemon: TestDaemon;
let admin = '';

async function call(
  path: string,
  init: { method?: string; auth?: string; cookie?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.auth) headers.authorization = init.auth;
  if (init.cookie) headers.cookie = init.cookie;
  const res = await fetch(`${daemon.url}/_/api/v1${path}`, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await res.text();
  let code = '';
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '';
  } catch {
    code = '';
  }
  return { status: res.status, code, text, res };
}

const bearer = (t: string): string => `Bearer ${t}`;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const common = ['--listen', daemon.url.replace('http://', ''), '--data-dir', daemon.dataDir];
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), ...args, ...common], {
      cwd: ROOT,
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function create(name: string, scope: string): Promise<string> {
  const r = await call('/tokens', {
    method: 'POST',
    auth: bearer(admin),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, scope }),
  });
  assert.equal(r.status, 201, r.text);
  return (JSON.parse(r.text) as TokenCreated).token;
}

async function session(): Promise<string> {
  const link = await call('/login-link', { method: 'POST', auth: bearer(admin) });
  const { url } = JSON.parse(link.text) as { url: string };
  const res = await fetch(url, { redirect: 'manual' });
  await res.arrayBuffer();
  const cookie = /larder_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
  assert.ok(cookie, 'the login link sets the session cookie');
  return cookie;
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    if ((await readFile(p)).includes(needle)) hits.push(p);
  }
  return hits;
}

describe('scoped tokens', () => {
  before(async () => {
    daemon = await startTestDaemon({ remotes: { web: { type: 'http', url: 'http://127.0.0.1:9/' } } });
    admin = await adminToken(daemon.dataDir);
  });
  after(async () => {
    await daemon?.close();
  });

  it('the CLI creates (printing the secret once), lists and revokes tokens; only a hash is stored; all audited', async () => {
    const made = await cli(['token', 'create', '--scope', 'replicate', '--name', 'edge-1']);
    assert.equal(made.code, 0, made.stderr);
    const secret = made.stdout.trim();
    assert.match(secret, /^lrd_[A-Za-z0-9_-]{43}$/);
    const ls = await cli(['token', 'ls', '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    const list = JSON.parse(ls.stdout) as TokenInfo[];
    assert.deepEqual(
      list.map((t) => [t.name, t.scope]),
      [['edge-1', 'replicate']],
    );
    assert.ok(!ls.stdout.includes(secret.slice(4)), 'ls never shows the secret');
    assert.equal((await call('/feed', { auth: bearer(secret) })).status, 200);
    // Nothing under the data directory holds the secret; the index holds its sha256.
    const hash = createHash('sha256').update(secret).digest('hex');
    assert.deepEqual(await filesContaining(daemon.dataDir, secret), []);
    assert.ok((await filesContaining(daemon.dataDir, hash)).length > 0, 'the hash is stored');
    const dup = await cli(['token', 'create', '--scope', 'read', '--name', 'edge-1']);
    assert.notEqual(dup.code, 0, 'a name is unique');
    const revoked = await cli(['token', 'revoke', 'edge-1']);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await call('/feed', { auth: bearer(secret) });
    assert.equal(after.status, 401, 'a revoked token stops working at once');
    const audit = JSON.parse((await call('/audit', { auth: bearer(admin) })).text) as AuditRecord[];
    const actions = audit.map((a) => `${a.action} ${a.target ?? ''}`);
    assert.ok(actions.includes('token-create edge-1') && actions.includes('token-revoke edge-1'), actions.join(', '));
    assert.ok(!JSON.stringify(audit).includes(secret), 'the audit log holds no secret');
  });

  it('a read or replicate token gets 403 E_SCOPE outside its scope', async () => {
    const read = await create('reader', 'read');
    const repl = await create('child', 'replicate');
    const json = { 'content-type': 'application/json' };
    for (const [m, p] of [
      ['GET', '/stats'],
      ['GET', '/config'],
      ['GET', '/tokens'],
      ['GET', '/feed'],
      ['POST', '/pins'],
      ['POST', '/token/rotate'],
      ['POST', '/tokens'],
      ['POST', '/import'],
    ] as const) {
      const r = await call(p, { method: m, auth: bearer(read), headers: json, body: m === 'POST' ? '{}' : undefined });
      assert.deepEqual([r.status, r.code], [403, 'E_SCOPE'], `read token: ${m} ${p}`);
    }
    for (const [m, p] of [
      ['GET', '/stats'],
      ['GET', '/children'],
      ['DELETE', '/tokens/reader'],
      ['POST', '/token/rotate'],
      ['POST', '/export'],
    ] as const) {
      const r = await call(p, { method: m, auth: bearer(repl), headers: json, body: m === 'POST' ? '{}' : undefined });
      assert.deepEqual([r.status, r.code], [403, 'E_SCOPE'], `replicate token: ${m} ${p}`);
    }
    assert.equal((await call('/feed?wait=0', { auth: bearer(repl) })).status, 200, 'the feed is in the replicate scope');
    // The admin API takes tokens as Bearer only (Basic is for package clients on protocol routes).
    const basic = `Basic ${Buffer.from(`x:${repl}`).toString('base64')}`;
    assert.equal((await call('/feed', { auth: basic })).status, 401);
    // An admin-scoped token is an admin.
    const adm = await create('ops', 'admin');
    assert.equal((await call('/stats', { auth: bearer(adm) })).status, 200);
  });

  it('an Authorization header that is present but invalid is a 401, even with a valid session cookie', async () => {
    const cookie = await session();
    assert.equal((await call('/stats', { cookie })).status, 200);
    for (const auth of ['Bearer not-a-token', 'Basic Zm9vOmJhcg==', 'Token abc']) {
      const r = await call('/stats', { cookie, auth });
      assert.deepEqual([r.status, r.code], [401, 'E_UNAUTHORIZED'], auth);
    }
  });

  it('a cookie write needs Sec-Fetch-Site: same-origin (absent is refused) and application/json', async () => {
    const cookie = await session();
    const body = JSON.stringify({ offline: false });
    const noSite = await call('/offline', { method: 'POST', cookie, headers: { 'content-type': 'application/json' }, body });
    assert.deepEqual([noSite.status, noSite.code], [403, 'E_FORBIDDEN'], 'no Sec-Fetch-Site');
    const form = await call('/offline', {
      method: 'POST',
      cookie,
      headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'text/plain' },
      body,
    });
    assert.equal(form.status, 415, 'text/plain (a simple cross-site request) is refused');
    const none = await call('/gc', { method: 'POST', cookie, headers: { 'sec-fetch-site': 'same-origin' } });
    assert.equal(none.status, 415, 'no content type');
    const ok = await call('/offline', {
      method: 'POST',
      cookie,
      headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
      body,
    });
    assert.equal(ok.status, 200, ok.text);
    // A bearer-token write needs neither (no cookie, no CSRF).
    assert.equal((await call('/gc', { method: 'POST', auth: bearer(admin) })).status, 200);
  });

  it('logout ends the session and clears the cookie', async () => {
    const cookie = await session();
    const out = await call('/logout', {
      method: 'POST',
      cookie,
      headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
    });
    assert.equal(out.status, 200, out.text);
    assert.match(out.res.headers.get('set-cookie') ?? '', /larder_session=;.*expires=Thu, 01 Jan 1970/i);
    assert.equal((await call('/stats', { cookie })).status, 401, 'the session is over');
  });
});
