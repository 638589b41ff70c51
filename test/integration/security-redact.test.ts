/**
 * Redaction (issue 14): credentials inside URLs (a remote's `url`, a
 * checksum database's URL, `parent.url`) never appear in the admin API's
 * /config and /stats, in logs or in error bodies; and errors shown to
 * protocol clients (anonymous) name no internal host: the upstream is
 * "upstream".
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { LarderError } from '../../daemon/core/errors.js';
import { forClient, hideHosts, redactCredentials, redactDeep } from '../../daemon/core/redact.js';
import { createLogger } from '../../daemon/log.js';
import { FixtureUpstream } from '../conformance/upstream.js';
import { adminToken, api } from '../helpers/admin-e2e.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

test('redactCredentials: userinfo and secret-looking query values go, the rest stays', () => {
  assert.equal(redactCredentials('https://bob:hunter2@repo.example/npm/'), 'https://[redacted]@repo.example/npm/');
  assert.equal(redactCredentials('fetch http://u@10.0.0.5:8081/x failed'), 'fetch http://[redacted]@10.0.0.5:8081/x failed');
  assert.equal(
    redactCredentials('https://s3.example/b?X-Amz-Signature=abc&part=2'),
    'https://s3.example/b?X-Amz-Signature=[redacted]&part=2',
  );
  assert.equal(redactCredentials('https://repo.example/npm/?access_token=abc'), 'https://repo.example/npm/?access_token=[redacted]');
  assert.equal(redactCredentials('plain text, no url'), 'plain text, no url');
  assert.equal(redactCredentials('https://repo.example/a?b=c'), 'https://repo.example/a?b=c');
  const cfg = {
    parent: { url: 'https://edge:pw1@parent.example/' },
    remotes: { go: { url: 'https://u:pw2@proxy.example/', sumdbUrls: { 'sum.golang.org': 'https://u:pw3@sum.example/' } } },
    list: ['http://a:pw4@x.example/'],
    n: 5,
  };
  const out = JSON.stringify(redactDeep(cfg));
  for (const pw of ['pw1', 'pw2', 'pw3', 'pw4']) assert.ok(!out.includes(pw), `${pw} in ${out}`);
  assert.equal(redactDeep(cfg).n, 5);
});

test('hideHosts and forClient: no URL, address or host:port reaches a client', () => {
  assert.equal(
    hideHosts('upstream unreachable (ECONNREFUSED): http://10.1.2.3:8081/npm/pkg'),
    'upstream unreachable (ECONNREFUSED): upstream',
  );
  assert.equal(hideHosts('connect ECONNREFUSED 10.1.2.3:8081'), 'connect ECONNREFUSED upstream');
  assert.equal(hideHosts('getaddrinfo ENOTFOUND nexus.corp.internal:443'), 'getaddrinfo ENOTFOUND upstream');
  assert.equal(hideHosts('connect ECONNREFUSED [fd00::1]:80 and 192.168.1.1'), 'connect ECONNREFUSED upstream and upstream');
  const digest = `manifest sha256:${'1'.repeat(64)} not found`;
  assert.equal(hideHosts(digest), digest, 'digests are not hosts');
  const e = forClient(new LarderError('E_UPSTREAM', 'upstream unreachable: http://u:p@nexus.corp:8081/x', { retryAfter: 3 }));
  assert.equal(e.message, 'upstream unreachable: upstream');
  assert.equal(e.code, 'E_UPSTREAM');
  assert.equal(e.status, 502);
  assert.equal(e.retryAfter, 3);
});

test('the logger removes credentials from URLs in fields and messages', () => {
  const lines: string[] = [];
  const dest = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(c.toString());
      cb();
    },
  });
  const log = createLogger('info', dest);
  log.info(
    { url: 'https://bob:hunter2@repo.example/', nested: { u: 'http://x:hunter3@h.example/' } },
    'asked https://bob:hunter4@repo.example/',
  );
  log.warn({ err: 'fetch http://c:hunter5@10.0.0.1:81/ failed' }, 'request failed');
  const text = lines.join('');
  assert.equal(lines.length, 2);
  for (const pw of ['hunter2', 'hunter3', 'hunter4', 'hunter5']) assert.ok(!text.includes(pw), `${pw} in ${text}`);
  assert.match(text, /\[redacted\]@repo\.example/);
});

describe('a daemon with credentials in its remotes’ URLs', () => {
  const up = new FixtureUpstream();
  let d: TestDaemon;
  let token = '';
  let upHostPort = '';

  before(async () => {
    await up.start();
    upHostPort = new URL(up.url).host;
    const withCreds = (user: string, pw: string): string => up.url.replace('http://', `http://${user}:${pw}@`);
    d = await startTestDaemon({
      remotes: {
        npmjs: { type: 'npm', url: `${withCreds('npmuser', 'npm-s3cret')}/` },
        gp: {
          type: 'go',
          url: `${withCreds('gouser', 'go-s3cret')}/`,
          sumdbs: ['sum.example'],
          sumdbUrls: { 'sum.example': `${withCreds('sum', 'sum-s3cret')}/` },
        },
      },
      npm: { default: 'npmjs' },
    });
    token = await adminToken(d.dataDir);
  });

  after(async () => {
    await d?.close();
    await up.down();
  });

  test('/config and /stats show no credential', async () => {
    const cfg = await api(d.url, token, 'GET', '/config');
    assert.equal(cfg.status, 200);
    const text = JSON.stringify(cfg.body);
    for (const pw of ['npm-s3cret', 'go-s3cret', 'sum-s3cret']) assert.ok(!text.includes(pw), `${pw} in /config: ${text.slice(0, 400)}`);
    assert.match(text, /\[redacted\]@127\.0\.0\.1/);
    const stats = await api(d.url, token, 'GET', '/stats');
    assert.ok(!JSON.stringify(stats.body).includes('s3cret'), JSON.stringify(stats.body).slice(0, 400));
  });

  test('with the upstream down, the client’s error names no host; /stats keeps no credential', async () => {
    await up.down();
    for (const path of ['/npm/some-pkg', '/go/example.com/m/@v/list']) {
      const res = await fetch(`${d.url}${path}`);
      const body = await res.text();
      assert.ok(res.status >= 400, `${path}: ${res.status}`);
      assert.ok(!body.includes(upHostPort) && !body.includes('127.0.0.1'), `${path}: ${body}`);
      assert.ok(!body.includes('s3cret'), body);
    }
    const npm = await (await fetch(`${d.url}/npm/other-pkg`)).json();
    assert.match((npm as { error: string }).error, /upstream/);
    const stats = await api(d.url, token, 'GET', '/stats');
    assert.ok(!JSON.stringify(stats.body).includes('s3cret'), JSON.stringify(stats.body).slice(0, 600));
  });
});
