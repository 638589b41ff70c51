/**
 * Every protocol answer carries `Content-Security-Policy: sandbox` and
 * `X-Content-Type-Options: nosniff` (issue 14, High), whatever answers it:
 * metadata, artifacts, 304s, 416s, 4xx for hostile paths and unknown routes, and
 * 5xx when the upstream is gone. One daemon per registered protocol, set up
 * from its conformance fixture. The dashboard and admin API keep their own
 * policy. An upstream answer without a Content-Type is served as bytes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PROTOCOLS } from '../../daemon/protocols/registry.js';
import type { ConformanceFixture, FixtureSetup } from '../conformance/protocol.suite.js';
import { rawGet } from '../conformance/protocol.suite.js';
import { FixtureUpstream } from '../conformance/upstream.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

type Headers = Record<string, string | string[] | undefined>;

function assertSandboxed(what: string, status: number, headers: Headers): void {
  assert.equal(headers['content-security-policy'], 'sandbox', `${what} (${status}): Content-Security-Policy`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${what} (${status}): X-Content-Type-Options`);
}

/** A GET with extra headers (conditional requests). */
async function getWith(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { headers });
  await res.arrayBuffer();
  return { status: res.status, headers: Object.fromEntries(res.headers) };
}

for (const protocol of PROTOCOLS) {
  const file = new URL(`../conformance/fixtures/${protocol.name}.ts`, import.meta.url);
  describe(`protocol ${protocol.name}: every answer is sandboxed`, () => {
    const up = new FixtureUpstream();
    let d: TestDaemon;
    let s: FixtureSetup;

    before(async () => {
      assert.ok(existsSync(file), `a conformance fixture for ${protocol.name}`);
      const { fixture } = (await import(file.href)) as { fixture: ConformanceFixture };
      await up.start();
      s = fixture.setup(up);
      d = await startTestDaemon(s.config);
    });

    after(async () => {
      await d?.close();
      await up.down();
    });

    test('200s, 304s, 4xx and 5xx', async () => {
      const meta = await rawGet(d.port, s.metadata);
      assert.equal(meta.status, 200, `${s.metadata}: ${meta.body.toString().slice(0, 200)}`);
      assertSandboxed(s.metadata, meta.status, meta.headers);
      const [a, b] = s.artifacts;
      const art = await rawGet(d.port, a.path);
      assert.equal(art.status, 200);
      assertSandboxed(a.path, art.status, art.headers);
      const etag = art.headers.etag;
      if (typeof etag === 'string') {
        const again = await getWith(d.url, a.path, { 'if-none-match': etag });
        assert.equal(again.status, 304, `${a.path} with If-None-Match`);
        assertSandboxed(`${a.path} conditional`, again.status, again.headers);
      }
      if (art.headers['accept-ranges'] === 'bytes') {
        const past = await getWith(d.url, a.path, { range: 'bytes=999999999-' });
        assert.equal(past.status, 416, `${a.path} with a range past its end`);
        assertSandboxed(`${a.path} unsatisfiable range`, past.status, past.headers);
      }
      for (const path of [...s.hostile, `${protocol.mounts[0]}/no/such/thing/here`]) {
        const r = await rawGet(d.port, path);
        assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
        assertSandboxed(path, r.status, r.headers);
      }
      // The upstream gone: an artifact never fetched is an error (502/504; Go says 404 so the go command tries its next proxy).
      await up.down();
      const gone = await rawGet(d.port, b.path);
      assert.ok(gone.status >= 400, `${b.path} with the upstream down: ${gone.status}`);
      assertSandboxed(`${b.path} upstream down`, gone.status, gone.headers);
    });
  });
}

describe('answers that are not a protocol’s', () => {
  const up = new FixtureUpstream();
  let d: TestDaemon;

  before(async () => {
    await up.start();
    up.route('/f/untyped', { body: '<html><script>alert(1)</script></html>' });
    d = await startTestDaemon({ remotes: { web: { type: 'http', url: `${up.url}/f/`, layout: 'plain', ttl: '1h' } } });
  });

  after(async () => {
    await d?.close();
    await up.down();
  });

  test('an upstream answer without a Content-Type is served as application/octet-stream', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${d.url}/files/web/untyped`, { method });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream', method);
      assert.equal(res.headers.get('content-security-policy'), 'sandbox');
    }
  });

  test('unknown routes and /metrics are sandboxed; the admin API and dashboard keep their own policy', async () => {
    for (const path of ['/nothing', '/metrics', '/healthz']) {
      const r = await rawGet(d.port, path);
      assertSandboxed(path, r.status, r.headers);
    }
    for (const path of ['/_/api/v1/config', '/_/ui/']) {
      const r = await rawGet(d.port, path);
      assert.notEqual(r.headers['content-security-policy'], 'sandbox', path);
    }
  });
});
