/**
 * OCI pull-through against a scriptable fake registry (fault injection):
 * corrupt blobs are never committed and fail the client's transfer, bad
 * digests are refused without asking upstream, writes are UNSUPPORTED, 429
 * and 503 make Larder serve the last known tag (STALE), blob redirects to a
 * CDN host carry no Authorization, tag lists are paged with rewritten Link
 * headers, and referrers are passed through.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { sha256, startCdn, startFakeRegistry, type FakeRegistry } from '../helpers/oci-fake-registry.js';
import { MANIFEST_ACCEPT } from '../helpers/oci/client.js';
import { waitFor } from '../helpers/wait.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
let fake: FakeRegistry;
let authed: FakeRegistry;
let cdn: Awaited<ReturnType<typeof startCdn>>;
let larder: TestDaemon;

const blobFile = (digest: string): string => join(larder.dataDir, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));
const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> =>
  fetch(`${larder.url}${path}`, { method, headers: { accept: MANIFEST_ACCEPT, ...headers } });

async function ociCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: Array<{ code?: string }> };
  return body.errors?.[0]?.code;
}

/** An OCI image manifest over a config and one layer, stored in `reg` under `name:tag`. */
function putImage(reg: FakeRegistry, name: string, tag: string, layer: Buffer): { manifest: string; layer: string; config: string } {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
  const configDigest = reg.putBlob(config);
  const layerDigest = sha256(layer);
  reg.blobs.set(layerDigest, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    }),
  );
  return { manifest: reg.putManifest(name, manifest, OCI_MANIFEST, tag), layer: layerDigest, config: configDigest };
}

describe('OCI adapter against a fault-injecting registry', () => {
  before(async () => {
    fake = await startFakeRegistry();
    authed = await startFakeRegistry({ basic: { username: 'mirror', password: 'fake-secret-pw' } });
    cdn = await startCdn(authed.blobs);
    process.env.LARDER_TEST_OCI_USER = 'mirror';
    process.env.LARDER_TEST_OCI_PASS = 'fake-secret-pw';
    larder = await startTestDaemon({
      remotes: {
        fake: { type: 'oci', url: fake.url, host: 'fake.test', ttl: 0 },
        authed: {
          type: 'oci',
          url: authed.url,
          host: 'auth.test',
          auth: { username: '${LARDER_TEST_OCI_USER}', password: '${LARDER_TEST_OCI_PASS}' },
        },
      },
      oci: { default: 'fake' },
    });
  });
  after(async () => {
    await larder?.close();
    await Promise.all([fake?.close(), authed?.close(), cdn?.close()]);
  });

  test('a corrupt blob fails the transfer, is not committed, and a retry after the fix succeeds', async () => {
    const good = randomBytes(400_000);
    const digest = sha256(good);
    const bad = Buffer.from(good);
    bad[123_456] = bad[123_456]! ^ 0xff;
    fake.blobs.set(digest, bad);
    const path = `/v2/corrupt/blobs/${digest}`;
    const res = await get(path);
    await assert.rejects(res.arrayBuffer(), 'the client must see a failed transfer, not a complete body');
    assert.equal(existsSync(blobFile(digest)), false, 'expected digest not committed');
    assert.equal(existsSync(blobFile(sha256(bad))), false, 'corrupt bytes not committed');
    assert.deepEqual(await readdir(join(larder.dataDir, 'tmp')), [], 'temp file removed');
    const again = await get(path);
    await assert.rejects(again.arrayBuffer());
    assert.equal(fake.requests.filter((r) => r.path === path).length, 2, 'a failed fill is not cached: the retry asks upstream');
    fake.blobs.set(digest, good);
    const fixed = await get(path);
    assert.equal(fixed.status, 200);
    assert.equal(sha256(Buffer.from(await fixed.arrayBuffer())), digest);
    const hit = await get(path);
    assert.equal(sha256(Buffer.from(await hit.arrayBuffer())), digest);
    assert.equal(fake.requests.filter((r) => r.path === path).length, 3, 'the verified blob is served from the cache');
    // Small blobs are committed behind the answer (write-behind waits while clients are busy).
    await waitFor(() => existsSync(blobFile(digest)), 10_000, 'the verified blob on disk');
  });

  test('a manifest whose bytes do not match its digest is refused', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] }));
    const digest = sha256(body);
    fake.manifests.set(`evil@${digest}`, { body: Buffer.from(body.toString().replace('"layers"', '"Layers"')), mediaType: OCI_MANIFEST });
    const res = await get(`/v2/evil/manifests/${digest}`);
    assert.equal(res.status, 502);
    assert.equal(await ociCode(res), 'UNAVAILABLE');
    assert.equal(existsSync(blobFile(digest)), false);
  });

  test('invalid digests, names and writes are answered without asking upstream', async () => {
    const before = fake.requests.length;
    for (const [path, status, code] of [
      ['/v2/app/manifests/sha256:totallywrong', 400, 'DIGEST_INVALID'],
      ['/v2/app/blobs/sha256:abc', 400, 'DIGEST_INVALID'],
      ['/v2/app/blobs/md5:0123456789abcdef0123456789abcdef', 400, 'DIGEST_INVALID'],
      ['/v2/App/manifests/latest', 400, 'NAME_INVALID'],
      ['/v2/app/manifests/-bad-tag', 400, 'TAG_INVALID'],
      ['/v2/app/manifests/latest?ns=unknown.example', 404, 'NAME_UNKNOWN'],
    ] as const) {
      const res = await get(path);
      assert.equal(res.status, status, path);
      assert.equal(await ociCode(res), code, path);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    }
    for (const [method, path] of [
      ['POST', '/v2/app/blobs/uploads/'],
      ['PATCH', '/v2/app/blobs/uploads/some-uuid'],
      ['PUT', '/v2/app/manifests/latest'],
      ['DELETE', `/v2/app/manifests/${sha256('x')}`],
      ['DELETE', `/v2/app/blobs/${sha256('x')}`],
    ] as const) {
      const res = await fetch(`${larder.url}${path}`, { method, body: method === 'PUT' || method === 'PATCH' ? '{}' : undefined });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(await ociCode(res), 'UNSUPPORTED');
    }
    assert.equal(fake.requests.length, before, 'no upstream contact');
  });

  test('unknown manifests, blobs and repositories get their OCI codes', async () => {
    const m = await get('/v2/nothing/manifests/latest');
    assert.equal(m.status, 404);
    assert.equal(await ociCode(m), 'MANIFEST_UNKNOWN');
    const b = await get(`/v2/nothing/blobs/${sha256('nothing')}`);
    assert.equal(b.status, 404);
    assert.equal(await ociCode(b), 'BLOB_UNKNOWN');
    const h = await get(`/v2/nothing/blobs/${sha256('nothing')}`, {}, 'HEAD');
    assert.equal(h.status, 404);
    const t = await get('/v2/nothing/tags/list');
    assert.equal(t.status, 404);
    assert.equal(await ociCode(t), 'NAME_UNKNOWN');
  });

  test('429 and 503 on tag resolution serve the last known digest as STALE; a cold tag gets TOOMANYREQUESTS', async () => {
    const img = putImage(fake, 'ratelimited', 'v1', randomBytes(1000));
    const warm = await get('/v2/ratelimited/manifests/v1');
    assert.equal(warm.status, 200);
    assert.equal(warm.headers.get('docker-content-digest'), img.manifest);
    const heads = (): number => fake.requests.filter((r) => r.method === 'HEAD' && r.path === '/v2/ratelimited/manifests/v1').length;
    assert.equal(heads(), 1, 'tags are resolved with HEAD');
    assert.equal(fake.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v2/ratelimited/manifests/')).length, 1);
    for (const status of [429, 503]) {
      fake.tagStatus = status;
      const stale = await get('/v2/ratelimited/manifests/v1');
      assert.equal(stale.status, 200, `upstream ${status}`);
      assert.equal(stale.headers.get('x-larder-cache'), 'STALE');
      assert.equal(stale.headers.get('docker-content-digest'), img.manifest);
      assert.equal(sha256(Buffer.from(await stale.arrayBuffer())), img.manifest);
    }
    fake.tagStatus = 429;
    const cold = await get('/v2/ratelimited/manifests/never-seen');
    assert.equal(cold.status, 429);
    assert.equal(cold.headers.get('retry-after'), '17');
    assert.equal(await ociCode(cold), 'TOOMANYREQUESTS');
    fake.tagStatus = undefined;
  });

  test('blob redirects to another host are followed without Authorization; credentials come from ${ENV}', async () => {
    const img = putImage(authed, 'private/app', 'v1', randomBytes(200_000));
    authed.redirectBlobs = cdn.url;
    const res = await get(`/v2/auth.test/private/app/blobs/${img.layer}`);
    assert.equal(res.status, 200);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), img.layer);
    const upstreamBlob = authed.requests.filter((r) => r.path === `/v2/private/app/blobs/${img.layer}`);
    assert.ok(upstreamBlob.length >= 1);
    assert.equal(upstreamBlob.at(-1)?.authorization, `Basic ${Buffer.from('mirror:fake-secret-pw').toString('base64')}`);
    assert.equal(cdn.requests.length, 1);
    assert.equal(cdn.requests[0]?.authorization, undefined, 'Authorization must not cross to the CDN host');
    const hit = await get(`/v2/auth.test/private/app/blobs/${img.layer}`);
    assert.equal(sha256(Buffer.from(await hit.arrayBuffer())), img.layer);
    assert.equal(cdn.requests.length, 1, 'served from the cache, the signed URL is not reused');
    const manifest = await get(`/v2/auth.test/private/app/manifests/v1`);
    assert.equal(manifest.headers.get('docker-content-digest'), img.manifest);
    authed.redirectBlobs = undefined;
  });

  test('tags/list: pages follow the upstream Link, rewritten onto the client path (prefix and ns layouts)', async () => {
    const all = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'd1'];
    fake.tags.set('paged/app', all);
    for (const [start, prefix] of [
      ['/v2/paged/app/tags/list?n=3&ns=fake.test', '/v2/paged/app/tags/list?'],
      ['/v2/fake.test/paged/app/tags/list?n=3', '/v2/fake.test/paged/app/tags/list?'],
    ] as const) {
      const seen: string[] = [];
      let next: string | undefined = start;
      let pages = 0;
      while (next) {
        const res = await get(next, { accept: 'application/json' });
        assert.equal(res.status, 200);
        const body = (await res.json()) as { tags: string[] };
        assert.ok(body.tags.length <= 3);
        seen.push(...body.tags);
        pages++;
        const link = res.headers.get('link');
        if (!link) break;
        const m = /^<([^>]+)>; rel="next"$/.exec(link);
        assert.ok(m, link);
        assert.ok(m[1]!.startsWith(prefix), `${m[1]} keeps the client layout`);
        if (start.includes('ns=')) assert.ok(m[1]!.includes('ns=fake.test'));
        next = m[1];
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, all);
    }
  });

  test('referrers are passed through (with artifactType) and answered as an empty index when upstream has none', async () => {
    const subject = putImage(fake, 'signed', 'v1', randomBytes(100)).manifest;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('sig'), size: 3, artifactType: 'application/vnd.example.sig' }],
      }),
    );
    fake.referrers.set(subject, index);
    const res = await get(`/v2/signed/referrers/${subject}?artifactType=application%2Fvnd.example.sig`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(index));
    assert.ok(fake.requests.some((r) => r.path === `/v2/signed/referrers/${subject}?artifactType=application%2Fvnd.example.sig`));
    const none = await get(`/v2/signed/referrers/${sha256('no-such-subject')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(await none.json(), { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
  });
});
