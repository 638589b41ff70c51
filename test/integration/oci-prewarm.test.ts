/**
 * Pre-warm jobs and pins for images through the admin API, against the real
 * docker-registry: a job (refs and a Dockerfile) fetches exactly the closure
 * of the requested platform, a pin holds an image's closure, and skopeo then
 * copies the pre-warmed images with the upstream stopped.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job, Pin, ScrubStatus } from '../../daemon/admin/contract.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildSmallLayout, type FixtureImage, type FixtureLayout } from '../helpers/oci/images.js';
import { pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';

const REPO = 'app/svc';
let reg: RunningRegistry;
let small: FixtureLayout;
let larder: TestDaemon;
let work: string;
let token: string;

const img = (tag: string): FixtureImage => small.images[tag]!;
const blobGets = (): string[] =>
  reg
    .requests()
    .filter((r) => r.method === 'GET' && r.path.includes('/blobs/'))
    .map((r) => r.path.slice(r.path.lastIndexOf('/') + 1));
const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> => {
  const r = await fetch(`${larder.url}/_/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, data: (await r.json()) as T };
};

async function runJob(request: object): Promise<Job> {
  const started = await api<Job>('POST', '/jobs', request);
  assert.equal(started.status, 201, JSON.stringify(started.data));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { data } = await api<Job>('GET', `/jobs/${started.data.id}`);
    if (data.state !== 'queued' && data.state !== 'running') return data;
    assert.ok(Date.now() < deadline, `job still ${data.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('OCI pre-warm jobs and pins', { timeout: 120_000 }, () => {
  before(async () => {
    [reg, small, work] = await Promise.all([startRegistry(), buildSmallLayout(), tempDir('larder-oci-prewarm-')]);
    for (const tag of ['multi', 'single', 'docker-list']) await pushImage(small, tag, reg, REPO);
    larder = await startTestDaemon({ remotes: { reg: { type: 'oci', url: reg.url, host: 'registry.test' } } });
    token = (await readFile(join(larder.dataDir, 'admin-token'), 'utf8')).trim();
    reg.clearRequests();
  });
  after(async () => {
    await larder?.close();
    await reg?.stop();
    await Promise.all([small && rm(small.dir, { recursive: true, force: true }), work && rm(work, { recursive: true, force: true })]);
  });

  test('a job warms one platform of an index and an image by digest, then skopeo copies them offline', async () => {
    const arm = img('multi').children.find((c) => c.platform?.architecture === 'arm64')!;
    const job = await runJob({
      refs: [`oci:registry.test/${REPO}:multi linux/arm64`],
      files: [{ name: 'Dockerfile', content: `FROM registry.test/${REPO}@${img('single').digest} AS base\nRUN true\n` }],
    });
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(job.items.map((i) => i.state).sort(), ['done', 'done']);
    const want = [...arm.blobs, ...img('single').blobs].map((b) => b.digest).sort();
    assert.deepEqual(blobGets().sort(), want, 'exactly the arm64 and single closures were fetched');
    assert.equal(
      job.bytes,
      want.reduce((n, d) => n + [...arm.blobs, ...img('single').blobs].find((b) => b.digest === d)!.size, 0),
    );
    const again = await runJob({ refs: [`oci:registry.test/${REPO}:multi linux/arm64`] });
    assert.deepEqual(
      again.items.map((i) => i.state),
      ['cached'],
    );
    assert.equal(blobGets().length, want.length);

    await reg.down();
    try {
      const base = `docker://127.0.0.1:${larder.port}/registry.test/${REPO}`;
      await skopeo([
        '--override-arch',
        'arm64',
        '--override-variant',
        'v8',
        'copy',
        '--src-tls-verify=false',
        '--src-no-creds',
        `${base}:multi`,
        `oci:${join(work, 'arm')}:x`,
      ]);
      const index = JSON.parse(await readFile(join(work, 'arm', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      assert.equal(index.manifests[0]?.digest, arm.digest);
      await skopeo([
        'copy',
        '--src-tls-verify=false',
        '--src-no-creds',
        `${base}@${img('single').digest}`,
        `oci:${join(work, 'single')}:x`,
      ]);
    } finally {
      await reg.up();
    }
  });

  test('a pin holds the closure of a tag (all platforms of a manifest list)', async () => {
    const list = img('docker-list');
    const pin = await api<Pin>('POST', '/pins', { ref: `oci:registry.test/${REPO}:docker-list` });
    assert.equal(pin.status, 201, JSON.stringify(pin.data));
    assert.equal(pin.data.status, 'ok', JSON.stringify(pin.data));
    assert.equal(pin.data.resolved, list.digest);
    assert.equal(pin.data.mutable, true);
    const manifests = 1 + list.children.length;
    assert.equal(pin.data.items, manifests + list.blobs.length + 1, 'manifests, blobs and the tag');
    assert.equal(pin.data.size, list.size + list.children.reduce((n, c) => n + c.size, 0) + list.blobs.reduce((n, b) => n + b.size, 0));
    for (const b of list.blobs) assert.ok(blobGets().includes(b.digest), b.digest);
  });

  test('scrub re-fetches a damaged blob of a pinned image through the adapter', async () => {
    const layer = img('docker-list').blobs.find((b) => b.mediaType.includes('tar'))!;
    const file = join(larder.dataDir, 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7));
    const good = await readFile(file);
    await writeFile(file, Buffer.alloc(good.length, 0x41));
    const gets = blobGets().filter((d) => d === layer.digest).length;
    const res = await api<ScrubStatus>('POST', '/scrub', { now: true });
    assert.equal(res.status, 200, JSON.stringify(res.data));
    assert.ok(res.data.corrupt >= 1 && res.data.repaired >= 1, JSON.stringify(res.data));
    assert.equal(blobGets().filter((d) => d === layer.digest).length, gets + 1, 'fetched again from upstream');
    assert.ok((await readFile(file)).equals(good), 'the blob is whole again');
    const served = await fetch(`${larder.url}/v2/registry.test/${REPO}/blobs/${layer.digest}`);
    assert.ok(Buffer.from(await served.arrayBuffer()).equals(good));
  });
});
