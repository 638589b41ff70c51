/**
 * Tag freshness against the real docker-registry: tags are revalidated with
 * HEAD (manifests are fetched only for unknown digests), a warm
 * `skopeo copy` still succeeds while the upstream is down (tag served
 * STALE from the last known digest), and a tag moved upstream is followed
 * as soon as the upstream is back.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { MANIFEST_ACCEPT } from '../helpers/oci/client.js';
import { buildSmallLayout, type FixtureLayout } from '../helpers/oci/images.js';
import { createSkopeoSandbox, inspectRaw, pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';

const REPO = 'app/svc';
let reg: RunningRegistry;
let small: FixtureLayout;
let larder: TestDaemon;
let work: string;

const digestOf = (tag: string): string => {
  const d = small.images[tag]?.digest;
  assert.ok(d, tag);
  return d;
};
const ref = (tag: string): string => `docker://127.0.0.1:${larder.port}/registry.test/${REPO}:${tag}`;
const manifestRequests = (method: string): number =>
  reg.requests().filter((r) => r.method === method && r.path.startsWith(`/v2/${REPO}/manifests/`) && r.status < 400).length;

async function copyTo(dest: string): Promise<string> {
  await skopeo(['copy', '--src-tls-verify=false', '--src-no-creds', ref('v1'), `oci:${dest}:v1`], { timeoutMs: 60_000 });
  const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return index.manifests[0]!.digest;
}

describe('OCI tags: HEAD revalidation, stale-serve while the upstream is down, moved tags', { timeout: 120_000 }, () => {
  before(async () => {
    [reg, small, work] = await Promise.all([startRegistry(), buildSmallLayout(), tempDir('larder-oci-stale-')]);
    await pushImage(small, 'single', reg, REPO, 'v1');
    larder = await startTestDaemon({ remotes: { reg: { type: 'oci', url: reg.url, host: 'registry.test', ttl: 0 } } });
    reg.clearRequests();
  });
  after(async () => {
    await larder?.close();
    await reg?.stop();
    await Promise.all([small && rm(small.dir, { recursive: true, force: true }), work && rm(work, { recursive: true, force: true })]);
  });

  test('skopeo through a registries.conf mirror entry (path prefix) gets the upstream bytes', async () => {
    const sandbox = await createSkopeoSandbox(
      [
        'unqualified-search-registries = []',
        '[[registry]]',
        'prefix = "registry.test"',
        'location = "registry.test"',
        '[[registry.mirror]]',
        `location = "127.0.0.1:${larder.port}/registry.test"`,
        'insecure = true',
        '',
      ].join('\n'),
    );
    try {
      // skopeo 1.9.3 ignores CONTAINERS_REGISTRIES_CONF; the global flag selects the file.
      const raw = await sandbox.run(
        ['--registries-conf', sandbox.registriesConf, 'inspect', '--raw', '--no-creds', `docker://registry.test/${REPO}:v1`],
        {
          timeoutMs: 60_000,
        },
      );
      assert.ok(raw.stdout.equals(small.images.single!.manifest));
      assert.equal(manifestRequests('GET'), 1, 'one manifest GET, by digest');
      assert.equal(manifestRequests('HEAD'), 1, 'the tag resolved with one HEAD');
    } finally {
      await sandbox.cleanup();
    }
    reg.clearRequests();
  });

  test('warm pulls revalidate the tag with HEAD and GET no manifest twice', async () => {
    assert.equal(await copyTo(join(work, 'first')), digestOf('single'));
    const gets = manifestRequests('GET');
    const heads = manifestRequests('HEAD');
    assert.equal(gets, 0, 'the manifest is cached');
    assert.ok(heads >= 1, 'the tag is revalidated');
    assert.equal(await copyTo(join(work, 'second')), digestOf('single'));
    assert.ok(manifestRequests('HEAD') > heads, 'tag revalidated upstream (ttl 0)');
    assert.equal(manifestRequests('GET'), gets, 'known digest: no second GET');
    assert.ok(!reg.requests().some((r) => r.method === 'GET' && r.path === `/v2/${REPO}/manifests/v1`), 'tags are never GET');
  });

  test('upstream down: a warm skopeo copy succeeds and the tag is served STALE', async () => {
    await reg.down();
    try {
      assert.equal(await copyTo(join(work, 'offline')), digestOf('single'));
      for (const method of ['GET', 'HEAD']) {
        const res = await fetch(`${larder.url}/v2/${REPO}/manifests/v1?ns=registry.test`, { method, headers: { accept: MANIFEST_ACCEPT } });
        await res.arrayBuffer();
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-larder-cache'), 'STALE', method);
        assert.equal(res.headers.get('docker-content-digest'), digestOf('single'));
        assert.equal(res.headers.get('content-length'), String(small.images.single!.size));
      }
      const cold = await fetch(`${larder.url}/v2/registry.test/${REPO}/manifests/never-pulled`, { headers: { accept: MANIFEST_ACCEPT } });
      assert.equal(cold.status, 502);
      assert.equal(((await cold.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'UNAVAILABLE');
    } finally {
      await reg.up();
    }
  });

  test('a tag moved upstream is followed once the upstream is back', async () => {
    await pushImage(small, 'multi', reg, REPO, 'v1');
    const res = await fetch(`${larder.url}/v2/registry.test/${REPO}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digestOf('multi'));
    assert.notEqual(res.headers.get('x-larder-cache'), 'STALE');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(small.images.multi!.manifest));
    const raw = await inspectRaw({ host: `127.0.0.1:${larder.port}/registry.test`, credentials: null }, REPO, 'v1');
    assert.ok(raw.equals(small.images.multi!.manifest));
    await skopeo(['copy', '--all', '--src-tls-verify=false', '--src-no-creds', ref('v1'), `oci:${join(work, 'moved')}:v1`]);
    const index = JSON.parse(await readFile(join(work, 'moved', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    assert.equal(index.manifests[0]?.digest, digestOf('multi'));
  });
});
