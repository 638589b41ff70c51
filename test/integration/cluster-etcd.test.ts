/**
 * Cluster mode (issue 18) on real engines: three daemons sharing one Ceph
 * RGW bucket and one etcd, behind nginx. Cross-node single-flight (one
 * upstream fetch for 32 concurrent cold pulls), take-over after a kill -9
 * of the filling node, a node with an empty disk serving from the shared
 * index with the upstream down, and an etcd outage (hits go on, cold misses
 * per node, then cluster behaviour again). The blob is 30 MB to keep CI
 * short; the 100 MB figure is for the benchmark.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { makeS3Client } from '../../daemon/storage/s3-client.js';
import { startCephRgw, type CephRgw } from '../helpers/ceph.js';
import { spawnDaemon, startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { metric } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const files = {
  big: randomBytes(30 * 1024 * 1024 + 5),
  slow: randomBytes(12 * 1024 * 1024 + 3),
  cold2: randomBytes(64 * 1024),
  cold3: randomBytes(3 * 1024 * 1024),
};
const bucket = `larder-${randomBytes(4).toString('hex')}`;
const cluster = `t${randomBytes(3).toString('hex')}`;

let ceph: CephRgw;
let etcd: EtcdServer;
let up: StaticUpstream;
let dir: string;
let nodes: TestDaemon[] = [];
let lb: Nginx;

/**
 * The three nodes run in this one process beside 32 hashing clients: a busy
 * CI machine can stall its event loop for seconds, so their leases are long
 * (a lease that lapses while its node is alive costs a second fetch). The
 * node killed in the take-over test has a short one, so the test is quick.
 */
const config = (leaseTtl = '10s') => ({
  storage: { s3: { endpoint: ceph.endpoint, bucket, region: 'us-east-1', accessKey: ceph.accessKey, secretKey: ceph.secretKey } },
  cluster: { etcd: [etcd.url], name: cluster, leaseTtl },
  remotes: { web: { type: 'http' as const, url: `${up.url}/f/`, layout: 'plain' as const, ttl: '1h' } },
});

interface Pulled {
  status: number;
  digest?: string;
  error?: string;
}

/** GETs a URL, hashing the body as it streams (a failed transfer is reported, not thrown). */
async function pull(url: string): Promise<Pulled> {
  try {
    const res = await fetch(url);
    const h = createHash('sha256');
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) h.update(c);
    return { status: res.status, digest: `sha256:${h.digest('hex')}` };
  } catch (err) {
    return { status: 0, error: (err as Error).message };
  }
}

before(async () => {
  [ceph, etcd] = await Promise.all([startCephRgw(), startEtcd()]);
  dir = await tempDir('larder-cluster-');
  await mkdir(join(dir, 'root', 'f'), { recursive: true });
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, 'root', 'f', `${name}.bin`), body);
  up = await startStaticUpstream(join(dir, 'root'));
  up.headers = () => ({ 'cache-control': 'max-age=3600' });
  nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startTestDaemon(config()));
  lb = await startNginx(nodes.map((n) => n.port));
});

after(async () => {
  await lb?.stop();
  await Promise.all(nodes.map((n) => n.close()));
  await up?.stop();
  await Promise.all([etcd?.stop(), ceph?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('32 concurrent cold pulls of one blob over three nodes behind nginx: one upstream fetch, 32 correct bodies', async () => {
  up.slow.set('/f/big.bin', 60); // the fill lasts about a second: the pulls overlap it
  const got = await Promise.all(Array.from({ length: 32 }, () => pull(`${lb.url}/files/web/big.bin`)));
  up.slow.delete('/f/big.bin');
  for (const g of got) assert.deepEqual(g, { status: 200, digest: sha(files.big) });
  const why = await Promise.all(
    nodes.map(
      async (n) =>
        `degraded=${await metric(n.url, 'larder_cluster_degraded_total')} s3errors=${await metric(n.url, 'larder_s3_errors_total')}`,
    ),
  );
  assert.equal(up.hitCount('/f/big.bin'), 1, `one upstream fetch for the whole cluster (${why.join('; ')})`);
  for (const n of nodes) assert.equal(await metric(n.url, 'larder_etcd_up'), 1);
  await waitFor(async () => (await metric(nodes[0]!.url, 'larder_cluster_nodes')) === 3, 10_000, 'three nodes registered in etcd');
});

test('kill -9 of the filling node: another node completes the fill; no partial object in S3', async () => {
  const path = '/f/slow.bin';
  up.slow.set(path, 400); // 16 pieces 400 ms apart: still filling when killed
  const dataDir = join(dir, 'doomed');
  const doomed = await spawnDaemon({ ...config('2s'), log: { level: 'info' } }, dataDir);
  const first = pull(`${doomed.url}/files/web/slow.bin`);
  await waitFor(() => up.hitCount(path) === 1, 20_000, 'the doomed node to start the fill');
  const others = [pull(`${nodes[0]!.url}/files/web/slow.bin`), pull(`${nodes[1]!.url}/files/web/slow.bin`)];
  await new Promise((r) => setTimeout(r, 300)); // let the others reach their wait (correctness does not depend on it)
  await doomed.kill('SIGKILL');
  up.slow.delete(path);
  const firstGot = await first;
  assert.ok(firstGot.status === 0 || firstGot.digest === sha(files.slow), `the killed node's client: ${JSON.stringify(firstGot)}`);
  for (const g of await Promise.all(others)) assert.deepEqual(g, { status: 200, digest: sha(files.slow) });
  assert.equal(up.hitCount(path), 2, 'the take-over fetched once more, and only once');

  const s3 = makeS3Client(config().storage.s3);
  try {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
    assert.ok(
      keys.every((k) => k.startsWith('blobs/sha256/') || k.startsWith('entries/')),
      `only committed blobs and entries: ${keys.join(' ')}`,
    );
    for (const k of keys.filter((k) => k.startsWith('blobs/'))) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      const bytes = Buffer.from(await body.Body!.transformToByteArray());
      assert.equal(sha(bytes), `sha256:${k.slice('blobs/sha256/'.length)}`, `${k} holds the bytes it names`);
    }
    assert.ok(keys.includes(`blobs/sha256/${sha(files.slow).slice(7)}`));
  } finally {
    s3.destroy();
  }
});

test('a node with an empty data dir serves a warm file from the shared index with the upstream down', async () => {
  const before = up.hitCount('/f/big.bin');
  up.down = 503;
  const fresh = await startTestDaemon(config());
  try {
    assert.deepEqual(await pull(`${fresh.url}/files/web/big.bin`), { status: 200, digest: sha(files.big) });
    assert.equal(up.hitCount('/f/big.bin'), before, 'no upstream request');
    assert.equal(await metric(fresh.url, 'larder_cluster_adopted_total'), 1);
  } finally {
    up.down = undefined;
    await fresh.close();
  }
});

test('etcd down: hits served, cold misses per node, /readyz says why; etcd back: one fetch per cold key again', async () => {
  const [a, b, c] = nodes as [TestDaemon, TestDaemon, TestDaemon];
  await etcd.kill();
  assert.deepEqual(await pull(`${b.url}/files/web/big.bin`), { status: 200, digest: sha(files.big) }, 'a hit');
  const cold = await pull(`${a.url}/files/web/cold2.bin`);
  assert.deepEqual(cold, { status: 200, digest: sha(files.cold2) }, 'a cold miss, filled by this node alone');
  assert.ok((await metric(a.url, 'larder_cluster_degraded_total')) >= 1);
  const notReady = await waitFor(
    async () => {
      const r = await fetch(`${a.url}/readyz`);
      return r.status === 503 && (await r.text());
    },
    15_000,
    '/readyz to fail',
  );
  assert.match(notReady, /etcd unreachable/);
  assert.equal(await metric(a.url, 'larder_etcd_up'), 0);

  await etcd.start();
  for (const n of nodes) await waitFor(async () => (await fetch(`${n.url}/readyz`)).status === 200, 20_000, '/readyz to pass again');
  up.slow.set('/f/cold3.bin', 60);
  const got = await Promise.all([a, b, c, a, b, c].map((n) => pull(`${n.url}/files/web/cold3.bin`)));
  for (const g of got) assert.deepEqual(g, { status: 200, digest: sha(files.cold3) });
  assert.equal(up.hitCount('/f/cold3.bin'), 1, 'cross-node single-flight again');
});
