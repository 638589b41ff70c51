/**
 * Hostile-request fuzzing (issue 14): a few thousand generated requests
 * (seeded, so a failure repeats) against the real daemon of every registered
 * protocol, each with a healthy local upstream from its conformance fixture:
 * odd methods, traversal and encoding tricks, names npm refuses, overlong
 * and broken segments, mangled valid paths, junk Range and conditional
 * headers, bodies where none belongs. No answer may be a 5xx, and every
 * request gets an answer. LARDER_FUZZ_SEED and LARDER_FUZZ_N override.
 */
import assert from 'node:assert/strict';
import { Agent, type ClientRequest, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { PROTOCOLS } from '../../daemon/protocols/registry.js';
import type { ConformanceFixture, FixtureSetup } from '../conformance/protocol.suite.js';
import { FixtureUpstream } from '../conformance/upstream.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const SEED = Number(process.env.LARDER_FUZZ_SEED ?? 14);
const PER_PROTOCOL = Number(process.env.LARDER_FUZZ_N ?? 700);
const PARALLEL = 8;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Path segments (space-separated words, then those that hold a quote or are computed). */
const SEGMENTS: string[] = [
  ...(
    'node_modules favicon.ico NODE_MODULES .hidden _design _all_docs .. . %2e%2e %2E%2e%2f ..%2f %2f %5c ..%5c %00 ' +
    '%0d%0aX-Injected:%201 %ff % %zz %C0%AE ü %F0%9F%92%A9 @ @scope @scope%2fpkg %40scope%2f.. - ~ ~user latest ' +
    '@latest @v list .info .mod .zip v1.0.0 v0.0.0-00010101000000-000000000000 simple files manifests blobs tags ' +
    'uploads sha256: sha256:zz a-1.0.0.tgz -rc.1 +build CON aux.txt index.html x.html ? # ; ;jsessionid=1 * $ ( ) ! ' +
    '!a Pkg JSONStream security audits quick v1 search dist-tags npm pypi go v2 example.com github.com gopkg.in ' +
    'maven-metadata.xml x.jar.sha1 x.pom InRelease Packages.gz 0 -1 99999999999999999999 1e999 null undefined'
  ).split(' '),
  `sha256:${'0'.repeat(64)}`,
  `sha512:${'f'.repeat(128)}`,
  'x'.repeat(215),
  'A'.repeat(300),
  "'",
];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'TRACE'];
const RANGES = [
  'bytes=0-0',
  'bytes=-1',
  'bytes=5-1',
  'bytes=999999999999-',
  'bytes=0-1,3-4',
  'bytes=abc',
  'items=0-1',
  'bytes=-0',
  'bytes=',
];
const DATES = ['garbage', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT', ''];

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

function generate(rand: () => number, mounts: readonly string[], s: FixtureSetup): Req {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const valid = [s.metadata, ...s.artifacts.map((a) => a.path), ...s.hostile];
  let path: string;
  const shape = rand();
  if (shape < 0.45) {
    path = pick(mounts);
    const n = 1 + Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) path += `/${pick(SEGMENTS)}`;
    if (rand() < 0.1) path += '/';
  } else if (shape < 0.8) {
    // A valid path mangled: a segment replaced, cut short, doubled or case-changed.
    const segs = pick(valid).split('/');
    const i = 1 + Math.floor(rand() * Math.max(1, segs.length - 1));
    const how = rand();
    if (how < 0.4) segs[i] = pick(SEGMENTS);
    else if (how < 0.6) segs.splice(i);
    else if (how < 0.8) segs.splice(i, 0, segs[i] ?? pick(SEGMENTS));
    else segs[i] = (segs[i] ?? '').toUpperCase();
    path = segs.join('/') || '/';
  } else if (shape < 0.9) {
    path = `/${pick(SEGMENTS)}/-/${pick(SEGMENTS)}`;
  } else {
    path = pick(valid);
  }
  if (rand() < 0.15) path += `?${pick(SEGMENTS)}=${pick(SEGMENTS)}&scope=${pick(SEGMENTS)}`;
  const headers: Record<string, string> = {};
  if (rand() < 0.2) headers.range = pick(RANGES);
  if (rand() < 0.1) headers['if-range'] = pick(['"x"', ...DATES]);
  if (rand() < 0.15) headers['if-none-match'] = pick(['*', '"x"', 'W/"x"', '""', 'garbage']);
  if (rand() < 0.1) headers['if-modified-since'] = pick(DATES);
  if (rand() < 0.15)
    headers.accept = pick(['*/*', 'application/vnd.npm.install-v1+json', 'text/html', 'application/vnd.pypi.simple.v1+json', ';;;', '']);
  if (rand() < 0.05) headers['accept-encoding'] = pick(['gzip', 'br', 'zstd', 'identity;q=0', '*;q=0']);
  if (rand() < 0.05) headers.authorization = pick(['Bearer x', 'Basic !!!', 'Basic dTpw', '']);
  const method = pick(METHODS);
  const withBody = (method === 'POST' || method === 'PUT' || method === 'PATCH') && rand() < 0.7;
  const body = withBody ? Buffer.from(pick(['{}', '{"a":', 'null', '[]', 'x'.repeat(5000), '{"__proto__":{"x":1}}'])) : undefined;
  if (body) headers['content-type'] = pick(['application/json', 'text/plain', 'application/octet-stream']);
  return { method, path, headers, body };
}

function send(port: number, agent: Agent, r: Req): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    let req: ClientRequest;
    try {
      req = request({ host: '127.0.0.1', port, agent, method: r.method, path: r.path, headers: r.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 4 && chunks.push(c));
        res.on('error', () => undefined);
        res.on('close', () =>
          resolve({
            status: res.complete ? (res.statusCode ?? 0) : -(res.statusCode ?? 0),
            body: Buffer.concat(chunks).toString().slice(0, 200),
          }),
        );
      });
    } catch {
      return resolve({ status: 400, body: 'not sendable by node (refused before sending)' });
    }
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end(r.body);
  });
}

for (const protocol of PROTOCOLS) {
  describe(`fuzzing ${protocol.name}`, () => {
    const up = new FixtureUpstream();
    let d: TestDaemon;
    let s: FixtureSetup;

    before(async () => {
      const { fixture } = (await import(new URL(`../conformance/fixtures/${protocol.name}.ts`, import.meta.url).href)) as {
        fixture: ConformanceFixture;
      };
      await up.start();
      s = fixture.setup(up);
      // What registry.npmjs.org answers for names no package can have: not a packument (a favicon, a page).
      up.route('/favicon.ico', { headers: { 'content-type': 'image/x-icon' }, body: Buffer.alloc(64, 1) });
      up.route('/node_modules', { headers: { 'content-type': 'text/html' }, body: '<html>not a package</html>' });
      d = await startTestDaemon(s.config);
    });

    after(async () => {
      await d?.close();
      await up.down();
    });

    test(`${PER_PROTOCOL} hostile requests (seed ${SEED}): no 5xx, every one answered`, async () => {
      const rand = prng(SEED + protocol.name.length * 7919 + protocol.name.charCodeAt(0));
      const reqs = Array.from({ length: PER_PROTOCOL }, () => generate(rand, protocol.mounts, s));
      const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });
      const bad: string[] = [];
      const statuses = new Map<number, number>();
      let next = 0;
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < reqs.length) {
            const r = reqs[next++]!;
            const got = await send(d.port, agent, r);
            statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
            // A HEAD or 1xx-less answer cut short is broken too: only complete answers below 500 pass.
            if (got.status >= 500 || got.status <= 0)
              bad.push(`${r.method} ${r.path.slice(0, 160)} ${JSON.stringify(r.headers)} → ${got.status} ${got.body}`);
          }
        }),
      );
      agent.destroy();
      assert.deepEqual(bad.slice(0, 20), [], `${bad.length} of ${reqs.length} failed; statuses ${JSON.stringify([...statuses])}`);
    });

    if (protocol.name === 'npm') {
      test('names npm refuses are 404 at once, without an upstream request', async () => {
        const seen = up.seen.length;
        const names = [
          'node_modules',
          'favicon.ico',
          'Node_Modules',
          '_design',
          '.hidden',
          'x'.repeat(215),
          'a%20b',
          'a%3Cb',
          '@scope%2f.%2e',
        ];
        for (const name of names) {
          const got = await send(d.port, new Agent(), { method: 'GET', path: `/npm/${name}`, headers: {} });
          assert.equal(got.status, 404, `${name.slice(0, 40)}: ${got.body}`);
        }
        assert.deepEqual(up.seen.slice(seen), [], 'nothing asked upstream');
        const legacy = await send(d.port, new Agent(), { method: 'GET', path: '/npm/LegacyCapsName', headers: {} });
        assert.equal(legacy.status, 404, 'a name with capitals (old packages have them) is still asked upstream');
        assert.deepEqual(up.seen.slice(seen), ['/LegacyCapsName']);
      });
    }
  });
}
