/**
 * The npm pull-through under upstream faults: 20 concurrent cold requests
 * for one tarball (one upstream fetch, followers streamed), a corrupted
 * tarball (failed transfer, nothing committed, retry after healing), and a
 * stopped upstream (warm installs from the cache, clean 5xx JSON for the rest).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeProject, runNpm } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import {
  CORGI_ACCEPT,
  blobsOnDisk,
  get,
  setupFixture,
  sha256hex,
  sri512,
  startLoggingDaemon,
  tempFiles,
  treeDigest,
} from '../helpers/npm-e2e.js';
import { waitFor } from '../helpers/wait.js';

const NPM_FLAGS = [
  '--no-audit',
  '--no-fund',
  '--ignore-scripts',
  '--loglevel=http',
  '--fetch-retries=1',
  '--fetch-retry-mintimeout=100',
  '--fetch-retry-maxtimeout=200',
];
let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;

before(async () => {
  ({ root, fixture } = await setupFixture('larder-npm-faults-'));
  upstream = await startNpmUpstream(fixture);
});

after(async () => {
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const bigTarball = (): FixtureTarball => fixture.packages.find((p) => p.name === fixture.bigPackage)!.tarballs.at(-1)!;
const config = (url: string, extra: Record<string, unknown> = {}) => ({ remotes: { local: { type: 'npm' as const, url, ...extra } } });

/** Streams a response, recording when the first byte came and how many bytes arrived before an end or an error. */
function download(url: string): Promise<{ status: number; body: Buffer; firstByteAt: number; error?: Error; length: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let firstByteAt = 0;
    const req = request(url, (res) => {
      const length = Number(res.headers['content-length']);
      const done = (error?: Error) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), firstByteAt, error, length });
      res.on('data', (c: Buffer) => {
        firstByteAt ||= Date.now();
        chunks.push(c);
      });
      res.on('end', () => done());
      res.on('error', (e) => done(e));
      res.on('aborted', () => done(new Error('aborted')));
    });
    req.on('error', (e) => resolve({ status: 0, body: Buffer.concat(chunks), firstByteAt, error: e, length: NaN }));
    req.end();
  });
}

test('20 parallel cold requests for one tarball: one upstream fetch, all bytes correct, streamed', async () => {
  const daemon = await startLoggingDaemon(config(upstream.url), join(root, 'data-flight'));
  try {
    const t = bigTarball();
    upstream.resetHits();
    upstream.setDelay(25, 64 * 1024);
    const results = await Promise.all(Array.from({ length: 20 }, () => download(`${daemon.url}/npm${t.urlPath}`)));
    const finished = Date.now();
    upstream.setDelay(0);
    assert.equal(upstream.hits(t.urlPath), 1, 'exactly one upstream request for the tarball');
    assert.equal(upstream.hits(`/${t.name}`), 1, 'and one for its packument');
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(r.error, undefined);
      assert.equal(r.body.length, t.size);
      assert.equal(sri512(r.body), t.integrity);
    }
    // Followers get bytes while the upstream is still sending (~2.5 s at this pace), not at the end.
    const lastFirstByte = Math.max(...results.map((r) => r.firstByteAt));
    assert.ok(finished - lastFirstByte > 1000, `first bytes ${finished - lastFirstByte} ms before the end`);
    const digest = sha256hex(results[0]!.body);
    await waitFor(async () => (await blobsOnDisk(daemon.dataDir)).has(digest), 10_000, 'the blob to be committed to the CAS');
  } finally {
    upstream.setDelay(0);
    await daemon.close();
  }
});

test('a corrupted tarball fails the transfer, is never committed, and a retry after healing succeeds', async () => {
  const daemon = await startLoggingDaemon(config(upstream.url), join(root, 'data-corrupt'));
  try {
    const t = bigTarball();
    const small = fixture.packages.find((p) => p.name === fixture.binPackage)!.tarballs[0]!;
    const good = sha256hex(Buffer.from(await (await fetch(`${upstream.url}${t.urlPath.slice(1)}`)).arrayBuffer()));
    const url = `${daemon.url}/npm${t.urlPath}`;
    upstream.resetHits();
    upstream.setCorrupt((p) => p === t.urlPath || p === small.urlPath);
    // A multi-MB body streams until the digest fails (the last 64 KiB are held back); a small one never starts.
    upstream.setDelay(5, 64 * 1024); // paced, so the client keeps up with the fill until the digest fails
    for (const [tb, attempt] of [
      [t, 1],
      [t, 2],
      [small, 1],
    ] as const) {
      const r = await download(`${daemon.url}/npm${tb.urlPath}`);
      if (tb === t) {
        assert.ok(r.error, 'the transfer fails instead of ending cleanly');
        assert.ok(r.body.length < tb.size, `${r.body.length} of ${tb.size} bytes arrived`);
        assert.equal(r.status, 200, 'headers went out before the digest could be known');
        assert.equal(r.length, tb.size, 'announcing the full length');
        assert.ok(r.body.length > tb.size / 2, 'the big body streamed while it was downloading');
      } else {
        // A small body is verified before anything is sent: the client gets a clear error, not a byte of the tarball.
        assert.equal(r.status, 502);
        assert.equal(JSON.parse(r.body.toString()).code, 'E_INTEGRITY');
      }
      assert.equal(upstream.hits(tb.urlPath), attempt, 'nothing was cached: each attempt goes upstream');
      const blobs = await blobsOnDisk(daemon.dataDir);
      assert.equal(blobs.has(good), false);
      // Documents are written after they are answered: their temp files come and go; none may stay.
      await waitFor(async () => (await tempFiles(daemon.dataDir)).length === 0, 10_000, 'the temp files to be removed');
    }
    upstream.setDelay(0);
    const metrics = (await get(`${daemon.url}/metrics`)).body.toString();
    assert.match(metrics, /^larder_integrity_failures_total 3$/m);

    // The real npm fails too (a transfer or integrity error, never an install of wrong bytes).
    const dir = join(root, 'app-corrupt');
    const registry = `${daemon.url}/npm/`;
    await makeProject(dir, fixture, registry, { cacheDir: join(root, 'cache-corrupt-lock'), dependencies: { [t.name]: t.version } });
    await assert.rejects(runNpm(['ci', ...NPM_FLAGS], { cwd: dir, registry, cacheDir: join(root, 'cache-corrupt-1') }), (err: Error) =>
      /ECONNRESET|EINTEGRITY|terminated|aborted|socket hang up|premature close|E502/i.test(err.message),
    );
    assert.equal((await blobsOnDisk(daemon.dataDir)).has(good), false);

    const tries = upstream.hits(t.urlPath);
    assert.ok(tries >= 3, 'npm asked the mirror, which asked the upstream again');
    upstream.setCorrupt(null);
    const healed = await download(url);
    assert.equal(healed.status, 200);
    assert.equal(healed.error, undefined);
    assert.equal(sri512(healed.body), t.integrity);
    await runNpm(['ci', ...NPM_FLAGS], { cwd: dir, registry, cacheDir: join(root, 'cache-corrupt-2') });
    await waitFor(async () => (await blobsOnDisk(daemon.dataDir)).has(good), 10_000, 'the good blob to be committed');
    assert.equal(upstream.hits(t.urlPath), tries + 1, 'healed: fetched once more, then served from the cache');
  } finally {
    upstream.setCorrupt(null);
    upstream.setDelay(0);
    await daemon.close();
  }
});

test('upstream down, then gone: warm installs come from the cache; uncached names get a 5xx JSON error', async () => {
  const own = await startNpmUpstream(fixture);
  const daemon = await startLoggingDaemon(config(own.url, { ttl: '1s', timeout: '3s' }), join(root, 'data-down'));
  try {
    const registry = `${daemon.url}/npm/`;
    const dir = join(root, 'app-down');
    await makeProject(dir, fixture, registry, { cacheDir: join(root, 'cache-down-lock') });
    await runNpm(['ci', ...NPM_FLAGS], { cwd: dir, registry, cacheDir: join(root, 'cache-down-0') });
    const tree = await treeDigest(join(dir, 'node_modules'));
    const uncached = fixture.packages.find((p) => !tree.has(`${p.name}/package.json`))?.name ?? 'never-published-package';

    const someTarball = fixture.packages.find((p) => tree.has(`${p.name}/package.json`))!.name;
    for (const [i, mode] of [
      [1, 'refuse'],
      [2, '503'],
      [3, 'closed'],
    ] as const) {
      if (mode === 'closed') await own.close();
      else own.setDown(true, mode);
      await new Promise((r) => setTimeout(r, 1100)); // packuments are past their TTL now
      daemon.requests.length = 0;
      if (mode === '503') {
        // HTTP-level check only (npm runs cost seconds): the packument is STALE, not an error.
        const doc = await get(`${registry}${someTarball.replace('/', '%2f')}`, { headers: { accept: CORGI_ACCEPT } });
        assert.equal(doc.status, 200);
        assert.equal(doc.headers.get('x-larder-cache'), 'STALE');
      } else {
        await rm(join(dir, 'node_modules'), { recursive: true, force: true });
        await runNpm(['ci', '--prefer-online', ...NPM_FLAGS], { cwd: dir, registry, cacheDir: join(root, `cache-down-${i}`) });
        assert.deepEqual(await treeDigest(join(dir, 'node_modules')), tree, `${mode}: same tree`);
        const tgz = daemon.requests.filter((r) => r.path.endsWith('.tgz'));
        assert.ok(tgz.length > 0 && tgz.every((r) => r.cache === 'HIT' && r.status === 200), `${mode}: tarballs are HITs`);
      }
      if (mode === 'refuse') {
        // Re-resolving (no lockfile) needs the packuments: served STALE.
        const resolveDir = join(root, `app-resolve-${i}`);
        await makeProject(resolveDir, fixture, registry, { cacheDir: join(root, `cache-resolve-${i}`) });
        const docs = daemon.requests.filter((r) => !r.path.endsWith('.tgz'));
        assert.ok(
          docs.length > 0 && docs.every((r) => r.status === 200 && (r.cache === 'STALE' || r.cache === 'HIT')),
          `${mode}: packuments`,
        );
        assert.ok(docs.some((r) => r.cache === 'STALE'));
      }
      const missing = await get(`${registry}${uncached}`);
      assert.ok(missing.status >= 500 && missing.status <= 504, `${mode}: status ${missing.status}`);
      assert.match(missing.headers.get('content-type') ?? '', /application\/json/);
      const body = JSON.parse(missing.body.toString()) as { error?: unknown };
      assert.equal(typeof body.error, 'string');
      if (mode !== 'closed') own.setDown(false);
    }
    const metrics = (await get(`${daemon.url}/metrics`)).body.toString();
    assert.match(metrics, /^larder_stale_serves_total\{reason="E_UPSTREAM[^"]*"\} [1-9]/m);
  } finally {
    await daemon.close();
    await own.close().catch(() => undefined);
  }
});
