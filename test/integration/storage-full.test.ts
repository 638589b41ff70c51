/**
 * A full disk, for real: the daemon's data directory is a small tmpfs
 * (16 MiB, mounted by the test; needs root; the test fills it with a file
 * to the free space each step needs). Hits keep being served; a miss
 * that cannot be stored is streamed through verified (X-Larder-Cache:
 * BYPASS), never indexed; what cannot be written at all is a clear 507;
 * and the index survives: a restart on the full disk recovers nothing to
 * repair and serves every entry, and once space is back misses are stored.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Stats } from '../../daemon/admin/contract.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { get, sri512 } from '../helpers/npm-e2e.js';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { adminClient, adminToken, metric } from '../helpers/admin-e2e.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
let root = '';
let disk = '';
let mounted = false;
let fixture: RegistryFixture;
let upstream: NpmUpstream;
const daemons: TestDaemon[] = [];

before(async () => {
  root = await tempDir('larder-full-');
  disk = join(root, 'disk');
  await mkdir(disk);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', disk]);
  mounted = true;
  fixture = await generateRegistry(join(root, 'registry'));
  upstream = await startNpmUpstream(fixture);
});

after(async () => {
  for (const d of daemons) await d.close({ keepData: true }).catch(() => undefined);
  await upstream?.close();
  if (mounted) await run('umount', [disk]);
  if (root) await rm(root, { recursive: true, force: true });
});

const free = async (): Promise<number> => {
  const s = await statfs(disk);
  return s.bavail * s.bsize;
};

/** Fills the disk with one file until `leave` bytes are free (0: until ENOSPC). */
async function fill(file: string, leave: number): Promise<void> {
  const h = await open(file, 'a');
  try {
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let room = (await free()) - leave; room > 0; room -= chunk.length) {
      try {
        await h.write(chunk, 0, Math.min(chunk.length, room));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
  } finally {
    await h.close();
  }
}

async function start(): Promise<TestDaemon> {
  // A stable publicUrl (as in a deployment): packuments derived before the restart stay valid after it.
  const d = await startTestDaemon(
    { publicUrl: 'http://larder.test', remotes: { local: { type: 'npm', url: upstream.url } }, storage: { minFree: '1MB' } },
    { dataDir: join(disk, 'data') },
  );
  daemons.push(d);
  return d;
}

async function stop(d: TestDaemon): Promise<void> {
  daemons.splice(daemons.indexOf(d), 1);
  await d.close({ keepData: true });
}

const tarballUrl = (d: TestDaemon, t: FixtureTarball): string => `${d.url}/npm${t.urlPath}`;

test('disk full on a tmpfs: hits served, misses streamed through or refused clearly, index intact across a restart', async () => {
  const small = fixture.packages.filter((p) => p.name !== fixture.bigPackage).map((p) => p.tarballs.at(-1)!);
  const cached = small.slice(0, 3);
  const big = fixture.packages.find((p) => p.name === fixture.bigPackage)!.tarballs.at(-1)!;
  const bigHex = createHash('sha256')
    .update(await readFile(big.file))
    .digest('hex');
  let d = await start();
  const admin = adminClient(d.url, await adminToken(d.dataDir));
  for (const t of cached) {
    assert.equal((await get(`${d.url}/npm/${t.name.replace('/', '%2f')}`)).status, 200);
    assert.equal(sri512((await get(tarballUrl(d, t))).body), t.integrity);
  }
  // Commits and document writes wait for the clients to pause (write-behind): wait for them.
  await waitFor(
    async () => (await admin.entries(':tgz:')).length === cached.length && (await admin.entries(':doc:')).length === cached.length,
    10_000,
    'the fills and documents to commit',
  );

  // The disk fills up while the 6 MiB tarball is being stored: the transfer fails (never a complete
  // body that was not stored), nothing is left behind, and the next misses pass through at once.
  assert.equal((await get(`${d.url}/npm/${big.name}`)).headers.get('x-larder-cache'), 'MISS');
  await waitFor(async () => (await admin.entries(`:doc:${big.name}`)).length === 1, 10_000, 'the packument to be written');
  const filler = join(disk, 'filler');
  upstream.setDelay(50, 256 * 1024);
  const res = await fetch(tarballUrl(d, big));
  assert.equal(res.headers.get('x-larder-cache'), 'MISS');
  const reader = res.body!.getReader();
  let received = (await reader.read()).value?.length ?? 0;
  await fill(filler, 1.5 * 1024 * 1024);
  await assert.rejects(async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.length;
  }, /terminated/);
  assert.ok(received < big.size, `${received} of ${big.size} bytes, then the connection was cut`);
  upstream.setDelay(0);
  await waitFor(async () => (await readdir(join(d.dataDir, 'tmp'))).length === 0, 5_000, 'the temp file to go');
  assert.deepEqual(await admin.entries(`:tgz:${big.name}/`), []);
  assert.equal(await stat(join(d.dataDir, 'blobs', 'sha256', bigHex.slice(0, 2), bigHex)).catch(() => undefined), undefined);

  // 1.5 MiB free (the reserve is 1 MB): the 6 MiB tarball cannot be stored, small things still can.
  for (let i = 0; i < 2; i++) {
    const r = await get(tarballUrl(d, big));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'BYPASS', 'streamed through, not stored (and never a HIT)');
    assert.equal(Number(r.headers.get('content-length')), big.size);
    assert.equal(sri512(r.body), big.integrity, 'verified bytes');
  }
  const ranged = await get(tarballUrl(d, big), { headers: { range: 'bytes=1000-1999' } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get('x-larder-cache'), 'BYPASS');
  assert.equal(ranged.body.length, 1000);
  assert.equal(upstream.hits(big.urlPath), 4, 'each pass-through is its own upstream fetch');
  assert.deepEqual(await admin.entries(`:tgz:${big.name}/`), [], 'a pass-through is never indexed');
  assert.ok(((await metric(d.url, 'larder_storage_full_total')) ?? 0) >= 3, 'counted');
  assert.ok(
    (await admin.ok<Array<{ kind: string; message: string }>>('GET', '/activity?kind=error')).some((a) => /disk full/.test(a.message)),
    'logged',
  );

  // Completely full now (ENOSPC for anyone): hits still served, new misses streamed through.
  await fill(filler, 0);
  assert.ok((await free()) < 64 * 1024, `the disk is full (${await free()} bytes free)`);
  for (const t of cached) {
    const r = await get(tarballUrl(d, t));
    assert.equal(r.headers.get('x-larder-cache'), 'HIT');
    assert.equal(sri512(r.body), t.integrity);
  }
  const fresh = small[3]!;
  const doc = await get(`${d.url}/npm/${fresh.name.replace('/', '%2f')}`);
  assert.equal(doc.status, 200);
  assert.equal(doc.headers.get('x-larder-cache'), 'BYPASS', 'a packument answered from memory');
  assert.ok(Object.hasOwn((JSON.parse(doc.body.toString()) as { versions: object }).versions, fresh.version));
  const tgz = await get(tarballUrl(d, fresh));
  assert.equal(tgz.headers.get('x-larder-cache'), 'BYPASS');
  assert.equal(sri512(tgz.body), fresh.integrity);
  const stats = await admin.stats();
  assert.equal(stats.storage.entries, 2 * cached.length + 1, 'nothing new was indexed');
  // Writing the admin tables is impossible: a clear 507, not a crash.
  const pin = await admin.call<{ error: { code: string; message: string } }>('POST', '/pins', {
    ref: `npm:${fresh.name}@${fresh.version}`,
  });
  assert.equal(pin.status, 507);
  assert.equal(pin.body.error.code, 'E_STORAGE_FULL');
  assert.match(pin.body.error.message, /disk is full/);

  // Restart on the still-full disk: nothing to repair, every entry served.
  await stop(d);
  d = await start();
  assert.deepEqual(d.recovery, { tempSwept: 0, entriesDropped: 0, blobRowsDropped: 0, strayBlobsDeleted: 0 });
  const again = adminClient(d.url, await adminToken(d.dataDir));
  assert.equal((await again.stats()).storage.entries, stats.storage.entries);
  upstream.resetHits();
  for (const t of cached) {
    const r = await get(tarballUrl(d, t));
    assert.equal(r.headers.get('x-larder-cache'), 'HIT');
    assert.equal(sri512(r.body), t.integrity);
  }
  assert.equal((await get(`${d.url}/npm/${big.name}`)).headers.get('x-larder-cache'), 'HIT');
  assert.equal(upstream.totalHits(), 0);

  // Space is back: misses are stored again.
  await unlink(filler);
  const stored = await get(tarballUrl(d, big));
  assert.equal(stored.headers.get('x-larder-cache'), 'MISS');
  assert.equal(sri512(stored.body), big.integrity);
  await waitFor(async () => (await get(tarballUrl(d, big))).headers.get('x-larder-cache') === 'HIT', 5_000, 'the big tarball to be a HIT');
  // The index count is read from the committed index, whose write may land a moment after the first HIT.
  await waitFor(
    async () => ((await again.stats()) as Stats).storage.entries > stats.storage.entries,
    10_000,
    'the stored tarball counted in the index',
  );
});
