/**
 * The admin API of the real daemon: 401 on every endpoint without the token
 * or with a wrong one (and no side effect), the token file (mode 0600) and
 * its rotation, live events (stats ticks, job progress), redacted config,
 * and the refusal to listen beyond loopback without a configured token.
 */
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { validateConfig } from '../../daemon/config/load.js';
import { LarderError } from '../../daemon/core/errors.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon } from '../../daemon/main.js';
import type { Job, Stats } from '../../daemon/admin/contract.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { setupFixture } from '../helpers/npm-e2e.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { adminClient, adminToken, api, readEvents, type AdminClient } from '../helpers/admin-e2e.js';

/** Every endpoint of the contract (daemon/admin/contract.ts), with a plausible body. */
const ENDPOINTS: Array<[method: string, path: string, body?: unknown]> = [
  ['GET', '/stats'],
  ['GET', '/stats/history'],
  ['GET', '/entries?protocol=npm'],
  ['GET', '/pins'],
  ['POST', '/pins', { ref: 'npm:royal-pad@2.0.1' }],
  ['GET', '/pins/0123456789abcdef'],
  ['DELETE', '/pins/0123456789abcdef'],
  ['GET', '/jobs'],
  ['POST', '/jobs', { refs: ['npm:royal-pad@2.0.1'] }],
  ['GET', '/jobs/00000000-0000-0000-0000-000000000000'],
  ['DELETE', '/jobs/00000000-0000-0000-0000-000000000000'],
  ['POST', '/evict', {}],
  ['POST', '/scrub', { now: true }],
  ['POST', '/gc'],
  ['GET', '/config'],
  ['GET', '/audit?since=0'],
  ['GET', '/activity'],
  ['POST', '/offline', { offline: true }],
  ['POST', '/token/rotate'],
  ['GET', '/events'],
  ['POST', '/login-link'],
  ['GET', '/no-such-endpoint'],
];

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let daemon: TestDaemon;
let admin: AdminClient;

before(async () => {
  ({ root, fixture } = await setupFixture('larder-admin-api-'));
  upstream = await startNpmUpstream(fixture);
  daemon = await startTestDaemon({
    remotes: {
      local: { type: 'npm', url: upstream.url },
      private: { type: 'npm', url: 'http://127.0.0.1:9/', auth: { username: 'bob', password: 'hunter2-secret' } },
      tokened: { type: 'npm', url: 'http://127.0.0.1:9/', auth: { token: 'tok-secret-xyz' } },
    },
    npm: { default: 'local' },
  });
  admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
});

after(async () => {
  await daemon?.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('the admin token file is created at first start with mode 0600', async () => {
  const st = await stat(join(daemon.dataDir, 'admin-token'));
  assert.equal(st.mode & 0o777, 0o600);
  assert.ok((await adminToken(daemon.dataDir)).length >= 32);
  assert.equal(daemon.tokenFile, join(daemon.dataDir, 'admin-token'));
});

test('every endpoint answers 401 without a token, with a wrong one, or with a forged session, and does nothing', async () => {
  const token = await adminToken(daemon.dataDir);
  const auditBefore = (await admin.audit()).length;
  const wrong = [null, 'wrong-token', `${token}x`, token.slice(0, -1), ''];
  for (const [method, path, body] of ENDPOINTS) {
    for (const t of wrong) {
      const r = await api<{ error: { code: string } }>(daemon.url, t, method, path, body);
      assert.equal(r.status, 401, `${method} ${path} with ${t === null ? 'no token' : JSON.stringify(t.slice(0, 8))}`);
      assert.equal(r.body.error.code, 'E_UNAUTHORIZED');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer /);
    }
    const basic = await fetch(`${daemon.url}/_/api/v1${path}`, {
      method,
      headers: { authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` },
    });
    assert.equal(basic.status, 401, `${method} ${path} with Basic auth`);
    const cookie = await fetch(`${daemon.url}/_/api/v1${path}`, { method, headers: { cookie: 'larder_session=forged' } });
    assert.equal(cookie.status, 401, `${method} ${path} with a forged session`);
    await cookie.arrayBuffer();
    await basic.arrayBuffer();
  }
  // Nothing happened: still online, same token, no pin, no job, no audit record.
  const stats = await admin.stats();
  assert.equal(stats.offline, false);
  assert.equal(await adminToken(daemon.dataDir), token);
  assert.deepEqual(await admin.ok('GET', '/pins'), []);
  assert.deepEqual(await admin.ok('GET', '/jobs'), []);
  assert.equal((await admin.audit()).length, auditBefore);
  assert.equal(upstream.totalHits(), 0, 'no unauthenticated request reached the upstream');
});

test('with the token the API answers, in any case of the scheme; errors name what is wrong', async () => {
  const r = await admin.call<Stats>('GET', '/stats');
  assert.equal(r.status, 200);
  const lower = await fetch(`${daemon.url}/_/api/v1/stats`, { headers: { authorization: `bearer ${await adminToken(daemon.dataDir)}` } });
  assert.equal(lower.status, 200);
  await lower.arrayBuffer();
  assert.equal(r.body.storage.maxBytes > 0, true);
  assert.equal((await admin.call('GET', '/no-such-endpoint')).status, 404);
  assert.equal((await admin.call('POST', '/pins', { ref: 'npm:' })).status, 400);
  const bad = await admin.call<{ error: { message: string } }>('POST', '/pins', { ref: 'nope:thing' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /nope:thing.*unknown protocol/);
});

test('a malformed percent-encoding in an admin path is a 400 in the API error format, not a 500', async () => {
  for (const [method, path] of [
    ['DELETE', '/tokens/%E0'],
    ['GET', '/pins/%ZZ'],
    ['DELETE', '/jobs/%C3%28'],
  ] as const) {
    const r = await admin.call<{ error: { code: string; message: string } }>(method, path);
    assert.equal(r.status, 400, `${method} ${path}`);
    assert.equal(r.body.error.code, 'E_BAD_REQUEST');
  }
});

test('/config shows the effective config with every secret redacted', async () => {
  const cfg = await admin.ok<{ remotes: Record<string, { auth?: Record<string, string> }>; dataDir: string }>('GET', '/config');
  const text = JSON.stringify(cfg);
  assert.equal(cfg.dataDir, daemon.dataDir);
  assert.deepEqual(cfg.remotes.private!.auth, { username: 'bob', password: '[redacted]' });
  assert.deepEqual(cfg.remotes.tokened!.auth, { token: '[redacted]' });
  for (const secret of ['hunter2-secret', 'tok-secret-xyz', await adminToken(daemon.dataDir)])
    assert.ok(!text.includes(secret), `${secret.slice(0, 6)}… leaked`);
});

test('SSE /events delivers stats ticks and job progress', async () => {
  const tarball = fixture.packages.find((p) => p.name === 'royal-pad')!.tarballs.at(-1)!;
  let job: Job | undefined;
  const seen = await readEvents(
    daemon.url,
    await adminToken(daemon.dataDir),
    (events) => {
      if (!job && events.some((e) => e.event === 'stats')) {
        job = {} as Job; // start once, after the first stats tick
        void admin.ok<Job>('POST', '/jobs', { refs: [`npm:royal-pad@${tarball.version}`], deps: false }).then((j) => (job = j));
      }
      return events.some((e) => e.event === 'job' && (e.data as Job).id === job?.id && (e.data as Job).state === 'done');
    },
    20_000,
  );
  const stats = seen.find((e) => e.event === 'stats')!.data as Stats;
  assert.equal(typeof stats.hitRate, 'number');
  assert.ok(stats.storage.maxBytes > 0);
  const jobs = seen.filter((e) => e.event === 'job' && (e.data as Job).id === job!.id).map((e) => e.data as Job);
  assert.ok(jobs.length >= 2, 'created and finished at least');
  const last = jobs.at(-1)!;
  assert.equal(last.state, 'done');
  assert.equal(last.items[0]!.state, 'done');
  assert.equal(last.items[0]!.bytes, tarball.size);
  assert.equal(upstream.hits(tarball.urlPath), 1);
});

test('token rotation invalidates the old token at once and rewrites the file (0600)', async () => {
  const old = await adminToken(daemon.dataDir);
  const r = await admin.ok<{ token: string }>('POST', '/token/rotate');
  assert.notEqual(r.token, old);
  assert.equal(await adminToken(daemon.dataDir), r.token);
  assert.equal((await stat(join(daemon.dataDir, 'admin-token'))).mode & 0o777, 0o600);
  assert.equal((await api(daemon.url, old, 'GET', '/stats')).status, 401);
  const fresh = adminClient(daemon.url, r.token);
  assert.equal((await fresh.call('GET', '/stats')).status, 200);
  const audit = await fresh.audit();
  assert.ok(audit.some((a) => a.action === 'token-rotate' && a.actor === 'token'));
  assert.ok(!JSON.stringify(audit).includes(r.token), 'the audit log never holds the token');
  admin = fresh;
});

test('a configured admin.token is used as is and never written or shown', async () => {
  const secret = 'configured-admin-token-0123456789';
  const d = await startTestDaemon({ admin: { token: secret }, remotes: { local: { type: 'npm', url: upstream.url } } });
  try {
    assert.equal((await api(d.url, secret, 'GET', '/stats')).status, 200);
    assert.equal((await api(d.url, 'another-token-0123456789', 'GET', '/stats')).status, 401);
    const cfg = await api(d.url, secret, 'GET', '/config');
    assert.ok(!JSON.stringify(cfg.body).includes(secret));
    await assert.rejects(readFile(join(d.dataDir, 'admin-token')), { code: 'ENOENT' });
  } finally {
    await d.close();
  }
});

test('listening beyond loopback without admin.token is refused at start with a clear message', async () => {
  for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.10:0']) {
    const dataDir = await tempDir();
    try {
      const cfg = validateConfig({ listen, dataDir, remotes: { local: { type: 'npm', url: upstream.url } } }, 'test');
      await assert.rejects(startDaemon(cfg, { log: createLogger('silent') }), (e: unknown) => {
        assert.ok(e instanceof LarderError);
        assert.equal(e.code, 'E_CONFIG');
        assert.match(e.message, /refusing to bind .* \(not loopback\) without admin\.token/);
        return true;
      });
      await assert.rejects(stat(join(dataDir, 'admin-token')), { code: 'ENOENT' }, 'refused before anything was created');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
});
