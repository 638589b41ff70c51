/**
 * DNS rebinding (issue 14): a daemon on loopback answers only requests whose
 * `Host` names it (its listen address, localhost, 127.0.0.1, [::1] with its
 * port, or publicUrl's host); any other is refused with 403 E_FORBIDDEN in
 * the format of the protocol the path belongs to, before any upstream
 * request. HTTP/1.0 without Host passes. Off loopback no Host is refused.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HostGuard } from '../../daemon/http/guard.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { FixtureUpstream } from '../conformance/upstream.js';

/** Sends one raw request and returns the status line's code and the body. */
function raw(port: number, head: string): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`${head}\r\n\r\n`));
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => {
      const [headers = '', body = ''] = out.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.\d (\d{3})/.exec(out)?.[1] ?? 0), body, headers });
    });
  });
}

const get = (
  port: number,
  path: string,
  host: string | undefined,
  version = '1.1',
): Promise<{ status: number; body: string; headers: string }> =>
  raw(port, `GET ${path} HTTP/${version}${host === undefined ? '' : `\r\nHost: ${host}`}\r\nConnection: close`);

describe('Host check on loopback', () => {
  const up = new FixtureUpstream();
  let d: TestDaemon;

  before(async () => {
    await up.start();
    up.route('/npm/pkg', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'pkg', versions: {} }) });
    d = await startTestDaemon({
      remotes: { npmjs: { type: 'npm', url: `${up.url}/npm/` }, hub: { type: 'oci', url: up.url, host: 'hub.example' } },
      npm: { default: 'npmjs' },
      publicUrl: 'http://larder.test:9999',
    });
  });

  after(async () => {
    await d?.close();
    await up.down();
  });

  test('its own names are answered', async () => {
    for (const host of [
      `127.0.0.1:${d.port}`,
      '127.0.0.1',
      `localhost:${d.port + 1}`,
      `LOCALHOST:${d.port}`,
      `[::1]:${d.port}`,
      'larder.test:9999',
    ]) {
      const r = await get(d.port, '/healthz', host);
      assert.equal(r.status, 200, host);
    }
    const old = await get(d.port, '/healthz', undefined, '1.0');
    assert.equal(old.status, 200, 'HTTP/1.0 without Host');
  });

  test('another Host is refused with 403 in the protocol’s format, and nothing goes upstream', async () => {
    const seen = up.seen.length;
    for (const host of [
      `evil.example:${d.port}`,
      'evil.example',
      'larder.test',
      'larder.test:9998',
      `127.0.0.1.evil.example:${d.port}`,
      `a@127.0.0.1:${d.port}`,
    ]) {
      const npm = await get(d.port, '/npm/pkg', host);
      assert.equal(npm.status, 403, `${host}: ${npm.body}`);
      const body = JSON.parse(npm.body) as { error: string; code: string };
      assert.equal(body.code, 'E_FORBIDDEN');
      assert.match(body.error, /DNS rebinding/);
      assert.match(npm.headers, /content-security-policy: sandbox/i);
    }
    const oci = await get(d.port, '/v2/', `evil.example:${d.port}`);
    assert.equal(oci.status, 403);
    assert.equal((JSON.parse(oci.body) as { errors: Array<{ code: string }> }).errors[0]?.code, 'DENIED');
    for (const path of ['/_/api/v1/config', '/_/ui/', '/metrics']) {
      assert.equal((await get(d.port, path, `evil.example:${d.port}`)).status, 403, path);
    }
    assert.deepEqual(up.seen.slice(seen), [], 'no upstream request for a refused Host');
    const own = await get(d.port, '/npm/pkg', `127.0.0.1:${d.port}`);
    assert.equal(own.status, 200, `the same request with its own Host: ${own.headers} ${own.body}`);
  });
});

test('HostGuard: off loopback every Host passes; publicUrl on a default port matches a Host without one', () => {
  const lan = new HostGuard({ listenHost: '0.0.0.0', publicUrl: () => 'http://0.0.0.0:7000' });
  assert.equal(lan.allows('anything.example'), true);
  const proxied = new HostGuard({ listenHost: '127.0.0.1', publicUrl: () => 'https://larder.example.com' });
  assert.equal(proxied.allows('larder.example.com'), true);
  assert.equal(proxied.allows('larder.example.com:443'), true);
  assert.equal(proxied.allows('larder.example.com:80'), false);
  assert.equal(proxied.allows('127.0.0.1:7000'), true);
  assert.equal(proxied.allows('evil.example:7000'), false);
  const v6 = new HostGuard({ listenHost: '::1', publicUrl: () => 'http://[::1]:7000' });
  assert.equal(v6.allows('[::1]:7000'), true);
  assert.equal(v6.allows('[::2]:7000'), false);
});
