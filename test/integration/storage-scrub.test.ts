/**
 * Bit-rot with the real daemon: bytes of several committed blobs are
 * overwritten on disk; `POST /scrub {"now":true}` finds every one, moves it
 * to quarantine, drops what needed it (audited), re-fetches what was
 * recently used, and the damaged bytes are never served again.
 */
import assert from 'node:assert/strict';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ScrubStatus } from '../../daemon/admin/contract.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { blobsOnDisk, get, setupFixture, sha256hex, sri512 } from '../helpers/npm-e2e.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { adminClient, adminToken, blobPath, metric, type AdminClient } from '../helpers/admin-e2e.js';
import { waitFor } from '../helpers/wait.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let daemon: TestDaemon;
let admin: AdminClient;

before(async () => {
  ({ root, fixture } = await setupFixture('larder-scrub-'));
  upstream = await startNpmUpstream(fixture);
  // A small hot cache: damaged blobs are read from disk, as after a restart.
  daemon = await startTestDaemon({ remotes: { local: { type: 'npm', url: upstream.url } }, storage: { memoryCache: '8KB' } });
  admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
});

after(async () => {
  await daemon?.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Overwrites `n` bytes in the middle of a file, keeping its length. */
async function rot(file: string, n = 16): Promise<void> {
  const h = await open(file, 'r+');
  try {
    const { size } = await h.stat();
    await h.write(Buffer.alloc(n, 0x5a), 0, n, Math.floor(size / 2));
  } finally {
    await h.close();
  }
}

test('scrub finds every rotten blob, quarantines it, repairs what was used, and never serves it again', async () => {
  const tarballs: FixtureTarball[] = fixture.packages
    .filter((p) => p.name !== fixture.bigPackage)
    .slice(0, 6)
    .map((p) => p.tarballs[0]!);
  for (const t of tarballs) {
    const r = await get(`${daemon.url}/npm${t.urlPath}`);
    assert.equal(sri512(r.body), t.integrity);
  }
  const keyOf = (t: FixtureTarball) => `npm:local:tgz:${t.name}/${t.urlPath.split('/').pop()}`;
  await waitFor(async () => (await admin.entries(':tgz:')).length === tarballs.length, 5_000, 'the fills to commit');

  // Rot three tarballs and one packument (its raw upstream document).
  const rotten = tarballs.slice(0, 3);
  const rottenDigests = await Promise.all(rotten.map(async (t) => `sha256:${sha256hex(await readFile(t.file))}`));
  const doc = (await admin.entries(`npm:local:doc:${tarballs[5]!.name}`))[0]!;
  for (const d of [...rottenDigests, doc.digest]) await rot(blobPath(daemon.dataDir, d));
  upstream.resetHits();

  const blobCount = (await blobsOnDisk(daemon.dataDir)).size;
  const status = await admin.ok<ScrubStatus>('POST', '/scrub', { now: true });
  assert.equal(status.running, false);
  assert.equal(status.checked, blobCount, 'every blob was checked');
  assert.equal(status.corrupt, 4);
  assert.equal(status.repaired, 3, 'the recently used tarballs were fetched again');
  for (const t of rotten) assert.equal(upstream.hits(t.urlPath), 1, `${t.urlPath} re-fetched once`);

  // Quarantined, never served again: the repaired tarballs are the right bytes, the packument is fetched anew.
  const quarantined = await readdir(join(daemon.dataDir, 'quarantine'));
  assert.equal(quarantined.length, 4);
  for (const d of [...rottenDigests, doc.digest])
    assert.ok(
      quarantined.some((q) => q.startsWith(`${d.slice(7)}-`)),
      `${d} quarantined`,
    );
  for (const t of tarballs) {
    const r = await get(`${daemon.url}/npm${t.urlPath}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'HIT', `${t.urlPath} served from the cache`);
    assert.equal(sri512(r.body), t.integrity, `${t.urlPath} has the right bytes`);
  }
  const packument = await get(`${daemon.url}/npm/${tarballs[5]!.name.replace('/', '%2f')}`);
  assert.equal(packument.headers.get('x-larder-cache'), 'MISS');
  assert.equal((JSON.parse(packument.body.toString()) as { name: string }).name, tarballs[5]!.name);
  assert.ok((await admin.entries(keyOf(rotten[0]!))).length === 1);

  // Counted and visible, and every deletion is in the audit log.
  const after = await admin.stats();
  assert.equal(after.scrub.corrupt, 4);
  assert.equal(await metric(daemon.url, 'larder_scrub_corrupt_total'), 4);
  const audit = await admin.audit();
  for (const d of [...rottenDigests, doc.digest]) {
    assert.ok(
      audit.some((a) => a.action === 'delete' && a.target === d && /^scrub/.test(a.reason ?? '')),
      `audit has the deletion of ${d}`,
    );
  }
  assert.ok(audit.some((a) => a.action === 'scrub'));

  // A second pass finds nothing wrong (once the refetched packument's bodies, written after it was answered, are on disk).
  await waitFor(
    async () => (await admin.entries(`npm:local:doc:${tarballs[5]!.name}`)).length === 1,
    5_000,
    'the refetched packument to be indexed',
  );
  const again = await admin.ok<ScrubStatus>('POST', '/scrub', { now: true });
  assert.equal(again.corrupt, 0);
  assert.equal(again.checked, (await blobsOnDisk(daemon.dataDir)).size);
});
