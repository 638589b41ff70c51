/**
 * Generic remotes at their edges: signed redirects (GitHub-release style,
 * 302 to a second port with an expiring signature), checksum headers that
 * reject corrupt bytes, path validation, user rules, 404/5xx handling and
 * plain-text errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { curl, raw } from '../helpers/files-fixture/client.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
const KEY = 'signing-key';
const SIGNED_TTL_MS = 1500;

let dir: string;
let github: StaticUpstream;
let objects: StaticUpstream;
let web: StaticUpstream;
let d: TestDaemon;
const asset = { v1: randomBytes(300_000), v2: randomBytes(310_000) };
const jar = randomBytes(1_000_000);

const sign = (path: string, expires: number) => createHmac('sha256', KEY).update(`${path}|${expires}`).digest('hex');

function signedUrl(path: string): string {
  const expires = Date.now() + SIGNED_TTL_MS;
  return `${objects.url}${path}?expires=${expires}&sig=${sign(path, expires)}`;
}

before(async () => {
  dir = await tempDir('larder-edge-');
  await mkdir(join(dir, 'objects', 'assets'), { recursive: true });
  await mkdir(join(dir, 'github'), { recursive: true });
  await mkdir(join(dir, 'web', 'com/x/big/1.0'), { recursive: true });
  await mkdir(join(dir, 'web', 'nightly'), { recursive: true });
  await writeFile(join(dir, 'objects', 'assets', 'tool-v1.bin'), asset.v1);
  await writeFile(join(dir, 'objects', 'assets', 'tool-latest.bin'), asset.v1);
  await writeFile(join(dir, 'web', 'com/x/big/1.0', 'big-1.0.jar'), jar);
  await writeFile(join(dir, 'web', 'nightly', 'build.tar'), Buffer.from('nightly\n'));
  await writeFile(join(dir, 'web', 'disc.iso'), Buffer.from('iso image\n'));

  objects = await startStaticUpstream(join(dir, 'objects'));
  objects.headers = () => ({ 'cache-control': 'max-age=60' });
  objects.intercept = (path, url, res) => {
    const expires = Number(url.searchParams.get('expires'));
    if (url.searchParams.get('sig') === sign(path, expires) && Date.now() <= expires) return false;
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('signature expired or invalid\n');
    return true;
  };
  github = await startStaticUpstream(join(dir, 'github'));
  github.redirects.set('/o/r/releases/download/v1/tool.bin', () => signedUrl('/assets/tool-v1.bin'));
  github.redirects.set('/o/r/releases/latest/download/tool.bin', () => signedUrl('/assets/tool-latest.bin'));
  web = await startStaticUpstream(join(dir, 'web'));
  d = await startTestDaemon({
    remotes: {
      gh: { type: 'http', url: `${github.url}/`, layout: 'github-releases', auth: { token: 'remote-secret' } },
      mvn: { type: 'http', url: `${web.url}/`, layout: 'maven' },
      web: {
        type: 'http',
        url: `${web.url}/`,
        layout: 'plain',
        rules: [
          { match: 'nightly/**', policy: 'bypass' },
          { match: '/\\.iso$/', policy: 'immutable' },
        ],
      },
    },
  });
});

after(async () => {
  await d.close();
  await Promise.all([github.stop(), objects.stop(), web.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const get = (path: string, h: Record<string, string> = {}) => raw(d.url, path, h);

test('signed redirects are followed, never cached as a Location, and re-signed on revalidation', async () => {
  const r1 = await get('/files/gh/o/r/releases/download/v1/tool.bin');
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.location, undefined);
  assert.equal(sha256(r1.body), sha256(asset.v1));
  assert.equal(github.log.at(-1)?.headers.authorization, 'Bearer remote-secret');
  assert.ok(
    objects.log.every((l) => l.headers.authorization === undefined),
    'credentials never follow the redirect to another host',
  );

  const l1 = await get('/files/gh/o/r/releases/latest/download/tool.bin');
  assert.equal(l1.headers['x-larder-cache'], 'MISS');
  await sleep(SIGNED_TTL_MS + 200); // every signature handed out so far has expired
  const r2 = await get('/files/gh/o/r/releases/download/v1/tool.bin');
  assert.equal(r2.headers['x-larder-cache'], 'HIT', 'the asset is fresh for max-age=60');
  assert.equal(sha256(r2.body), sha256(asset.v1));
  const l2 = await get('/files/gh/o/r/releases/latest/download/tool.bin');
  assert.equal(l2.status, 200);
  assert.equal(l2.headers['x-larder-cache'], 'REVALIDATED', 'releases/latest is revalidated on every use');
  assert.equal(github.hitCount('/o/r/releases/latest/download/tool.bin'), 2, 'revalidation starts again at the unsigned URL');
  assert.ok(
    objects.log.every((l) => l.status !== 403),
    'an expired signed URL was never requested',
  );

  await writeFile(join(dir, 'objects', 'assets', 'tool-latest.bin'), asset.v2);
  const l3 = await get('/files/gh/o/r/releases/latest/download/tool.bin');
  assert.equal(sha256(l3.body), sha256(asset.v2), 'a replaced asset is seen');
  const c = await curl([
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{redirect_url}',
    `${d.url}/files/gh/o/r/releases/latest/download/tool.bin`,
  ]);
  assert.equal(c.stdout.trim(), '200', 'curl sees no redirect');
});

test('a body that contradicts its published checksum header is rejected, not committed, and refetched', async () => {
  const path = '/com/x/big/1.0/big-1.0.jar';
  web.headers = (p): Record<string, string> => (p === path ? { 'x-checksum-sha1': sha1(Buffer.from('other bytes')) } : {});
  try {
    const bad = await get(`/files/mvn${path}`);
    assert.ok(bad.status >= 500 || !bad.complete, `status ${bad.status}, complete ${bad.complete}`);
    assert.ok(bad.body.length < jar.length);
    const c = await curl(['-o', join(dir, 'bad.jar'), `${d.url}/files/mvn${path}`]);
    assert.notEqual(c.code, 0, 'curl reports a failed transfer');
    const hex = sha256(jar);
    await assert.rejects(access(join(d.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)));
    assert.equal(web.hitCount(path), 2, 'a failed fill is not cached, positively or negatively');
  } finally {
    web.headers = () => ({});
  }
  web.headers = (p): Record<string, string> => (p === path ? { 'x-checksum-sha1': sha1(jar) } : {});
  const good = await get(`/files/mvn${path}`);
  assert.equal(good.status, 200);
  assert.equal(sha256(good.body), sha256(jar));
  assert.equal((await get(`/files/mvn${path}`)).headers['x-larder-cache'], 'HIT');
  assert.equal(web.hitCount(path), 3);
  web.headers = () => ({});
});

test('path validation: traversal, encoded separators, NUL and overlong paths are refused before any upstream request', async () => {
  const before = web.log.length;
  for (const p of [
    '/files/web/../etc/passwd',
    '/files/web/a/%2e%2e/%2e%2e/x',
    '/files/web/a%2fb',
    '/files/web/a%5cb',
    '/files/web/a%00b',
    `/files/web/${'x'.repeat(3000)}`,
  ]) {
    const r = await get(p);
    assert.equal(r.status, 400, p);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.match(r.body.toString(), /invalid path/);
  }
  assert.equal(web.log.length, before);
  const post = await raw(d.url, '/files/web/disc.iso', {}, 'POST');
  assert.equal(post.status, 405);
  assert.equal((await get('/files/nope/x')).status, 404);
});

test('user rules: bypass is never stored, immutable is never revalidated', async () => {
  for (let i = 0; i < 2; i++) assert.equal((await get('/files/web/nightly/build.tar')).headers['x-larder-cache'], 'BYPASS');
  assert.equal(web.hitCount('/nightly/build.tar'), 2);
  web.headers = () => ({ 'cache-control': 'no-cache' });
  try {
    assert.equal((await get('/files/web/disc.iso')).headers['x-larder-cache'], 'MISS');
    const hit = await get('/files/web/disc.iso');
    assert.equal(hit.headers['x-larder-cache'], 'HIT');
    assert.match(String(hit.headers['cache-control']), /immutable/);
    assert.equal(web.hitCount('/disc.iso'), 1);
  } finally {
    web.headers = () => ({});
  }
});

test('404 is remembered briefly and rendered as text; a 503 is never taken for a 404', async () => {
  const miss = await get('/files/web/missing.bin');
  assert.equal(miss.status, 404);
  assert.match(String(miss.headers['content-type']), /^text\/plain/);
  assert.equal((await get('/files/web/missing.bin')).status, 404);
  assert.equal(web.hitCount('/missing.bin'), 1);
  web.failures.set('/flaky.bin', 503);
  await writeFile(join(dir, 'web', 'flaky.bin'), Buffer.from('flaky\n'));
  assert.equal((await get('/files/web/flaky.bin')).status, 502);
  web.failures.delete('/flaky.bin');
  const ok = await get('/files/web/flaky.bin');
  assert.equal(ok.status, 200);
  assert.equal(ok.body.toString(), 'flaky\n');
});
