/**
 * Hostile input against the real daemon, byte for byte over raw sockets:
 * path traversal in every encoding, encoded slashes and NUL bytes, absurd
 * names, huge headers, broken percent-encoding, writes on the read-only
 * mirror, and a TLS ClientHello on the plain port. Every answer is a 4xx (or
 * a closed connection for the TLS bytes), nothing is created outside the data
 * directory, nothing odd reaches the upstream, and the daemon stays up.
 */
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, test } from 'node:test';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { get, setupFixture, startLoggingDaemon, treeDigest, type LoggingDaemon } from '../helpers/npm-e2e.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let daemon: LoggingDaemon;
/** The parent of the data dir: nothing may appear here but `data/`. */
let sandbox = '';

before(async () => {
  ({ root, fixture } = await setupFixture('larder-npm-hostile-'));
  upstream = await startNpmUpstream(fixture);
  sandbox = join(root, 'sandbox');
  await mkdir(join(sandbox, 'etc'), { recursive: true });
  daemon = await startLoggingDaemon({ remotes: { local: { type: 'npm', url: upstream.url } } }, join(sandbox, 'data'));
});

after(async () => {
  await daemon?.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/**
 * Sends raw bytes (without half-closing: Node's server drops a half-closed
 * connection's pending answer), reads until the server closes (or 5 s) and
 * returns the status code (0 if none).
 */
function raw(bytes: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(daemon.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), 5_000);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    });
    s.on('connect', () => s.write(bytes));
    s.setTimeout(6_000, () => reject(new Error('socket timeout')));
  });
}

const req = (method: string, target: string, headers = ''): string =>
  `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}\r\n`;

const TRAVERSALS = [
  '/npm/..%2f..%2fetc%2fpasswd',
  '/npm/%2e%2e/x',
  '/npm/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/npm/../../etc/passwd',
  '/npm/..\\..\\etc\\passwd',
  '/npm/%5c..%5c..%5cetc%5cpasswd',
  '/files/../../x',
  '/files/local/..%2f..%2f..%2fetc%2fpasswd',
  '/../../etc/passwd',
  '/npm/@scope%2f..%2f..%2fx',
  '/npm/@..%2f..%2fetc/passwd',
  '/npm/foo%2f..%2f..%2fbar/-/bar-1.0.0.tgz',
  '/npm/foo/-/..%2f..%2f..%2fetc%2fpasswd.tgz',
  '/npm/foo/-/%2e%2e.tgz',
  '/..%2f..%2fetc/-/passwd.tgz',
  '/@x%2f..%2f..%2fetc/-/passwd.tgz',
  '/npm/%2fetc%2fpasswd',
  '/npm//etc/passwd',
  '/npm/-/package/..%2f..%2fetc/dist-tags',
  '/npm/-/v1/../../../etc/passwd',
];
const ODD = [
  '/npm/foo%00bar',
  '/npm/foo%00.tgz',
  '/npm/foo/-/foo-1.0.0.tgz%00.json',
  '/npm/%00',
  `/npm/${'a'.repeat(5000)}`,
  `/npm/@${'s'.repeat(3000)}/${'n'.repeat(3000)}`,
  `/npm/a/-/${'b'.repeat(5000)}.tgz`,
  `/${'c'.repeat(5000)}/-/c-1.0.0.tgz`,
  '/npm/%zz',
  '/npm/%E0%A4%A',
  '/npm/@s%2',
  '/npm/%',
  '/npm/foo/%ff%fe',
  '/npm/@scope%2fname%2fextra',
  '/npm/@scope/name/extra/parts/-/x.tgz',
  '/npm/foo/-/foo-1.0.0.exe',
  '/npm/.hidden',
  '/npm/_design',
  '/npm/foo/-/foo-9.9.9.tgz?x=%00',
  'http://evil.example.test/npm/foo',
  '*',
];

test('hostile paths and names: all 4xx, nothing reaches the upstream or the disk outside the data dir', async () => {
  const before = await treeDigest(sandbox, (rel) => rel === 'data');
  const notStore = (rel: string) => rel === 'index' || rel === 'blobs';
  const dataBefore = await treeDigest(join(sandbox, 'data'), notStore);
  upstream.resetHits();
  const answers: Array<[string, number]> = [];
  for (const target of [...TRAVERSALS, ...ODD]) {
    for (const method of ['GET', 'HEAD']) {
      const r = await raw(req(method, target));
      answers.push([`${method} ${target.slice(0, 60)}`, r.status]);
    }
  }
  const bad = answers.filter(([, s]) => s < 400 || s >= 500);
  assert.deepEqual(bad, [], 'every hostile request gets a 4xx');
  const seen = upstream.requests.map((r) => r.url);
  assert.deepEqual(
    seen.filter((u) => /\.\.|%00|\u0000|passwd|\\|%5c/i.test(u)),
    [],
    'nothing hostile went upstream',
  );
  assert.deepEqual(await treeDigest(sandbox, (rel) => rel === 'data'), before, 'no file outside the data dir');
  assert.deepEqual(await treeDigest(join(sandbox, 'data'), notStore), dataBefore, 'no new file in the data dir but blobs and index');
  const blobs = [...(await treeDigest(join(sandbox, 'data', 'blobs'))).keys()];
  assert.deepEqual(
    blobs.filter((p) => !/^sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(p)),
    [],
    'only content-addressed blob names',
  );
  assert.equal((await get(`${daemon.url}/healthz`)).status, 200);
});

test('huge headers, smuggling attempts and garbage request lines are refused', async () => {
  const cases: Array<[string, string | Buffer]> = [
    ['60 KB header', req('GET', '/npm/foo', `X-Big: ${'x'.repeat(60_000)}\r\n`)],
    ['4000 headers', req('GET', '/npm/foo', Array.from({ length: 4000 }, (_, i) => `X-H${i}: ${'v'.repeat(8)}\r\n`).join(''))],
    ['huge Accept', req('GET', '/npm/foo', `Accept: ${'application/json, '.repeat(4000)}\r\n`)],
    ['CL + TE', `POST /npm/foo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['bad chunk', `POST /npm/-/npm/v1/security/advisories/bulk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
    ['NUL in header', req('GET', '/npm/foo', 'X-A: a\u0000b\r\n')],
    ['garbage', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a])],
    ['space in target', 'GET /npm/foo bar HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['HTTP/9', 'GET /npm/foo HTTP/9.9\r\nHost: x\r\n\r\n'],
  ];
  for (const [what, bytes] of cases) {
    const r = await raw(bytes);
    assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500), `${what}: ${r.status}`);
  }
  assert.equal((await get(`${daemon.url}/healthz`)).status, 200);
});

test('writes on the read-only mirror get an npm-style 405 JSON error', async () => {
  const name = fixture.scopedPackages[0]!.replace('/', '%2f');
  const writes: Array<[string, string, string?]> = [
    ['PUT', `/npm/${name}`, '{"name":"x","versions":{}}'],
    ['PUT', '/npm/brand-new-pkg', '{}'],
    ['DELETE', `/npm/${name}/-rev/1-abc`],
    ['DELETE', `/npm/${name}/-/x-1.0.0.tgz/-rev/1`],
    ['PUT', '/npm/-/user/org.couchdb.user:mallory', '{"name":"mallory","password":"x"}'],
    ['PUT', `/npm/-/package/${name}/dist-tags/latest`, '"1.0.0"'],
    ['POST', `/npm/${name}`, '{}'],
    ['PATCH', `/npm/${name}`, '{}'],
    ['GET', `/npm/${name}?write=true`],
  ];
  for (const [method, path, body] of writes) {
    const headers = body ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : '';
    const r = await raw(req(method, path, headers) + (body ?? ''));
    assert.equal(r.status, 405, `${method} ${path}`);
    const json = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { error?: string };
    assert.match(json.error ?? '', /read-only/i, `${method} ${path}`);
  }
  assert.deepEqual(
    upstream.requests.filter((r) => r.method !== 'GET'),
    [],
    'no write reached the upstream',
  );
});

test('a TLS ClientHello on the plain port is refused and the daemon stays up', async () => {
  for (let i = 0; i < 3; i++) {
    const outcome = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: daemon.port, servername: 'localhost', rejectUnauthorized: false });
      s.setTimeout(5_000, () => {
        s.destroy();
        resolve('timeout');
      });
      s.on('secureConnect', () => {
        s.destroy();
        resolve('handshake');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on('close', () => resolve('closed'));
    });
    assert.notEqual(outcome, 'handshake');
    assert.notEqual(outcome, 'timeout', 'the connection is closed promptly');
  }
  assert.equal((await get(`${daemon.url}/healthz`)).status, 200);
  const ok = await get(`${daemon.url}/npm/${fixture.bigPackage}`);
  assert.equal(ok.status, 200, 'and still serves real requests');
});
