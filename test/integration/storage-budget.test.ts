/**
 * The storage budget holds between the periodic checks, with the real
 * daemon and the npm fixture:
 * - a burst of misses well past `maxSize` leaves the blob files at or under
 *   the high watermark once its fills have committed (the periodic check is
 *   set to an hour: only the commits can have started eviction), and the
 *   pinned closure stays;
 * - a disk that runs out of space below `maxSize` (a small tmpfs, mounted
 *   by the test; needs root) evicts unpinned blobs and stores the new
 *   artifact, instead of streaming it through unstored.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, open, readFile, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Pin } from '../../daemon/admin/contract.js';
import { adminClient, adminToken, blobBytes, blobPath, metric, type AdminClient } from '../helpers/admin-e2e.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { get, setupFixture, sha256hex, sri512, tempFiles } from '../helpers/npm-e2e.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;

before(async () => {
  ({ root, fixture } = await setupFixture('larder-budget-'));
  upstream = await startNpmUpstream(fixture);
});

after(async () => {
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const small = (): FixtureTarball[] => fixture.packages.filter((p) => p.name !== fixture.bigPackage).flatMap((p) => p.tarballs);

/** Pins a small package with no dependencies; returns its pinned entries (key, digest). */
async function pinOne(admin: AdminClient): Promise<{ name: string; pinned: Array<{ key: string; digest: string }> }> {
  const p = fixture.packages.find(
    (x) => x.name !== fixture.bigPackage && !upstream.packument(x.name)!.versions[x.distTags.latest!]!.dependencies,
  )!;
  const pin = (await admin.call<Pin>('POST', '/pins', { ref: `npm:${p.name}@${p.distTags.latest}` })).body;
  assert.equal(pin.status, 'ok', JSON.stringify(pin));
  // The tarball is committed before the pin is answered; the packument's entry is written just behind
  // its answer (documents are held in memory until then), so a busy machine may index it a moment later.
  const pinnedEntries = async () => (await admin.entries()).filter((e) => e.pinned).map((e) => ({ key: e.key, digest: e.digest }));
  const pinned = await waitFor(
    async () => {
      const now = await pinnedEntries();
      return now.length >= 2 && now;
    },
    10_000,
    'the packument and the tarball indexed as pinned',
  );
  return { name: p.name, pinned };
}

/**
 * Every tarball of `ts` has committed: its blob is indexed, or was evicted
 * (audit log). Small fills commit behind the answer, so answers alone say nothing.
 */
async function committed(admin: AdminClient, ts: FixtureTarball[]): Promise<boolean> {
  const present = new Set((await admin.entries()).map((e) => e.digest));
  const evicted = new Set((await admin.audit()).filter((a) => a.action === 'delete' && a.reason === 'evict').map((a) => a.target));
  for (const t of ts) {
    const d = `sha256:${sha256hex(await readFile(t.file))}`;
    if (!present.has(d) && !evicted.has(d)) return false;
  }
  return true;
}

test('a burst of misses well past maxSize ends at or under the high watermark, pinned blobs kept', async () => {
  const MAX = 100_000;
  const HIGH = 0.8;
  const d = await startTestDaemon({
    remotes: { local: { type: 'npm', url: upstream.url } },
    storage: { maxSize: MAX, highWatermark: HIGH, lowWatermark: 0.5, checkInterval: '1h' },
  });
  try {
    const admin = adminClient(d.url, await adminToken(d.dataDir));
    const { name, pinned } = await pinOne(admin);
    const burst = small().filter((t) => t.name !== name);
    assert.ok(burst.reduce((n, t) => n + t.size, 0) > 2 * MAX, 'the burst is well past maxSize');
    for (let i = 0; i < burst.length; i += 32) {
      await Promise.all(
        burst.slice(i, i + 32).map(async (t) => {
          const r = await get(`${d.url}/npm${t.urlPath}`);
          assert.equal(r.status, 200);
          assert.equal(sri512(r.body), t.integrity);
        }),
      );
    }
    await waitFor(() => committed(admin, burst), 20_000, 'every fill of the burst to commit');
    // Once nothing moves, the index's running total (the stats cache it for a few seconds) matches the files.
    const used = await waitFor(
      async () => {
        // A file evicted between listing and stat makes the sum fail: look again.
        const files = await blobBytes(d.dataDir).catch(() => undefined);
        const total = (await admin.stats()).storage.usedBytes;
        return files === total && files <= MAX * HIGH && (await tempFiles(d.dataDir)).length === 0 ? files : undefined;
      },
      20_000,
      'usage on disk to come under the high watermark',
    );
    assert.ok(used <= MAX * HIGH, `${used} bytes of blobs on disk, high watermark ${MAX * HIGH}`);
    assert.ok(((await metric(d.url, 'larder_evictions_total')) ?? 0) > 0, 'evicted');
    for (const e of pinned) assert.ok(await stat(blobPath(d.dataDir, e.digest)), `pinned ${e.key} kept`);
    const keys = new Set((await admin.entries()).map((e) => e.key));
    for (const e of pinned) assert.ok(keys.has(e.key), `pinned entry ${e.key} kept`);
  } finally {
    await d.close();
  }
});

/** Fills the disk with one file until `leave` bytes are free. */
async function fillDisk(disk: string, file: string, leave: number): Promise<void> {
  const h = await open(file, 'a');
  try {
    const chunk = Buffer.alloc(64 * 1024, 1);
    const s = await statfs(disk);
    for (let room = s.bavail * s.bsize - leave; room > 0; room -= chunk.length) await h.write(chunk, 0, Math.min(chunk.length, room));
  } finally {
    await h.close();
  }
}

test('a disk filling up below maxSize evicts unpinned blobs and stores the new artifact', async () => {
  const disk = join(root, 'disk');
  await mkdir(disk);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', disk]);
  let d: TestDaemon | undefined;
  try {
    const MIN_FREE = 1024 * 1024;
    d = await startTestDaemon(
      { remotes: { local: { type: 'npm', url: upstream.url } }, storage: { minFree: MIN_FREE, checkInterval: '1h' } },
      { dataDir: join(disk, 'data') },
    );
    const daemon = d;
    const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
    const { name, pinned } = await pinOne(admin);
    const tarballs = small().filter((t) => t.name !== name);
    const cached = tarballs.slice(0, 60);
    for (const t of cached) assert.equal((await get(`${daemon.url}/npm${t.urlPath}`)).status, 200);
    await waitFor(() => committed(admin, cached), 10_000, 'the fills to commit');
    const before = (await admin.entries()).length;

    // Below the reserve: without eviction, the next miss could only be streamed through.
    await fillDisk(disk, join(disk, 'filler'), MIN_FREE - 128 * 1024);
    const fresh = tarballs.at(-1)!;
    const r = await get(`${daemon.url}/npm${fresh.urlPath}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'MISS', 'stored, not passed through (BYPASS)');
    assert.equal(sri512(r.body), fresh.integrity);
    await waitFor(
      async () => (await get(`${daemon.url}/npm${fresh.urlPath}`)).headers.get('x-larder-cache') === 'HIT',
      10_000,
      'the new tarball to be a HIT',
    );
    assert.equal(await metric(daemon.url, 'larder_storage_full_total'), 0, 'nothing was refused or streamed through');
    assert.ok(((await metric(daemon.url, 'larder_evictions_total')) ?? 0) > 0, 'unpinned blobs were evicted');
    const keys = new Set((await admin.entries()).map((e) => e.key));
    assert.ok(keys.size < before, `${keys.size} entries, ${before} before`);
    for (const e of pinned) {
      assert.ok(keys.has(e.key), `pinned entry ${e.key} kept`);
      assert.ok(await stat(blobPath(daemon.dataDir, e.digest)), `pinned blob of ${e.key} kept`);
    }
  } finally {
    await d?.close({ keepData: true }).catch(() => undefined);
    await run('umount', [disk]);
  }
});
