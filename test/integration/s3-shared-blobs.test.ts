/**
 * A daemon configured with `storage.s3` on a real Ceph RADOS Gateway: a cold
 * fetch lands, verified, in the shared bucket; with its local disk tier lost
 * and the upstream down, the daemon serves the artifact again from S3 (and
 * refills its disk). A second daemon with an empty data dir cannot serve
 * it yet: it has no index entry until the shared index (a later part of
 * issue 18) exists, so that case is not asserted here.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { S3BlobStore } from '../../daemon/storage/s3-blob-store.js';
import { DataPaths } from '../../daemon/storage/paths.js';
import { startCephRgw, type CephRgw } from '../helpers/ceph.js';
import { startTestDaemon, tempDir } from '../helpers/daemon.js';
import { raw } from '../helpers/files-fixture/client.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let ceph: CephRgw;
let up: StaticUpstream;
let dir: string;
const big = randomBytes(12 * 1024 * 1024 + 17); // above the 8 MiB part size: a multipart upload
const bucket = `larder-${randomBytes(4).toString('hex')}`;

before(async () => {
  ceph = await startCephRgw();
  dir = await tempDir('larder-s3-int-');
  await mkdir(join(dir, 'root', 'f'), { recursive: true });
  await writeFile(join(dir, 'root', 'f', 'big.bin'), big);
  up = await startStaticUpstream(join(dir, 'root'));
  up.headers = () => ({ 'cache-control': 'max-age=3600' }); // fresh for the whole test: a hit asks no one
});

after(async () => {
  await up?.stop();
  await ceph?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const config = () => ({
  storage: {
    s3: { endpoint: ceph.endpoint, bucket, region: 'us-east-1', accessKey: ceph.accessKey, secretKey: ceph.secretKey },
  },
  remotes: { web: { type: 'http' as const, url: `${up.url}/f/`, layout: 'plain' as const, ttl: '1h' } },
});

async function localBlobs(dataDir: string): Promise<number> {
  const blobsDir = new DataPaths(dataDir).blobsDir;
  let n = 0;
  for (const p of await readdir(blobsDir).catch(() => [] as string[])) n += (await readdir(join(blobsDir, p))).length;
  return n;
}

test('a cold fetch is stored in the bucket; with the disk tier lost and the upstream down it is served from S3', async () => {
  const dataDir = join(dir, 'node1');
  const d1 = await startTestDaemon(config(), { dataDir });
  const cold = await raw(d1.url, '/files/web/big.bin');
  assert.equal(cold.status, 200);
  assert.ok(cold.body.equals(big), 'cold bytes are right');
  await d1.close({ keepData: true });

  const s3 = new S3BlobStore(config().storage.s3, { spoolDir: join(dir, 'probe-spool') });
  assert.equal(await s3.stat(digestOf(big)), big.length, 'the verified blob is in the shared bucket');
  const keys: string[] = [];
  for await (const k of s3.list()) keys.push(k);
  assert.deepEqual(keys, [digestOf(big)], 'one blob, no temporaries under blobs/');
  s3.close();

  await rm(new DataPaths(dataDir).blobsDir, { recursive: true, force: true });
  up.down = 503;
  const hitsBefore = up.hits.get('/f/big.bin');
  const d2 = await startTestDaemon(config(), { dataDir });
  try {
    const warm = await raw(d2.url, '/files/web/big.bin');
    assert.equal(warm.status, 200);
    assert.ok(warm.body.equals(big), 'served from S3 with the right bytes');
    const part = await raw(d2.url, '/files/web/big.bin', { range: 'bytes=8388600-8388615' });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(big.subarray(8388600, 8388616)));
    assert.equal(up.hits.get('/f/big.bin'), hitsBefore, 'the upstream was not asked');
    assert.equal(await localBlobs(dataDir), 1, 'the disk tier was refilled on read');
  } finally {
    await d2.close();
    up.down = undefined;
  }
});
