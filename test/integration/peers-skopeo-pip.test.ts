/**
 * LAN peers for OCI and PyPI on loopback: two daemons with static peer lists
 * of each other, one docker-registry and one PyPI index behind them. A
 * `skopeo copy` of a small image, and a `pip download` of a wheel, through
 * daemon A, then through daemon B: every blob and wheel crosses the upstream
 * once, and B reports them as from peers (metrics). Manifests and index
 * pages still come from the upstream (never from a peer).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildSmallLayout, type FixtureLayout } from '../helpers/oci/images.js';
import { pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';
import { freePorts, metric, peerRequest } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { PypiUpstream } from '../helpers/pypi/index-server.js';
import { Venv } from '../helpers/pypi/pip.js';
import { buildWheel } from '../helpers/pypi/wheels.js';

const TOKEN = 'peer-token-of-the-site-0123456789';
const REPO = 'fixtures/peer';
const wheel = buildWheel({ name: 'peerpkg', version: '1.0' });

let work = '';
let reg: RunningRegistry;
let layout: FixtureLayout;
let pypi: PypiUpstream;
let venv: Venv;
const daemons: TestDaemon[] = [];

/** Waits until a daemon answers the peer API for a blob (its fill is committed). */
async function held(d: TestDaemon, path: string): Promise<void> {
  await waitFor(async () => (await peerRequest(d.url, path, TOKEN)).status === 200, 10_000, path);
}

describe('skopeo and pip through LAN peers', { timeout: 240_000 }, () => {
  before(async () => {
    work = await tempDir('larder-peers-oci-pypi-');
    [reg, layout, pypi] = await Promise.all([
      startRegistry(),
      buildSmallLayout(join(work, 'layout')),
      PypiUpstream.start({ peerpkg: [{ wheel }] }),
    ]);
    await pushImage(layout, 'single', reg, REPO, 'latest');
    venv = await Venv.create(join(work, 'venv'));
    const ports = await freePorts(2);
    for (let i = 0; i < 2; i++) {
      daemons.push(
        await startTestDaemon(
          {
            remotes: {
              hub: { type: 'oci', url: reg.url, host: 'docker.io' },
              py: { type: 'pypi', url: `${pypi.indexUrl}/simple/`, filesUrl: `${pypi.filesUrl}/` },
            },
            pypi: { default: 'py' },
            peers: { enabled: true, discover: 'static', static: [`http://127.0.0.1:${ports[1 - i]}`], token: TOKEN, budget: '3s' },
          },
          { dataDir: join(work, `d${i + 1}`), listen: `127.0.0.1:${ports[i]}` },
        ),
      );
    }
    reg.clearRequests();
  });

  after(async () => {
    for (const d of daemons) await d.close();
    await reg?.stop();
    await pypi?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo copy through A, then B: each blob crosses the upstream once; B has them from A', async () => {
    const blobs = layout.images.single!.blobs;
    for (const [i, d] of daemons.entries()) {
      await skopeo([
        'copy',
        '--src-tls-verify=false',
        '--src-no-creds',
        `docker://127.0.0.1:${d.port}/docker.io/${REPO}:latest`,
        `oci:${join(work, `copy-${i}`)}:latest`,
      ]);
      // A answers peers from committed blobs only (a small one is committed just behind its answer).
      for (const x of blobs) await held(d, `sha256/${x.digest.slice(7)}`);
    }
    for (const b of blobs) {
      const gets = reg.requests().filter((r) => r.method === 'GET' && r.path === `/v2/${REPO}/blobs/${b.digest}` && r.status === 200);
      assert.equal(gets.length, 1, `${b.digest} fetched from the registry once`);
    }
    const [a, b] = daemons as [TestDaemon, TestDaemon];
    assert.equal(await metric(a.url, 'larder_peer_hits_total'), 0);
    // Config, layers, and the manifest by digest (immutable, verified by its digest); the tag is always asked upstream.
    const manifest = layout.images.single!;
    assert.equal(await metric(b.url, 'larder_peer_hits_total'), blobs.length + 1, 'config, layers and manifest by digest from the peer');
    assert.equal(
      await metric(b.url, 'larder_peer_bytes_total'),
      blobs.reduce((n, x) => n + x.size, manifest.size),
    );
    // The tag is mutable: each daemon resolves it at the registry itself (GET or HEAD), never at a peer.
    const tagAsks = reg.requests().filter((r) => r.path === `/v2/${REPO}/manifests/latest`);
    assert.equal(tagAsks.length, 2, `tag asks: ${JSON.stringify(tagAsks.map((r) => r.method))}`);
  });

  test('pip download through A, then B: the wheel crosses the upstream once; B has it from A', async () => {
    const [a, b] = daemons as [TestDaemon, TestDaemon];
    const before = await metric(b.url, 'larder_peer_hits_total');
    for (const [i, d] of daemons.entries()) {
      const res = await venv.pip([
        'download',
        'peerpkg==1.0',
        '-d',
        join(work, `dl-${i}`),
        '-i',
        `${d.url}/pypi/simple/`,
        '--retries',
        '0',
      ]);
      assert.equal(res.code, 0, res.stderr);
      await held(d, `sha256/${wheel.sha256}`);
    }
    assert.equal(pypi.hit(`/files/${wheel.filename}`), 1, 'the wheel crossed the upstream once');
    assert.equal(await metric(a.url, 'larder_peer_hits_total'), 0);
    assert.equal((await metric(b.url, 'larder_peer_hits_total')) - before, 1, 'B had the wheel from A');
    assert.ok(pypi.hit('/simple/peerpkg/') >= 2, 'each daemon asked the index itself');
  });
});
