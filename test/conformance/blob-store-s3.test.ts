/**
 * The BlobStore conformance suite, and what only the S3 tier has to
 * promise, against a real Ceph RADOS Gateway (one cluster per file; a fresh
 * bucket per case).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../../daemon/storage/s3-blob-store.js';
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

async function makeStore(bucket = `larder-${randomBytes(6).toString('hex')}`): Promise<{ store: S3BlobStore; close(): Promise<void> }> {
  const spoolDir = await tempDir('larder-s3-spool-');
  const settings = { endpoint: ceph.endpoint, bucket, region: 'us-east-1', accessKey: ceph.accessKey, secretKey: ceph.secretKey };
  const store = new S3BlobStore(settings, { spoolDir, partSize: 5 * MiB });
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
