/**
 * Start-up with debris from a crash, with the real daemon: temp files are
 * swept before it answers; orphan blob files (no index row, written before
 * the start) are found by the background scan and deleted, reported in the
 * recovery report once it is done; every indexed blob stays.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { blobPath } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir } from '../helpers/daemon.js';
import { blobsOnDisk, get } from '../helpers/npm-e2e.js';
import { LmdbIndex } from '../../daemon/storage/lmdb-index.js';
import { DataPaths } from '../../daemon/storage/paths.js';

const ENTRIES = 2000;
const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Writes `n` indexed npm tarball entries the way a fill leaves them (file first, then the index). */
async function fillIndexed(paths: DataPaths, n: number): Promise<string[]> {
  const index = new LmdbIndex(paths.indexDir);
  const digests: string[] = [];
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, async (_, k) => {
        const body = randomBytes(64 + ((i + k) % 100));
        const digest = digestOf(body);
        digests.push(digest);
        await mkdir(paths.blob(digest).dir, { recursive: true });
        await writeFile(paths.blob(digest).file, body);
        const at = Date.now();
        const key = `npm:local:tgz:p${i + k}/p${i + k}-1.0.0.tgz`;
        const entry = {
          key,
          digest,
          size: body.length,
          fetchedAt: at,
          expiresAt: 8.64e15,
          immutable: true,
          meta: { protocol: 'npm', name: `p${i + k}`, file: `p${i + k}-1.0.0.tgz`, remote: 'local' },
        };
        await index.putEntry(entry, [[digest, { size: body.length, createdAt: at, lastAccess: at }]]);
      }),
    );
  }
  await index.close();
  return digests;
}

test('temp files are swept at start; orphan blob files are found in the background and reported', async () => {
  const dataDir = await tempDir('larder-recovery-');
  const paths = new DataPaths(dataDir);
  const indexed = await fillIndexed(paths, ENTRIES);
  // A crash between rename and index leaves blob files no row names; one mid-fill leaves temp files.
  const orphans: string[] = [];
  const anHourAgo = new Date(Date.now() - 3600_000);
  for (let i = 0; i < 3; i++) {
    const body = randomBytes(100);
    const d = digestOf(body);
    await mkdir(paths.blob(d).dir, { recursive: true });
    await writeFile(paths.blob(d).file, body);
    await utimes(paths.blob(d).file, anHourAgo, anHourAgo);
    orphans.push(d);
  }
  await mkdir(paths.tmpDir, { recursive: true });
  await writeFile(join(paths.tmpDir, 'lm0-deadbeef'), randomBytes(10));
  await writeFile(join(paths.tmpDir, 'lm1-deadbeef'), randomBytes(10));

  const d = await startTestDaemon({ remotes: { local: { type: 'npm', url: 'http://127.0.0.1:9' } } }, { dataDir });
  try {
    assert.equal(d.recovery.tempSwept, 2, 'swept before the daemon answers');
    assert.deepEqual(await readdir(paths.tmpDir), []);
    // The scan waits for its first turn of the event loop: it has not deleted anything yet.
    assert.equal(d.recovery.strayBlobsDeleted, 0);
    const hit = await get(`${d.url}/npm/p0/-/p0-1.0.0.tgz`);
    assert.equal(hit.headers.get('x-larder-cache'), 'HIT', 'answers while the scan runs');

    const report = await d.recovered;
    assert.deepEqual(report, { tempSwept: 2, entriesDropped: 0, blobRowsDropped: 0, strayBlobsDeleted: 3 });
    const onDisk = await blobsOnDisk(dataDir);
    for (const o of orphans) assert.ok(!onDisk.has(o.slice(7)), `orphan ${o} deleted`);
    assert.equal(onDisk.size, ENTRIES, 'every indexed blob kept');
    for (const digest of indexed.slice(0, 20)) assert.ok(onDisk.has(digest.slice(7)), blobPath(dataDir, digest));
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    assert.match(metrics, /^larder_evictions_total\{reason="orphan"\} 3$/m);
  } finally {
    await d.close();
  }
});
