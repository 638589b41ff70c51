/**
 * Self-test of the OCI upstream fixtures (test/helpers/oci): builds the image
 * layouts offline, starts real docker-registry instances in each auth flavour,
 * pushes with real skopeo and checks manifests and blobs byte-for-byte via
 * `skopeo inspect --raw` and plain HTTP (including our own Bearer flow).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ensureBigLayout } from '../helpers/oci/big.js';
import { MANIFEST_ACCEPT, RegistryClient, parseChallenge } from '../helpers/oci/client.js';
import { buildSmallLayout, SMALL_TAGS, type FixtureImage, type FixtureLayout } from '../helpers/oci/images.js';
import { MediaType, sha256Digest } from '../helpers/oci/layout.js';
import { inspectRaw, pushImage, pushLayout } from '../helpers/oci/push.js';
import { startRegistry, type RegistryAuth, type RunningRegistry } from '../helpers/oci/registry.js';

const REPO = 'fixtures/small';

/** The small layout built once in `before`. */
let smallLayout: FixtureLayout | null = null;
const small = (): FixtureLayout => {
  assert.ok(smallLayout);
  return smallLayout;
};

/** Checks one manifest (and recursively its children and blobs) over HTTP. */
async function checkServed(client: RegistryClient, repo: string, image: FixtureImage, reference: string): Promise<void> {
  const got = await client.manifest(repo, reference);
  assert.equal(got.status, 200, `GET manifest ${reference}`);
  assert.ok(got.body.equals(image.manifest), `manifest bytes of ${reference}`);
  assert.equal(got.digest, image.digest);
  assert.equal(got.headers.get('docker-content-digest'), image.digest);
  assert.equal(got.headers.get('content-type'), image.mediaType);
  const head = await client.manifest(repo, reference, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(image.size));
  assert.equal(head.headers.get('docker-content-digest'), image.digest);
  for (const child of image.children) await checkServed(client, repo, child, child.digest);
  if (image.children.length > 0) return;
  for (const b of image.blobs) {
    const blob = await client.blob(repo, b.digest);
    assert.equal(blob.status, 200, `GET blob ${b.digest}`);
    assert.equal(blob.digest, b.digest);
    assert.equal(blob.body.length, b.size);
  }
}

/**
 * Pins distribution 2.8's Accept handling, which a pull-through must respect by forwarding
 * the client's Accept: OCI types are 404 unless accepted, schema 2 is downgraded to a
 * (differently digested) schema 1 and a manifest list is resolved to its linux/amd64 child.
 */
async function checkNegotiationQuirks(url: string): Promise<void> {
  const get = async (tag: string, accept?: string): Promise<{ status: number; type: string | null; digest: string | null }> => {
    const res = await fetch(`${url}/v2/${REPO}/manifests/${tag}?ns=docker.io`, { headers: accept ? { accept } : {} });
    await res.arrayBuffer();
    return { status: res.status, type: res.headers.get('content-type'), digest: res.headers.get('docker-content-digest') };
  };
  assert.equal((await get('single')).status, 404);
  assert.equal((await get('multi', MediaType.ociManifest)).status, 404);
  const v1 = await get('docker-single', '*/*');
  assert.equal(v1.type, 'application/vnd.docker.distribution.manifest.v1+prettyjws');
  assert.notEqual(v1.digest, null);
  assert.notEqual(v1.digest, (await get('docker-single', MediaType.dockerManifest)).digest);
  const list = small().images['docker-list'];
  assert.equal((await get('docker-list', MediaType.dockerManifest)).digest, list?.children[0]?.digest);
}

describe('OCI upstream fixtures', () => {
  before(async () => {
    smallLayout = await buildSmallLayout();
  });
  after(async () => {
    await rm(small().dir, { recursive: true, force: true });
  });

  test('small layout is deterministic and complete', async () => {
    const again = await buildSmallLayout();
    try {
      assert.deepEqual(Object.keys(small().images).sort(), [...SMALL_TAGS].sort());
      for (const tag of SMALL_TAGS) assert.equal(again.images[tag]?.digest, small().images[tag]?.digest, tag);
      assert.equal(small().images.single?.blobs.length, 3);
      assert.deepEqual(
        small().images.multi?.children.map((c) => c.platform?.architecture),
        ['amd64', 'arm64'],
      );
      assert.equal(small().images['docker-list']?.children.length, 2);
      for (const image of Object.values(small().images)) assert.equal(sha256Digest(image.manifest), image.digest);
    } finally {
      await rm(again.dir, { recursive: true, force: true });
    }
  });

  for (const auth of ['none', 'htpasswd', 'token'] as const satisfies readonly RegistryAuth[]) {
    test(`docker-registry (auth ${auth}) serves pushed images byte-exact`, async () => {
      const reg: RunningRegistry = await startRegistry({ auth });
      try {
        await pushLayout(small(), reg, REPO);
        for (const tag of SMALL_TAGS) {
          const image = small().images[tag];
          assert.ok(image);
          const raw = await inspectRaw(reg, REPO, tag);
          assert.ok(raw.equals(image.manifest), `skopeo inspect --raw ${tag}`);
          await checkServed(new RegistryClient(reg.url, reg.credentials), REPO, image, tag);
        }
        const anon = await fetch(`${reg.url}/v2/${REPO}/manifests/single`, { headers: { accept: MANIFEST_ACCEPT } });
        await anon.arrayBuffer();
        if (auth === 'none') {
          assert.equal(anon.status, 200);
          await checkNegotiationQuirks(reg.url);
        } else {
          assert.equal(anon.status, 401);
          const ch = parseChallenge(anon.headers.get('www-authenticate') ?? '');
          assert.equal(ch?.scheme, auth === 'htpasswd' ? 'basic' : 'bearer');
          const bad = await new RegistryClient(reg.url, { username: 'larder', password: 'wrong' }).manifest(REPO, 'single').then(
            (r) => r.status,
            () => 401,
          );
          assert.equal(bad, 401);
        }
        if (auth === 'token') {
          assert.ok(reg.token);
          assert.ok(reg.tokenRequests > 0);
          assert.ok(reg.token.requests.some((r) => r.user === 'larder' && r.scopes.includes(`repository:${REPO}:pull,push`)));
        }
        const seen = reg.requests();
        assert.ok(seen.some((r) => r.method === 'PUT' && r.path === `/v2/${REPO}/manifests/multi`));
        assert.ok(seen.some((r) => r.userAgent.startsWith('skopeo/')));
        assert.ok(!seen.some((r) => r.userAgent.startsWith('skopeo/') && r.path.includes('ns=')), 'skopeo sends no ?ns=');
      } finally {
        await reg.stop();
      }
    });
  }

  test('anonymous pull tokens and outage simulation (down/up)', async () => {
    const reg = await startRegistry({ auth: 'token', anonymousPull: true, tokenExpiresIn: 5 });
    try {
      await pushImage(small(), 'single', reg, 'pub/img', 'v1');
      const single = small().images.single;
      assert.ok(single);
      const anon = new RegistryClient(reg.url, null);
      await checkServed(anon, 'pub/img', single, 'v1');
      assert.ok(reg.token?.requests.some((r) => r.user === null && r.status === 200));
      await reg.down();
      await assert.rejects(fetch(`${reg.url}/v2/`));
      await reg.up();
      assert.equal((await anon.manifest('pub/img', single.digest)).digest, single.digest);
    } finally {
      await reg.stop();
    }
  });

  test('big layer (>100 MB): cached build, push, blob served intact', { timeout: 90_000 }, async (t) => {
    const big = await ensureBigLayout();
    const image = big.images.big;
    assert.ok(image);
    const layer = image.blobs.find((b) => b.size > 100_000_000);
    assert.ok(layer, 'a layer of at least 100 MB');
    const reg = await startRegistry();
    try {
      const pushMs = await pushImage(big, 'big', reg, 'fixtures/big');
      const client = new RegistryClient(reg.url, null);
      const head = await client.blob('fixtures/big', layer.digest, 'HEAD');
      assert.equal(head.headers.get('content-length'), String(layer.size));
      const range = await client.blob('fixtures/big', layer.digest, 'GET', { range: 'bytes=500-1499' });
      assert.equal(range.status, 206);
      assert.equal(range.body.length, 1000);
      await checkServed(client, 'fixtures/big', image, 'big');
      t.diagnostic(`big layout ${big.built ? 'built' : 'from cache'} in ${big.elapsedMs} ms; push ${pushMs} ms`);
    } finally {
      await reg.stop();
    }
  });
});
