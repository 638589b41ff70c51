/**
 * The cluster's pin set and S3-tier eviction on real engines (one Ceph RGW
 * bucket, one etcd, three daemons): a pin made on one node is in every
 * node's pin list and is honoured by the eviction the elected node decides
 * (started first, so it leads); over the S3 budget, an unpinned blob is
 * removed with its shared entry, so a node with an empty disk fetches it
 * from the upstream again, while the pinned one is still served from the
 * shared tier. Only the leader deletes from S3; the admin API lists the
 * three nodes with one leader; with etcd down nobody evicts S3.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ClusterReport, Pin } from '../../daemon/admin/contract.js';
import { makeS3Client } from '../../daemon/storage/s3-client.js';
import { S3EntryStore } from '../../daemon/storage/s3-entries.js';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { startCephRgw, type CephRgw } from '../helpers/ceph.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { metric } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';

const MB = 1_000_000;
const files = { pinned: randomBytes(MB), a: randomBytes(MB), b: randomBytes(MB), c: randomBytes(MB) };
const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const bucket = `larder-${randomBytes(4).toString('hex')}`;
const cluster = `p${randomBytes(3).toString('hex')}`;

let ceph: CephRgw;
let etcd: EtcdServer;
let up: StaticUpstream;
let dir: string;
let s3: S3Client;
/** leader (started first), then two members. */
let nodes: TestDaemon[] = [];

/** S3 budget 3 MB: over 2.7 MB (high) a pass brings it under 2.25 MB (low), one 1 MB blob at a time. */
const config = () => ({
  storage: {
    s3: {
      endpoint: ceph.endpoint,
      bucket,
      region: 'us-east-1',
      accessKey: ceph.accessKey,
      secretKey: ceph.secretKey,
      maxSize: 3 * MB,
      evictionGrace: '0s',
    },
    highWatermark: 0.9,
    lowWatermark: 0.75,
    checkInterval: '300ms',
  },
  cluster: { etcd: [etcd.url], name: cluster, leaseTtl: '10s' },
  remotes: { web: { type: 'http' as const, url: `${up.url}/f/`, layout: 'plain' as const, ttl: '1h' } },
});

async function inS3(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}
const blobKey = (b: Buffer): string => `blobs/sha256/${hex(b)}`;
const entryKey = (name: string): string => new S3EntryStore(s3, bucket).keyOf(`files:web:${name}.bin`);

async function pull(url: string, name: keyof typeof files): Promise<void> {
  const res = await fetch(`${url}/files/web/${name}.bin`);
  assert.equal(res.status, 200, `${name} from ${url}`);
  assert.equal(hex(Buffer.from(await res.arrayBuffer())), hex(files[name]), `${name}: correct bytes`);
}

const admin = async (n: TestDaemon) => adminClient(n.url, await adminToken(n.dataDir));
const evicted = (n: TestDaemon): Promise<number> => metric(n.url, 'larder_s3_evicted_total');

before(async () => {
  [ceph, etcd] = await Promise.all([startCephRgw(), startEtcd()]);
  dir = await tempDir('larder-cluster-pins-');
  await mkdir(join(dir, 'root', 'f'), { recursive: true });
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, 'root', 'f', `${name}.bin`), body);
  up = await startStaticUpstream(join(dir, 'root'));
  up.headers = () => ({ 'cache-control': 'max-age=3600' });
  s3 = makeS3Client(config().storage.s3);
  const leader = await startTestDaemon(config());
  const la = await admin(leader);
  await waitFor(async () => (await la.ok<ClusterReport>('GET', '/cluster')).role === 'leader', 20_000, 'the first node to be elected');
  nodes = [leader, await startTestDaemon(config()), await startTestDaemon(config())];
});

after(async () => {
  s3?.destroy();
  await Promise.all(nodes.map((n) => n.close()));
  await up?.stop();
  await Promise.all([etcd?.stop(), ceph?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the admin API lists the three nodes with one leader; /metrics shows the roles', async () => {
  const [leader, m1, m2] = nodes as [TestDaemon, TestDaemon, TestDaemon];
  const report = await waitFor(
    async () => {
      const r = await (await admin(m1)).ok<ClusterReport>('GET', '/cluster');
      return r.nodes.length === 3 && r;
    },
    15_000,
    'three registered nodes',
  );
  const leaders = report.nodes.filter((n) => n.role === 'leader');
  assert.equal(leaders.length, 1, JSON.stringify(report.nodes));
  assert.equal(leaders[0]!.url, leader.url, 'the node started first leads');
  assert.deepEqual(report.nodes.map((n) => n.url).sort(), nodes.map((n) => n.url).sort());
  assert.ok(report.nodes.every((n) => n.etcd && n.s3));
  assert.equal(report.role, 'member');
  assert.equal(report.nodes.find((n) => n.self)?.url, m1.url);
  assert.equal(await metric(leader.url, 'larder_cluster_role', 'role="leader"'), 1);
  for (const n of [m1, m2]) assert.equal(await metric(n.url, 'larder_cluster_role', 'role="member"'), 1);
  const la = await admin(leader);
  const stats = await waitFor(
    async () => {
      const st = await la.stats();
      return st.cluster?.nodes === 3 && st;
    },
    10_000,
    'the /stats cluster line to count three nodes',
  );
  assert.equal(stats.cluster?.role, 'leader');
  assert.equal(stats.cluster?.etcdUp, true);
});

test('a pin made on one node is honoured by the S3 eviction another node decides', async () => {
  const [leader, m1, m2] = nodes as [TestDaemon, TestDaemon, TestDaemon];
  const ref = 'url:web/pinned.bin';
  const created = await (await admin(m1)).call<Pin>('POST', '/pins', { ref });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const n of nodes) {
    const a = await admin(n);
    await waitFor(
      async () => (await a.ok<Pin[]>('GET', '/pins')).some((p) => p.ref === ref && p.status === 'ok' && p.items >= 1),
      10_000,
      'the pin on every node',
    );
  }
  assert.ok(await inS3(blobKey(files.pinned)), 'the pinned closure is in S3');

  await pull(m2.url, 'a');
  await pull(m1.url, 'b'); // 3 MB: above the high watermark
  await waitFor(async () => !(await inS3(blobKey(files.a))), 20_000, 'the least recently written unpinned blob to leave S3');
  assert.equal(await inS3(entryKey('a')), false, 'its shared entry went with it');
  assert.ok(await inS3(blobKey(files.pinned)), 'the pinned blob stays');
  assert.ok(await inS3(entryKey('pinned')), 'and its entry');
  assert.ok(await inS3(blobKey(files.b)), 'under the low watermark after one removal: b stays');
  await waitFor(async () => (await evicted(leader)) === 1, 10_000, 'the leader to count its removal');
  for (const n of [m1, m2]) assert.equal(await evicted(n), 0, 'members never delete from S3');

  // A node with an empty disk: the evicted file comes from the upstream again, the pinned one from the shared tier.
  const hitsA = up.hitCount('/f/a.bin');
  const hitsPinned = up.hitCount('/f/pinned.bin');
  const fresh = await startTestDaemon(config());
  try {
    await pull(fresh.url, 'a');
    await pull(fresh.url, 'pinned');
    assert.equal(up.hitCount('/f/a.bin'), hitsA + 1, 'the evicted file is fetched from the upstream again');
    assert.equal(up.hitCount('/f/pinned.bin'), hitsPinned, 'the pinned file is still served from S3');
  } finally {
    await fresh.close();
  }
  // The refill of a took the bucket over budget again: now b is the least recently written.
  await waitFor(async () => !(await inS3(blobKey(files.b))), 20_000, 'b to leave S3 after the refill of a');
  assert.ok(await inS3(blobKey(files.a)), 'the refilled blob stays');
  await waitFor(async () => (await evicted(leader)) === 2, 10_000, 'the leader to count its second removal');
});

test('etcd down: nobody evicts S3 (counted); etcd back: one node evicts again', async () => {
  const [leader, m1] = nodes as [TestDaemon, TestDaemon, TestDaemon];
  const before = await Promise.all(nodes.map(evicted));
  await etcd.kill();
  try {
    const skipped = await metric(leader.url, 'larder_s3_eviction_skipped_total');
    await pull(m1.url, 'c'); // pinned + a + c: 3 MB, over the high watermark
    await waitFor(
      async () => (await metric(leader.url, 'larder_s3_eviction_skipped_total')) > skipped,
      20_000,
      'a pass skipped for want of etcd',
    );
    assert.deepEqual(await Promise.all(nodes.map(evicted)), before, 'nothing evicted while etcd is down');
    for (const f of [files.pinned, files.a, files.c]) assert.ok(await inS3(blobKey(f)));
  } finally {
    await etcd.start();
  }
  await waitFor(async () => !(await inS3(blobKey(files.a))), 40_000, 'eviction to resume once etcd is back');
  assert.ok(await inS3(blobKey(files.pinned)), 'the pinned blob still stays');
  assert.ok(await inS3(blobKey(files.c)));
  const deltas = await waitFor(
    async () => {
      const d = (await Promise.all(nodes.map(evicted))).map((n, i) => n - before[i]!);
      return d.some((x) => x > 0) && d;
    },
    10_000,
    'the removal to be counted',
  );
  assert.deepEqual(deltas.sort(), [0, 0, 1], `one node evicted the one blob: ${deltas.join(',')}`);
});

test("the first node of a new cluster brings its pins along; a node joining later takes the cluster's", async () => {
  const ref = 'url:web/c.bin';
  const { remotes } = config();
  const dataDir = await tempDir('larder-cluster-pins-solo-');
  const pinsOf = async (n: TestDaemon): Promise<string[]> => (await (await admin(n)).ok<Pin[]>('GET', '/pins')).map((p) => p.ref).sort();
  const solo = await startTestDaemon({ remotes }, { dataDir });
  const created = await (await admin(solo)).call<Pin>('POST', '/pins', { ref });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await solo.close({ keepData: true });

  // A cluster of its own (same etcd and bucket, another name): this node's pin becomes the cluster's.
  const other = { ...config(), cluster: { ...config().cluster, name: `${cluster}x` } };
  const first = await startTestDaemon(other, { dataDir });
  const second = await startTestDaemon(other);
  try {
    await waitFor(async () => (await pinsOf(second)).includes(ref), 10_000, "the first node's pin in the new cluster");
    assert.deepEqual(await pinsOf(first), [ref]);
  } finally {
    await Promise.all([first.close({ keepData: true }), second.close()]);
  }

  // The same node joining the first cluster: it takes that cluster's pin set, its own pin is not brought in.
  const joining = await startTestDaemon(config(), { dataDir });
  try {
    await waitFor(async () => (await pinsOf(joining)).join() === 'url:web/pinned.bin', 10_000, "the cluster's pin set");
    assert.deepEqual(await pinsOf(nodes[0]!), ['url:web/pinned.bin'], 'the cluster did not take the joining pin');
  } finally {
    await joining.close();
  }
});
