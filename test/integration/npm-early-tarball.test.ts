/**
 * A cold tarball's request goes upstream while its packument is still being
 * fetched, and is used only when the packument names that URL. A fake
 * upstream (in-process: it has to hold the packument back) records when
 * each request arrived and when the packument was answered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const PACKUMENT_DELAY_MS = 300;

interface Seen {
  path: string;
  at: number;
}

let server: Server;
let base = '';
let daemon: TestDaemon;
const seen: Seen[] = [];
let packumentSentAt = 0;
const tarballs = new Map<string, Buffer>();
/** Tarballs streamed slowly (in 8 parts, 400 ms apart). */
const slow = new Set<string>();

/** A packument whose 1.0.0 tarball lives at `tarballPath` (conventional or not). */
function packument(name: string, tarballPath: string, body: Buffer): string {
  const integrity = `sha512-${createHash('sha512').update(body).digest('base64')}`;
  return JSON.stringify({
    name,
    'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': { name, version: '1.0.0', dist: { tarball: `${base}${tarballPath.slice(1)}`, integrity } } },
  });
}

const docs = new Map<string, () => string>();

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push({ path, at: Date.now() });
    const doc = docs.get(path);
    if (doc) {
      setTimeout(() => {
        packumentSentAt = Date.now();
        res.writeHead(200, { 'content-type': 'application/json' }).end(doc());
      }, PACKUMENT_DELAY_MS);
      return;
    }
    const tgz = tarballs.get(path);
    if (tgz && slow.has(path)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tgz.length });
      const part = Math.ceil(tgz.length / 8);
      let i = 0;
      const timer = setInterval(() => {
        res.write(tgz.subarray(i * part, (i + 1) * part));
        if (++i === 8) {
          clearInterval(timer);
          res.end();
        }
      }, 400);
    } else if (tgz) res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tgz.length }).end(tgz);
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  daemon = await startTestDaemon({
    // @short packuments go stale after a second.
    remotes: { up: { type: 'npm', url: base }, short: { type: 'npm', url: base, ttl: '1s' } },
    npm: { default: 'up', scopes: { '@short': 'short' } },
  });
});

after(async () => {
  await daemon.close();
  await new Promise((r) => server.close(r));
});

const count = (path: string): number => seen.filter((s) => s.path === path).length;

test('the conventional tarball request goes out before the packument arrives; one request; verified bytes', async () => {
  const body = randomBytes(3000);
  tarballs.set('/alpha/-/alpha-1.0.0.tgz', body);
  docs.set('/alpha', () => packument('alpha', '/alpha/-/alpha-1.0.0.tgz', body));
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 8 }, () => fetch(`${daemon.url}/npm/alpha/-/alpha-1.0.0.tgz`)));
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(body));
  }
  const tarball = seen.find((s) => s.path === '/alpha/-/alpha-1.0.0.tgz')!;
  assert.ok(
    tarball.at < packumentSentAt,
    `tarball asked ${tarball.at - started} ms in, packument answered ${packumentSentAt - started} ms in`,
  );
  assert.equal(count('/alpha/-/alpha-1.0.0.tgz'), 1, 'eight concurrent cold requests, one upstream tarball request');
  assert.equal(count('/alpha'), 1);
});

test('a packument that names another URL: the early request is discarded, the named one is fetched, nothing is negative-cached', async () => {
  const body = randomBytes(2000);
  tarballs.set('/elsewhere/beta-1.0.0.tgz', body);
  docs.set('/beta', () => packument('beta', '/elsewhere/beta-1.0.0.tgz', body));
  const r = await fetch(`${daemon.url}/npm/beta/-/beta-1.0.0.tgz`);
  assert.equal(r.status, 200);
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(body));
  assert.equal(count('/beta/-/beta-1.0.0.tgz'), 1, 'the early guess went out (and got a 404)');
  assert.equal(count('/elsewhere/beta-1.0.0.tgz'), 1);
  const again = await fetch(`${daemon.url}/npm/beta/-/beta-1.0.0.tgz`);
  assert.equal(again.headers.get('x-larder-cache'), 'HIT');
  assert.equal(count('/elsewhere/beta-1.0.0.tgz'), 1);
});

test('a fresh packument means no early request: the tarball is fetched once, after nothing else', async () => {
  const v1 = randomBytes(1000);
  const v2 = randomBytes(1500);
  tarballs.set('/gamma/-/gamma-1.0.0.tgz', v1);
  tarballs.set('/gamma/-/gamma-2.0.0.tgz', v2);
  docs.set('/gamma', () => {
    const doc = JSON.parse(packument('gamma', '/gamma/-/gamma-1.0.0.tgz', v1)) as { versions: Record<string, unknown> };
    doc.versions['2.0.0'] = {
      name: 'gamma',
      version: '2.0.0',
      dist: { tarball: `${base}gamma/-/gamma-2.0.0.tgz`, integrity: `sha512-${createHash('sha512').update(v2).digest('base64')}` },
    };
    return JSON.stringify(doc);
  });
  assert.equal((await fetch(`${daemon.url}/npm/gamma/-/gamma-1.0.0.tgz`)).status, 200);
  const before = seen.length;
  const r = await fetch(`${daemon.url}/npm/gamma/-/gamma-2.0.0.tgz`);
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(v2));
  assert.deepEqual(
    seen.slice(before).map((s) => s.path),
    ['/gamma/-/gamma-2.0.0.tgz'],
    'the packument was fresh: only the tarball went upstream',
  );
});

test('a request joining a tarball fill in flight sends no early request, even with its packument stale', async () => {
  const body = randomBytes(400_000);
  const path = '/@short/delta/-/delta-1.0.0.tgz';
  tarballs.set(path, body);
  slow.add(path);
  docs.set('/@short%2Fdelta', () => packument('@short/delta', path, body));
  const url = `${daemon.url}/npm/@short%2fdelta/-/delta-1.0.0.tgz`;
  const first = fetch(url).then(async (r) => Buffer.from(await r.arrayBuffer()));
  await new Promise((r) => setTimeout(r, 2000)); // the packument (1 s) is stale now, the tarball still streaming (3.2 s)
  const second = await fetch(url);
  assert.ok(Buffer.from(await second.arrayBuffer()).equals(body));
  assert.ok((await first).equals(body));
  assert.equal(count('/@short%2Fdelta'), 1, 'joining a fill in flight needs no packument, stale or not');
  assert.equal(count(path), 1, 'one upstream tarball request: the second request joined the fill');
});
