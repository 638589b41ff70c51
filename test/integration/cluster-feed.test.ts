/**
 * The cluster's pin change feed on real engines (one Ceph RGW bucket, one
 * etcd, two daemons): a pin made on node 1 and another made on node 2 are
 * one sequence, with the same numbers, in the feed child daemons poll
 * (GET /_/api/v1/feed) from either node, each change recorded once; a long
 * poll on node 2 wakes up when node 1 pins; a child polling through nginx
 * replicates them; a new cluster's feed starts with the pins it has.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ChildStatus, FeedPage, Pin, Stats } from '../../daemon/admin/contract.js';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { startCephRgw, type CephRgw } from '../helpers/ceph.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { waitFor } from '../helpers/wait.js';

const names = ['a', 'b', 'c', 'd'] as const;
const bucket = `larder-${randomBytes(4).toString('hex')}`;
const cluster = `f${randomBytes(3).toString('hex')}`;

let ceph: CephRgw;
let etcd: EtcdServer;
let up: StaticUpstream;
let dir: string;
let nodes: TestDaemon[] = [];
let lb: Nginx | undefined;
let child: TestDaemon | undefined;
/** One admin token for the cluster's nodes: a child's parent token works whichever node answers. */
const token = randomBytes(24).toString('hex');

const config = () => ({
  storage: {
    s3: { endpoint: ceph.endpoint, bucket, region: 'us-east-1', accessKey: ceph.accessKey, secretKey: ceph.secretKey },
  },
  cluster: { etcd: [etcd.url], name: cluster, leaseTtl: '10s' },
  admin: { token },
  remotes: { web: { type: 'http' as const, url: `${up.url}/f/`, layout: 'plain' as const, ttl: '1h' } },
});

const admin = async (n: TestDaemon) => adminClient(n.url, n === child ? await adminToken(n.dataDir) : token);
const portOf = (n: TestDaemon): number => Number(new URL(n.url).port);
const feed = async (n: TestDaemon, q: string): Promise<FeedPage> => (await admin(n)).ok<FeedPage>('GET', `/feed?${q}`);
const pin = async (n: TestDaemon, ref: string): Promise<void> => {
  const r = await (await admin(n)).call<Pin>('POST', '/pins', { ref });
  assert.equal(r.status, 201, JSON.stringify(r.body));
};
const summary = (p: FeedPage) => p.records.map((r) => [r.seq, r.kind, r.ref]);

before(async () => {
  [ceph, etcd] = await Promise.all([startCephRgw(), startEtcd()]);
  dir = await tempDir('larder-cluster-feed-');
  await mkdir(join(dir, 'root', 'f'), { recursive: true });
  for (const n of names) await writeFile(join(dir, 'root', 'f', `${n}.bin`), randomBytes(64 * 1024));
  up = await startStaticUpstream(join(dir, 'root'));
  up.headers = () => ({ 'cache-control': 'max-age=3600' });
  nodes = [await startTestDaemon(config()), await startTestDaemon(config())];
});

after(async () => {
  await lb?.stop();
  await Promise.all(nodes.map((n) => n.close()));
  await up?.stop();
  await Promise.all([etcd?.stop(), ceph?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('pins made on node 1 and node 2 are one sequence, the same in the feed of both nodes', async () => {
  const [n1, n2] = nodes as [TestDaemon, TestDaemon];
  await pin(n1, 'url:web/a.bin');
  await waitFor(async () => (await feed(n2, 'since=0')).head === 1, 10_000, "node 1's pin in node 2's feed");
  await pin(n2, 'url:web/b.bin');
  const want = [
    [1, 'add', 'url:web/a.bin'],
    [2, 'add', 'url:web/b.bin'],
  ];
  for (const n of nodes) await waitFor(async () => (await feed(n, 'since=0')).head === 2, 10_000, 'both records in the feed');
  const pages = await Promise.all(nodes.map((n) => feed(n, 'since=0')));
  for (const p of pages) {
    assert.deepEqual(summary(p), want, 'each change once, in one sequence');
    assert.equal(p.daemon, `cluster:${cluster}`, "the feed is the cluster's, whichever node answers");
    assert.equal(p.head, 2);
  }
  assert.deepEqual(pages[0]!.records, pages[1]!.records, 'the same records (times, resolutions) from both nodes');
  assert.deepEqual(summary(await feed(n2, 'since=1')), [want[1]]);
});

test('a long poll on node 2 wakes up when node 1 pins', async () => {
  const [n1, n2] = nodes as [TestDaemon, TestDaemon];
  const head = (await feed(n2, 'since=0')).head;
  const waiting = feed(n2, `since=${head}&wait=30&child=poller`);
  const a2 = await admin(n2);
  await waitFor(
    async () => (await a2.ok<ChildStatus[]>('GET', '/children')).some((c) => c.id === 'poller' && c.connected),
    10_000,
    'the long poll to be waiting on node 2',
  );
  await pin(n1, 'url:web/c.bin');
  const page = await waiting;
  assert.deepEqual(summary(page), [[head + 1, 'add', 'url:web/c.bin']]);
  assert.equal(page.head, head + 1);
});

test("a node whose copy is behind the child's position asks it to come again, never answers a head below it", async () => {
  const n2 = nodes[1]!;
  const head = (await feed(n2, 'since=0')).head;
  const r = await (await admin(n2)).call<{ error: { code: string } }>('GET', `/feed?since=${head + 5}`);
  assert.equal(r.status, 503, 'not a page with head below the position (a child would replay everything)');
  assert.equal(r.body.error.code, 'E_BUSY');
});

test('a child daemon polling the cluster through a load balancer replicates every pin, whichever node made it', async () => {
  const [n1, n2] = nodes as [TestDaemon, TestDaemon];
  lb = await startNginx(nodes.map(portOf));
  child = await startTestDaemon({
    parent: { url: lb.url, token },
    remotes: { web: { type: 'http' as const, url: `${up.url}/f/`, layout: 'plain' as const, ttl: '1h' } },
  });
  try {
    const c = await admin(child);
    const refs = async (): Promise<string[]> =>
      (await c.ok<Pin[]>('GET', '/pins'))
        .filter((p) => p.source === 'parent' && p.status === 'ok')
        .map((p) => p.ref)
        .sort();
    await waitFor(async () => (await refs()).length === 3, 30_000, "the cluster's three pins on the child");
    assert.deepEqual(await refs(), ['url:web/a.bin', 'url:web/b.bin', 'url:web/c.bin']);
    await pin(n2, 'url:web/d.bin');
    await (await admin(n1)).ok(
      'DELETE',
      `/pins/${(await (await admin(n1)).ok<Pin[]>('GET', '/pins')).find((p) => p.ref === 'url:web/a.bin')!.id}`,
    );
    await waitFor(
      async () => (await refs()).join() === 'url:web/b.bin,url:web/c.bin,url:web/d.bin',
      30_000,
      'the add and the remove on the child',
    );
    const st = await waitFor(
      async () => {
        const s = await c.ok<Stats>('GET', '/stats');
        return s.replication?.appliedSeq === 5 && s;
      },
      30_000,
      'the child to have applied the five records',
    );
    assert.equal(st.replication?.parentSeq, 5);
  } finally {
    await child.close();
    child = undefined;
  }
});

test("a new cluster's feed starts with the pins its first node brought along", async () => {
  const { remotes } = config();
  const dataDir = await tempDir('larder-cluster-feed-solo-');
  const solo = await startTestDaemon({ remotes }, { dataDir });
  const created = await adminClient(solo.url, await adminToken(dataDir)).call<Pin>('POST', '/pins', { ref: 'url:web/d.bin' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await solo.close({ keepData: true });
  const first = await startTestDaemon({ ...config(), cluster: { ...config().cluster, name: `${cluster}x` } }, { dataDir });
  try {
    const page = await waitFor(
      async () => {
        // Until the node has read the feed once it answers E_STORAGE (a child retries).
        const p = await feed(first, 'since=0').catch(() => undefined);
        return p?.head === 1 && p;
      },
      15_000,
      "the new cluster's feed to list its pin",
    );
    assert.deepEqual(summary(page), [[1, 'add', 'url:web/d.bin']]);
    assert.equal(page.daemon, `cluster:${cluster}x`);
  } finally {
    await first.close();
  }
});
