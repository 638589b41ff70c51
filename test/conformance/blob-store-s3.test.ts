/**
 * The BlobStore conformance suite, and what only the S3 tier has to
 * promise, against a real Ceph RADOS Gateway (one cluster per file; a fresh
 * bucket per case).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { FsBlobStore } from '../../daemon/storage/fs-blob-store.js';
import { DataPaths } from '../../daemon/storage/paths.js';
import { S3BlobStore } from '../../daemon/storage/s3-blob-store.js';
import type { CopyLimits } from '../../daemon/storage/s3-copy.js';
import { TieredBlobStore } from '../../daemon/storage/tiered-blob-store.js';
import { startCephRgw, type CephRgw } from '../helpers/ceph.js';
import { tempDir } from '../helpers/daemon.js';
import { blobStoreSuite } from './blob-store.suite.js';

const MiB = 1024 * 1024;
const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let ceph: CephRgw;
before(async () => {
  ceph = await startCephRgw();
  console.log(`# Ceph + RGW started in ${ceph.startMs} ms`);
});
after(() => ceph?.stop());

async function makeStore(
  bucket = `larder-${randomBytes(6).toString('hex')}`,
  copyLimits?: CopyLimits,
  id?: string,
): Promise<{ store: S3BlobStore; close(): Promise<void> }> {
  const spoolDir = await tempDir('larder-s3-spool-');
  const settings = { endpoint: ceph.endpoint, bucket, region: 'us-east-1', accessKey: ceph.accessKey, secretKey: ceph.secretKey };
  const store = new S3BlobStore(settings, { spoolDir, partSize: 5 * MiB, copyLimits, id });
  await store.init();
  return {
    store,
    close: async () => {
      store.close();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

/** Every key in the bucket, and the multipart uploads still open. */
async function bucketState(store: S3BlobStore): Promise<{ keys: string[]; uploads: number }> {
  const objs = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket }));
  const ups = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
  return { keys: (objs.Contents ?? []).map((o) => o.Key ?? '').sort(), uploads: (ups.Uploads ?? []).length };
}

blobStoreSuite('S3BlobStore on Ceph RGW', () => makeStore());

describe('S3BlobStore: visibility only after verification', () => {
  test('a large blob goes up in parts, is invisible until commit, and reads back whole and in ranges', async () => {
    const { store, close } = await makeStore();
    try {
      const a = randomBytes(12 * MiB + 123);
      const temp = await store.createTemp();
      for (let i = 0; i < a.length; i += MiB) await temp.write(a.subarray(i, i + MiB));
      assert.equal(await store.stat(digestOf(a)), undefined, 'not visible before commit');
      assert.deepEqual((await bucketState(store)).keys, [], 'parts are not objects');
      await temp.commit(digestOf(a));
      await temp.release();
      assert.equal(await store.stat(digestOf(a)), a.length);
      assert.ok((await store.readAll(digestOf(a))).equals(a));
      const parts: Buffer[] = [];
      for await (const c of store.createReadStream(digestOf(a), { start: 5 * MiB - 10, end: 5 * MiB + 9 })) parts.push(c as Buffer);
      assert.deepEqual(Buffer.concat(parts), a.subarray(5 * MiB - 10, 5 * MiB + 10));
      assert.deepEqual(await bucketState(store), { keys: [`blobs/sha256/${digestOf(a).slice(7)}`], uploads: 0 }, 'no temporary left');
    } finally {
      await close();
    }
  });

  test('a digest mismatch (small or multipart) is refused and leaves nothing in the bucket', async () => {
    const { store, close } = await makeStore();
    try {
      for (const size of [1000, 7 * MiB]) {
        const a = randomBytes(size);
        const wrong = digestOf(Buffer.concat([a, Buffer.from('x')]));
        const temp = await store.createTemp();
        await temp.write(a);
        await assert.rejects(temp.commit(wrong), (err: { code?: string }) => err.code === 'E_INTEGRITY');
        await temp.release();
        assert.equal(await store.stat(wrong), undefined);
      }
      assert.deepEqual(await bucketState(store), { keys: [], uploads: 0 });
    } finally {
      await close();
    }
  });

  test('a writer that stops mid-stream (abort after a part went up) leaves no object and no open upload', async () => {
    const { store, close } = await makeStore();
    try {
      const temp = await store.createTemp();
      await temp.write(randomBytes(6 * MiB));
      assert.equal((await bucketState(store)).uploads, 1, 'a part is on its way');
      await temp.abort();
      await temp.release();
      assert.deepEqual(await bucketState(store), { keys: [], uploads: 0 });
    } finally {
      await close();
    }
  });

  test('a writer that vanished without aborting: sweepTemp aborts its upload', async () => {
    const { store, close } = await makeStore();
    try {
      const temp = await store.createTemp();
      await temp.write(randomBytes(6 * MiB));
      await temp.release();
      assert.equal(await store.sweepTemp(), 1);
      assert.deepEqual(await bucketState(store), { keys: [], uploads: 0 });
    } finally {
      await close();
    }
  });

  test('concurrent multipart commits of one digest by two nodes leave one complete blob, seen by both', async () => {
    const bucket = `larder-${randomBytes(6).toString('hex')}`;
    const [n1, n2] = [await makeStore(bucket), await makeStore(bucket)];
    try {
      const a = randomBytes(11 * MiB);
      const temps = [await n1.store.createTemp(), await n2.store.createTemp(), await n1.store.createTemp()];
      await Promise.all(temps.map((t) => t.write(a)));
      await Promise.all(temps.map((t) => t.commit(digestOf(a))));
      await Promise.all(temps.map((t) => t.release()));
      assert.ok((await n2.store.readAll(digestOf(a))).equals(a));
      assert.ok((await n1.store.readAll(digestOf(a))).equals(a));
      assert.deepEqual(await bucketState(n1.store), { keys: [`blobs/sha256/${digestOf(a).slice(7)}`], uploads: 0 });
    } finally {
      await n1.close();
      await n2.close();
    }
  });
});

test('a blob above the single-copy limit is copied into place in ranges (multipart copy)', async () => {
  const { store, close } = await makeStore(undefined, { single: 5 * MiB, part: 5 * MiB });
  try {
    const a = randomBytes(12 * MiB + 5);
    const temp = await store.createTemp();
    await temp.write(a);
    await temp.commit(digestOf(a));
    await temp.release();
    assert.ok((await store.readAll(digestOf(a))).equals(a));
    assert.deepEqual(await bucketState(store), { keys: [`blobs/sha256/${digestOf(a).slice(7)}`], uploads: 0 });
  } finally {
    await close();
  }
});

describe('TieredBlobStore: a local disk tier in front of S3', () => {
  async function node(bucket: string): Promise<{ store: TieredBlobStore; local: FsBlobStore; close(): Promise<void> }> {
    const s3 = await makeStore(bucket);
    const dir = await tempDir('larder-tier-');
    const local = new FsBlobStore(new DataPaths(dir));
    await local.init();
    return {
      store: new TieredBlobStore(local, s3.store),
      local,
      close: async () => {
        await s3.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  test('a commit on one node is read on another: fetched from S3 once for concurrent readers, then local', async () => {
    const bucket = `larder-${randomBytes(6).toString('hex')}`;
    const [n1, n2] = [await node(bucket), await node(bucket)];
    try {
      const a = randomBytes(6 * MiB);
      const temp = await n1.store.createTemp();
      await temp.write(a);
      await temp.commit(digestOf(a));
      await temp.release();
      assert.equal(await n2.local.stat(digestOf(a)), undefined);
      assert.equal(await n2.store.stat(digestOf(a)), a.length, 'known through S3');
      let fetches = 0;
      const get = n2.store.remote.createReadStream.bind(n2.store.remote);
      n2.store.remote.createReadStream = (d, r) => {
        fetches++;
        return get(d, r);
      };
      const reads = await Promise.all([n2.store.readAll(digestOf(a)), n2.store.readAll(digestOf(a)), n2.store.readAll(digestOf(a))]);
      for (const r of reads) assert.ok(r.equals(a));
      assert.equal(fetches, 1, 'one fetch from S3 for three readers');
      assert.equal(await n2.local.stat(digestOf(a)), a.length, 'the local tier was filled');
    } finally {
      await n1.close();
      await n2.close();
    }
  });

  test('an S3 object whose bytes do not match its name is not served and not kept locally', async () => {
    const n = await node(`larder-${randomBytes(6).toString('hex')}`);
    try {
      const a = randomBytes(1000);
      const d = digestOf(a);
      const Key = `blobs/sha256/${d.slice(7)}`;
      await n.store.remote.client.send(new PutObjectCommand({ Bucket: n.store.remote.bucket, Key, Body: randomBytes(1000) }));
      await assert.rejects(n.store.readAll(d), (err: { code?: string }) => err.code === 'E_INTEGRITY');
      assert.equal(await n.local.stat(d), undefined);
      assert.equal(await n.store.sweepTemp(), 0, 'the refused fill left no temp file');
    } finally {
      await n.close();
    }
  });
});

test("a node's next run sweeps the upload its previous run left; another node's sweep leaves it alone", async () => {
  const bucket = `larder-${randomBytes(6).toString('hex')}`;
  const crashed = await makeStore(bucket, undefined, 'node1');
  const other = await makeStore(bucket, undefined, 'node2');
  const next = await makeStore(bucket, undefined, 'node1');
  try {
    const temp = await crashed.store.createTemp();
    await temp.write(randomBytes(6 * MiB));
    await temp.release(); // the process dies here: no commit, no abort
    await other.store.sweepTemp();
    assert.equal((await bucketState(other.store)).uploads, 1, "another node's sweep keeps it");
    await next.store.sweepTemp();
    assert.deepEqual(await bucketState(next.store), { keys: [], uploads: 0 });
  } finally {
    await crashed.close();
    await other.close();
    await next.close();
  }
});
