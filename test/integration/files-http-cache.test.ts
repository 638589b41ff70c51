/**
 * HTTP caching semantics of generic remotes (`layout: plain`) with curl and
 * raw requests against a local upstream: Range/If-Range from the cache,
 * `curl -C -` resume, client conditionals, max-age/Expires/no-cache/
 * no-store/private, must-revalidate vs stale-on-error, stale-if-error and
 * stale-while-revalidate, and one upstream fetch for concurrent cold
 * requests.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { curl, raw } from '../helpers/files-fixture/client.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const BIG = 6 * 1024 * 1024;

let dir: string;
let up: StaticUpstream;
let d: TestDaemon;
const headers = new Map<string, Record<string, string>>();
const files = new Map<string, Buffer>();

before(async () => {
  dir = await tempDir('larder-files-');
  const root = join(dir, 'root');
  await mkdir(join(root, 'f'), { recursive: true });
  for (const name of ['big.bin', 'cold.bin', 'herd.bin']) files.set(name, randomBytes(name === 'herd.bin' ? 2_000_000 : BIG));
  for (const name of ['fresh', 'expires', 'nocache', 'nostore', 'private', 'strict', 'lenient', 'sie', 'swr', 'cond'])
    files.set(`${name}.txt`, Buffer.from(`${name} v1\n`));
  for (const [name, body] of files) await writeFile(join(root, 'f', name), body);
  up = await startStaticUpstream(root);
  up.headers = (p) => headers.get(p) ?? {};
  d = await startTestDaemon({ remotes: { web: { type: 'http', url: `${up.url}/f/`, layout: 'plain', ttl: '1h' } } });
});

after(async () => {
  await d.close();
  await up.stop();
  await rm(dir, { recursive: true, force: true });
});

const url = (name: string) => `${d.url}/files/web/${name}`;
const get = (name: string, h: Record<string, string> = {}) => raw(d.url, `/files/web/${name}`, h);

test('Range and If-Range are served from the cache; curl -C - resumes', async () => {
  const body = files.get('big.bin')!;
  headers.set('/f/big.bin', { 'cache-control': 'max-age=3600' });
  const warm = await get('big.bin');
  assert.equal(warm.status, 200);
  assert.equal(sha256(warm.body), sha256(body));
  const etag = String(warm.headers.etag);
  const lastModified = String(warm.headers['last-modified']);

  const part = await get('big.bin', { range: 'bytes=1000-1999' });
  assert.equal(part.status, 206);
  assert.equal(part.headers['x-larder-cache'], 'HIT');
  assert.equal(part.headers['content-range'], `bytes 1000-1999/${BIG}`);
  assert.ok(part.body.equals(body.subarray(1000, 2000)));
  assert.equal((await get('big.bin', { range: 'bytes=-10' })).body.toString('hex'), body.subarray(BIG - 10).toString('hex'));
  assert.equal((await get('big.bin', { range: 'bytes=100-199', 'if-range': etag })).status, 206);
  assert.equal((await get('big.bin', { range: 'bytes=100-199', 'if-range': lastModified })).status, 206);
  const stale = await get('big.bin', { range: 'bytes=100-199', 'if-range': '"something-else"' });
  assert.equal(stale.status, 200);
  assert.equal(stale.body.length, BIG);
  assert.equal((await get('big.bin', { range: `bytes=${BIG}-` })).status, 416);

  const out = join(dir, 'resumed.bin');
  await writeFile(out, body.subarray(0, 2_500_000));
  const r = await curl(['-C', '-', '-o', out, url('big.bin')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(out)), sha256(body));
  assert.equal(up.hitCount('/f/big.bin'), 1);

  // Resume against a cold cache: the range is served from the growing fill.
  up.slow.set('/f/cold.bin', 20);
  const coldOut = join(dir, 'cold.bin');
  await writeFile(coldOut, files.get('cold.bin')!.subarray(0, 1_000_000));
  const c = await curl(['-C', '-', '-o', coldOut, url('cold.bin')]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(sha256(await readFile(coldOut)), sha256(files.get('cold.bin')!));
  assert.equal(up.hitCount('/f/cold.bin'), 1);
});

test('client conditionals: If-None-Match with the upstream ETag and If-Modified-Since get 304', async () => {
  const first = await get('cond.txt');
  assert.equal(first.status, 200);
  const etag = String(first.headers.etag);
  assert.equal(etag, `"${sha256(files.get('cond.txt')!).slice(0, 16)}"`, 'the upstream ETag is passed through');
  assert.equal((await get('cond.txt', { 'if-none-match': etag })).status, 304);
  assert.equal((await get('cond.txt', { 'if-modified-since': String(first.headers['last-modified']) })).status, 304);
  assert.equal((await get('cond.txt', { 'if-modified-since': new Date(0).toUTCString() })).status, 200);
  assert.equal((await get('cond.txt', { 'if-none-match': '"nope"' })).status, 200);
});

test('max-age and Expires: HIT while fresh, then a conditional revalidation (304 refreshes)', async () => {
  headers.set('/f/fresh.txt', { 'cache-control': 'max-age=1' });
  headers.set('/f/expires.txt', { expires: new Date(Date.now() + 3_600_000).toUTCString() });
  assert.equal((await get('fresh.txt')).headers['x-larder-cache'], 'MISS');
  assert.equal((await get('fresh.txt')).headers['x-larder-cache'], 'HIT');
  await sleep(1100);
  const again = await get('fresh.txt');
  assert.equal(again.headers['x-larder-cache'], 'REVALIDATED');
  assert.equal(again.body.toString(), 'fresh v1\n');
  const last = up.log.filter((l) => l.path === '/f/fresh.txt').at(-1)!;
  assert.equal(last.status, 304);
  assert.ok(last.headers['if-none-match'], 'conditional request');
  assert.equal(up.hitCount('/f/fresh.txt'), 2);
  await get('expires.txt');
  assert.equal((await get('expires.txt')).headers['x-larder-cache'], 'HIT');
  assert.equal(up.hitCount('/f/expires.txt'), 1);
});

test('no-store and private are never stored; no-cache revalidates every use', async () => {
  headers.set('/f/nostore.txt', { 'cache-control': 'no-store' });
  headers.set('/f/private.txt', { 'cache-control': 'private, max-age=600' });
  headers.set('/f/nocache.txt', { 'cache-control': 'no-cache' });
  for (const name of ['nostore.txt', 'private.txt']) {
    for (let i = 0; i < 2; i++) {
      const r = await get(name);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-larder-cache'], 'BYPASS');
      assert.equal(r.body.toString(), files.get(name)!.toString());
    }
    assert.equal(up.hitCount(`/f/${name}`), 2, name);
  }
  assert.equal((await get('nocache.txt')).headers['x-larder-cache'], 'MISS');
  assert.equal((await get('nocache.txt')).headers['x-larder-cache'], 'REVALIDATED');
  assert.equal(up.hitCount('/f/nocache.txt'), 2);
});

test('upstream failure: stale served unless must-revalidate; stale-if-error bounds it', async () => {
  headers.set('/f/strict.txt', { 'cache-control': 'max-age=0, must-revalidate' });
  headers.set('/f/lenient.txt', { 'cache-control': 'max-age=0' });
  headers.set('/f/sie.txt', { 'cache-control': 'max-age=0, stale-if-error=1' });
  for (const n of ['strict.txt', 'lenient.txt', 'sie.txt']) assert.equal((await get(n)).status, 200);
  for (const n of ['strict.txt', 'lenient.txt', 'sie.txt']) up.failures.set(`/f/${n}`, 503);
  try {
    const strict = await get('strict.txt');
    assert.equal(strict.status, 502);
    assert.match(String(strict.headers['content-type']), /^text\/plain/);
    const lenient = await get('lenient.txt');
    assert.equal(lenient.status, 200);
    assert.equal(lenient.headers['x-larder-cache'], 'STALE');
    assert.equal((await get('sie.txt')).headers['x-larder-cache'], 'STALE');
    await sleep(1200);
    assert.equal((await get('sie.txt')).status, 502);
  } finally {
    up.failures.clear();
  }
});

test('stale-while-revalidate: stale answer at once, refreshed in the background', async () => {
  headers.set('/f/swr.txt', { 'cache-control': 'max-age=1, stale-while-revalidate=30' });
  await get('swr.txt');
  await sleep(1100);
  up.slow.set('/f/swr.txt', 200);
  const started = Date.now();
  const r = await get('swr.txt');
  assert.equal(r.headers['x-larder-cache'], 'STALE');
  assert.ok(Date.now() - started < 1000, 'not waiting for the upstream');
  for (let i = 0; i < 50 && up.hitCount('/f/swr.txt') < 2; i++) await sleep(50);
  assert.equal(up.hitCount('/f/swr.txt'), 2);
});

test('20 concurrent cold requests make one upstream fetch and all get the bytes', async () => {
  up.slow.set('/f/herd.bin', 15);
  const all = await Promise.all(Array.from({ length: 20 }, () => get('herd.bin')));
  const want = sha256(files.get('herd.bin')!);
  for (const r of all) {
    assert.equal(r.status, 200);
    assert.equal(sha256(r.body), want);
  }
  assert.equal(up.hitCount('/f/herd.bin'), 1);
});
