/**
 * Cluster mode (issue 18) with real clients: three daemons behind nginx
 * sharing one Ceph RGW bucket and one etcd. A real `npm ci` and a real
 * `skopeo copy` through node A fill the cluster; then a node started with an
 * empty disk serves both again with the npm registry and the OCI registry
 * stopped (every byte from the shared index and S3), and so does nginx
 * spreading npm over the three. Last, RGW stopped: a node's local disk tier
 * keeps serving its hits while /readyz says S3 is why it is not ready; RGW
 * back, the node is ready again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCephRgw, type CephRgw } from '../helpers/ceph.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { npmHttpLog, treeDigest } from '../helpers/npm-e2e.js';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { makeProject, runNpm } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { buildSmallLayout, type FixtureLayout } from '../helpers/oci/images.js';
import { pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';
import { metric } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';

/** The lockfile names node A: `replace-registry-host=always` sends each tarball request to the registry of the run. */
const NPM_FLAGS = ['--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=http', '--replace-registry-host=always'];
const REPO = 'fixtures/cluster';
const bucket = `larder-${process.pid}-${Date.now().toString(36)}`;
const clusterName = `c${process.pid}`;

let ceph: CephRgw;
let etcd: EtcdServer;
let npmUp: NpmUpstream;
let reg: RunningRegistry;
let fixture: RegistryFixture;
let layout: FixtureLayout;
let work = '';
let nodes: TestDaemon[] = [];
let lb: Nginx;
/** node_modules after the first `npm ci` (through node A). */
let tree: Map<string, string>;

const config = () => ({
  storage: { s3: { endpoint: ceph.endpoint, bucket, region: 'us-east-1', accessKey: ceph.accessKey, secretKey: ceph.secretKey } },
  cluster: { etcd: [etcd.url], name: clusterName, leaseTtl: '10s' },
  remotes: {
    npm: { type: 'npm' as const, url: npmUp.url },
    hub: { type: 'oci' as const, url: reg.url, host: 'docker.io' },
  },
});

const skipHidden = (rel: string): boolean => rel === '.package-lock.json';
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** `npm ci` in the project with a fresh npm cache through `registry`; returns the installed tree and npm's fetch log. */
async function npmCi(registry: string, cache: string): Promise<{ tree: Map<string, string>; fetched: string[] }> {
  const dir = join(work, 'app');
  await rm(join(dir, 'node_modules'), { recursive: true, force: true });
  const run = await runNpm(['ci', '--prefer-online', ...NPM_FLAGS], {
    cwd: dir,
    registry,
    cacheDir: join(work, cache),
  });
  const fetched = npmHttpLog(run.stderr).map((f) => f.url);
  const host = new URL(registry).host;
  assert.ok(fetched.length > 0 && fetched.every((u) => new URL(u).host === host), `every request to ${host}: ${fetched.join(' ')}`);
  return { tree: await treeDigest(join(dir, 'node_modules'), skipHidden), fetched };
}

/** `skopeo copy` of the image through `host` into a fresh OCI layout; every blob in it must hash to its name. */
async function skopeoCopy(host: string, name: string): Promise<void> {
  const dest = join(work, name);
  await skopeo(['copy', '--src-tls-verify=false', '--src-no-creds', `docker://${host}/docker.io/${REPO}:latest`, `oci:${dest}:latest`]);
  for (const b of layout.images.single!.blobs) {
    const bytes = await readFile(join(dest, 'blobs', 'sha256', b.digest.slice(7)));
    assert.equal(sha256(bytes), b.digest, `${name}: ${b.digest}`);
  }
}

before(async () => {
  work = await tempDir('larder-cluster-clients-');
  [ceph, etcd, reg, layout, fixture] = await Promise.all([
    startCephRgw(),
    startEtcd(),
    startRegistry(),
    buildSmallLayout(join(work, 'layout')),
    generateRegistry(join(work, 'registry'), { packages: 16, bigTarballBytes: 2 * 1024 * 1024 }),
  ]);
  npmUp = await startNpmUpstream(fixture);
  await pushImage(layout, 'single', reg, REPO, 'latest');
  nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startTestDaemon(config()));
  lb = await startNginx(nodes.map((n) => n.port));
});

after(async () => {
  await lb?.stop();
  await Promise.all(nodes.map((n) => n.close()));
  await npmUp?.close();
  await reg?.stop();
  await Promise.all([etcd?.stop(), ceph?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

test('npm ci and skopeo copy through node A fill the cluster', async () => {
  const registry = `${nodes[0]!.url}/npm/`;
  await makeProject(join(work, 'app'), fixture, registry, { cacheDir: join(work, 'cache-lock') });
  const first = await npmCi(registry, 'cache-a');
  tree = first.tree;
  assert.ok(tree.size > 30, `a real tree (${tree.size} files)`);
  assert.ok(
    first.fetched.some((u) => u.endsWith('.tgz') && u.startsWith(registry)),
    'tarballs through node A',
  );
  await skopeoCopy(`127.0.0.1:${nodes[0]!.port}`, 'copy-a');
  assert.ok(
    npmUp.requests.some((r) => r.path.endsWith('.tgz')),
    'the npm registry was asked',
  );
  assert.ok(
    reg.requests().some((r) => r.path.includes('/blobs/')),
    'the OCI registry was asked',
  );
});

test('upstreams stopped: a node with an empty disk serves npm ci and skopeo copy from the shared index and S3', async () => {
  npmUp.setDown(true, '503'); // answers 503 but counts every request
  await reg.down();
  const npmAsked = npmUp.totalHits();
  const fresh = await startTestDaemon(config());
  try {
    const got = await npmCi(`${fresh.url}/npm/`, 'cache-fresh');
    assert.deepEqual(got.tree, tree, 'the same node_modules as the install that filled the cluster');
    await skopeoCopy(`127.0.0.1:${fresh.port}`, 'copy-fresh');
    assert.ok((await metric(fresh.url, 'larder_cluster_adopted_total')) >= 10, 'entries adopted from the shared index');
    // nginx spreads a third install over A, B and C (B and C adopt what they lack).
    const viaLb = await npmCi(`${lb.url}/npm/`, 'cache-lb');
    assert.deepEqual(viaLb.tree, tree);
    assert.ok((await metric(nodes[1]!.url, 'larder_cluster_adopted_total')) > 0, 'node B served from the shared index');
    assert.equal(npmUp.totalHits(), npmAsked, 'nothing reached the npm registry');
  } finally {
    await fresh.close();
    npmUp.setDown(false);
    await reg.up();
  }
});

test('RGW stopped: node A serves its local hits and is not ready because of S3; RGW back: ready again', async () => {
  const a = nodes[0]!;
  await ceph.stopRgw();
  try {
    const notReady = await waitFor(
      async () => {
        const r = await fetch(`${a.url}/readyz`);
        return r.status === 503 && (await r.text());
      },
      20_000,
      '/readyz to fail',
    );
    assert.match(notReady, /S3 unreachable/);
    // The upstreams are up again (the test before restarts them): nothing of this may come from them.
    const tarballs = (): number => npmUp.requests.filter((r) => r.path.endsWith('.tgz')).length;
    const blobs = (): number => reg.requests().filter((r) => r.path.includes('/blobs/')).length;
    const [tgzBefore, blobsBefore] = [tarballs(), blobs()];
    const hits = await npmCi(`${a.url}/npm/`, 'cache-rgw-down');
    assert.deepEqual(hits.tree, tree, 'npm ci from node A with RGW down');
    await skopeoCopy(`127.0.0.1:${a.port}`, 'copy-rgw-down');
    assert.equal(tarballs(), tgzBefore, "every tarball from node A's local disk tier");
    assert.equal(blobs(), blobsBefore, "every image blob from node A's local disk tier");
  } finally {
    await ceph.startRgw();
  }
  await waitFor(async () => (await fetch(`${a.url}/readyz`)).status === 200, 20_000, '/readyz to pass again');
});
