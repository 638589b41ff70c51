/**
 * apt-get through Larder's generic remote (`layout: apt`) against a real
 * signed repository built with dpkg-deb / dpkg-scanpackages /
 * apt-ftparchive and served by a local upstream. The upstream marks its
 * Release files `max-age=0` and its indexes `max-age=3600`: a cache that
 * only follows HTTP rules then hands out a fresh InRelease with a stale
 * Packages file after an index update (shown with `layout: plain`), which
 * is what apt reports as "Hash Sum mismatch" / "unexpected size".
 *
 * Last-Modified has whole seconds, so an index republished in the second its
 * predecessor was written looks unmodified to apt's If-Modified-Since (apt
 * prints `Hit:` and keeps its old lists). A real archive publishes minutes
 * apart; before a client reads an index that is republished later, the tests
 * backdate it a minute, so the republish is newer however fast the machine.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, readFile, readdir, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { createAptClient } from '../helpers/files-fixture/apt-client.js';
import { createAptRepo, type AptRepo } from '../helpers/files-fixture/apt-repo.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

const MISMATCH = /Hash Sum mismatch|unexpected size/i;
const IN_RELEASE = '/dists/stable/InRelease';
const PACKAGES_XZ = '/dists/stable/main/binary-all/Packages.xz';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let dir: string;
let repo: AptRepo;
let up: StaticUpstream;

function cacheHeaders(path: string): Record<string, string> {
  if (/\/(InRelease|Release|Release\.gpg)$/.test(path)) return { 'cache-control': 'max-age=0' };
  if (path.startsWith('/dists/')) return { 'cache-control': 'max-age=3600' };
  return {};
}

before(async () => {
  dir = await tempDir('larder-apt-');
  repo = await createAptRepo(dir);
  await repo.publish([{ name: 'tiny', version: '1.0' }]);
  up = await startStaticUpstream(repo.root);
  up.headers = cacheHeaders;
});

after(async () => {
  await up.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Moves the mtime (the Last-Modified) of every file under dists/ a minute back: the next publish is newer by whole seconds. */
async function backdateIndexes(root: string): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  const files = await readdir(join(root, 'dists'), { recursive: true, withFileTypes: true });
  await Promise.all(files.filter((f) => f.isFile()).map((f) => utimes(join(f.parentPath ?? f.path, f.name), past, past)));
}

async function daemon(layout: 'apt' | 'plain'): Promise<TestDaemon> {
  return startTestDaemon({ remotes: { debian: { type: 'http', url: `${up.url}/`, layout } } });
}

test('apt-get update/download across an index update: no Hash Sum mismatch, new version seen, indexes and debs cached', async () => {
  await repo.publish([{ name: 'tiny', version: '1.0' }]);
  await backdateIndexes(repo.root);
  up.hits.clear();
  const d = await daemon('apt');
  try {
    const url = `${d.url}/files/debian`;
    const a = await createAptClient(join(dir, 'client-a'), url, 'stable', repo.keyring);
    const u1 = await a.update();
    assert.equal(u1.code, 0, u1.output);
    assert.doesNotMatch(u1.output, /^(W|E):/m, u1.output);
    const dl1 = await a.download('tiny');
    assert.equal(dl1.code, 0, dl1.output);
    assert.deepEqual(dl1.files, ['tiny_1.0_all.deb']);
    const deb1 = await readFile(join(repo.root, repo.poolPath({ name: 'tiny', version: '1.0' })));
    assert.equal(sha256(await readFile(join(a.dir, 'downloads', 'tiny_1.0_all.deb'))), sha256(deb1));

    // A second machine, cold lists: everything but the InRelease revalidation comes from the cache.
    const b = await createAptClient(join(dir, 'client-b'), url, 'stable', repo.keyring);
    assert.equal((await b.update()).code, 0);
    const dlb = await b.download('tiny');
    assert.equal(dlb.code, 0, dlb.output);
    assert.equal(up.hitCount(PACKAGES_XZ), 1);
    assert.equal(up.hitCount('/pool/main/t/tiny/tiny_1.0_all.deb'), 1);
    assert.equal(up.hitCount(IN_RELEASE), 2);
    assert.equal(up.log.filter((l) => l.path === IN_RELEASE).at(-1)?.status, 304, 'the second InRelease use is a conditional 304');

    // The upstream publishes 2.0 (new Packages, new InRelease) between two runs of the same client.
    await repo.publish([
      { name: 'tiny', version: '1.0' },
      { name: 'tiny', version: '2.0' },
    ]);
    const u2 = await a.update();
    assert.equal(u2.code, 0, u2.output);
    assert.doesNotMatch(u2.output, MISMATCH);
    assert.doesNotMatch(u2.output, /^(W|E):/m, u2.output);
    const dl2 = await a.download('tiny');
    assert.equal(dl2.code, 0, dl2.output);
    assert.ok(dl2.files.includes('tiny_2.0_all.deb'), dl2.files.join(','));
    assert.equal(up.hitCount(PACKAGES_XZ), 2, 'the new Packages was fetched once');

    // And a third, cold client sees 2.0 from the cache.
    const c = await createAptClient(join(dir, 'client-c'), url, 'stable', repo.keyring);
    const u3 = await c.update();
    assert.equal(u3.code, 0, u3.output);
    assert.doesNotMatch(u3.output, MISMATCH);
    assert.ok((await c.download('tiny')).files.includes('tiny_2.0_all.deb'));
    assert.equal(up.hitCount(PACKAGES_XZ), 2);
    assert.equal(up.hitCount('/pool/main/t/tiny/tiny_2.0_all.deb'), 1);

    // The upstream goes away: a cold client still gets the warm workload.
    up.down = 503;
    const e = await createAptClient(join(dir, 'client-e'), url, 'stable', repo.keyring);
    const u4 = await e.update();
    assert.equal(u4.code, 0, u4.output);
    assert.doesNotMatch(u4.output, /^(W|E):/m, u4.output);
    const dl4 = await e.download('tiny');
    assert.equal(dl4.code, 0, dl4.output);
    assert.ok(dl4.files.includes('tiny_2.0_all.deb'));
  } finally {
    up.down = undefined;
    await d.close();
  }
});

test('control: a plain HTTP cache of the same upstream produces the mismatch apt reports', async () => {
  await repo.publish([
    { name: 'tiny', version: '1.0' },
    { name: 'tiny', version: '2.0' },
  ]);
  await backdateIndexes(repo.root);
  const d = await daemon('plain');
  try {
    const a = await createAptClient(join(dir, 'control'), `${d.url}/files/debian`, 'stable', repo.keyring);
    assert.equal((await a.update()).code, 0);
    await repo.publish([
      { name: 'tiny', version: '1.0' },
      { name: 'tiny', version: '2.0' },
      { name: 'tiny', version: '3.0' },
    ]);
    const u2 = await a.update();
    assert.match(u2.output, MISMATCH, u2.output);
  } finally {
    await d.close();
  }
});

test('a pool file that does not match the cached Packages (after a restart) is refused, never committed, and refetched once fixed', async () => {
  await repo.publish([
    { name: 'tiny', version: '1.0' },
    { name: 'tiny', version: '2.0' },
    { name: 'tiny', version: '3.0' },
    { name: 'tiny', version: '4.0' },
  ]);
  const first = await daemon('apt');
  const warm = await createAptClient(join(dir, 'corrupt-warm'), `${first.url}/files/debian`, 'stable', repo.keyring);
  assert.equal((await warm.update()).code, 0);
  await first.close({ keepData: true });
  // A restarted daemon knows pool hashes only from the Packages files in its cache.
  const d = await startTestDaemon({ remotes: { debian: { type: 'http', url: `${up.url}/`, layout: 'apt' } } }, { dataDir: first.dataDir });
  const pool = `/${repo.poolPath({ name: 'tiny', version: '4.0' })}`;
  try {
    const packagesHits = up.hitCount(PACKAGES_XZ);
    const a = await createAptClient(join(dir, 'corrupt'), `${d.url}/files/debian`, 'stable', repo.keyring);
    assert.equal((await a.update()).code, 0);
    assert.equal(up.hitCount(PACKAGES_XZ), packagesHits, 'Packages came from the cache');
    up.corrupt.add(pool);
    up.hits.clear();
    const bad = await a.download('tiny');
    assert.notEqual(bad.code, 0, bad.output);
    assert.ok(!bad.files.includes('tiny_4.0_all.deb'));
    const good = await readFile(join(repo.root, pool));
    const corrupted = Buffer.from(good);
    corrupted[Math.floor(corrupted.length / 2)]! ^= 0xff;
    const hex = sha256(corrupted);
    await assert.rejects(access(join(d.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)));
    const before = up.hitCount(pool);
    assert.ok(before >= 1);
    up.corrupt.delete(pool);
    const ok = await a.download('tiny');
    assert.equal(ok.code, 0, ok.output);
    assert.equal(sha256(await readFile(join(a.dir, 'downloads', 'tiny_4.0_all.deb'))), sha256(good));
    assert.equal(up.hitCount(pool), before + 1, 'fetched again after the failure');
  } finally {
    up.corrupt.clear();
    await d.close();
  }
});

test('by-hash repositories: indexes fetched and verified by hash', async () => {
  const bh = await createAptRepo(join(dir, 'byhash'), { byHash: true });
  await bh.publish([{ name: 'tiny', version: '1.0' }]);
  const upstream = await startStaticUpstream(bh.root);
  const d = await startTestDaemon({ remotes: { deb: { type: 'http', url: `${upstream.url}/`, layout: 'apt' } } });
  try {
    const a = await createAptClient(join(dir, 'byhash-client'), `${d.url}/files/deb`, 'stable', bh.keyring);
    const u = await a.update();
    assert.equal(u.code, 0, u.output);
    assert.doesNotMatch(u.output, /^(W|E):/m, u.output);
    const byHashHits = [...upstream.hits.keys()].filter((p) => p.includes('/by-hash/SHA256/'));
    assert.equal(byHashHits.length, 1, [...upstream.hits.keys()].join('\n'));
    const dl = await a.download('tiny');
    assert.equal(dl.code, 0, dl.output);
    // A by-hash URL whose bytes do not match its name is refused.
    const hex = byHashHits[0]!.split('/').pop()!;
    const fake = `dists/stable/main/binary-all/by-hash/SHA256/${'0'.repeat(64)}`;
    upstream.redirects.set(`/${fake}`, () => `${upstream.url}${byHashHits[0]}`);
    const res = await fetch(`${d.url}/files/deb/${fake}`).then(
      async (r) => ({
        status: r.status,
        ok: await r.arrayBuffer().then(
          () => true,
          () => false,
        ),
      }),
      () => ({ status: 0, ok: false }),
    );
    assert.ok(res.status >= 500 || !res.ok, `got ${res.status}`);
    assert.notEqual(hex, '0'.repeat(64));
  } finally {
    await d.close();
    await upstream.stop();
  }
});
