/**
 * OCI pull-through against the real CNCF distribution registry (Debian
 * docker-registry 2.8) with real skopeo as the client: byte-exact manifests
 * in all four media types over the path-prefix, `?ns=` and bare (Docker Hub
 * `library/`) layouts, `skopeo copy --all` producing identical copies,
 * content negotiation identical to the upstream's, paged tag lists,
 * referrers, single-flight blob fills (small and 100 MB), and ranges on
 * cached and in-flight blobs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OciAdapter } from '../../daemon/protocols/oci/adapter.js';
import { GotUpstreamClient } from '../../daemon/upstream/client.js';
import { Remote } from '../../daemon/upstream/remote.js';
import { makeCore } from '../helpers/core.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { ensureBigLayout, type BigLayout } from '../helpers/oci/big.js';
import { MANIFEST_ACCEPT, RegistryClient } from '../helpers/oci/client.js';
import { buildSmallLayout, SMALL_TAGS, type FixtureImage, type FixtureLayout } from '../helpers/oci/images.js';
import { MediaType } from '../helpers/oci/layout.js';
import { inspectRaw, pushImage, pushLayout, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';
import type { OciRemoteConfig } from '../../daemon/protocols/oci/config.js';

const REPO = 'fixtures/small';
let reg: RunningRegistry;
let small: FixtureLayout;
let big: BigLayout;
let larder: TestDaemon;
let work: string;

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const image = (tag: string): FixtureImage => {
  const i = small.images[tag] ?? big.images[tag];
  assert.ok(i, tag);
  return i;
};
/** The registry target of each client layout skopeo can express. */
const viaPrefix = () => ({ host: `127.0.0.1:${larder.port}/docker.io`, credentials: null });
const viaBare = () => ({ host: `127.0.0.1:${larder.port}`, credentials: null });
const upstreamGets = (path: string): number =>
  reg.requests().filter((r) => r.method === 'GET' && r.path === path && r.status === 200).length;

/** Streams a response body through sha256 without keeping it. */
async function hashBody(res: Response): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

async function fileSlice(file: string, start: number, end: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(end - start + 1);
    await fh.read(buf, 0, buf.length, start);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Waits until a blob's fill is committed (the last reader can finish just before the index write). */
async function untilCached(path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${larder.url}${path}`, { headers: { range: 'bytes=0-0' } });
    await res.arrayBuffer();
    if (res.headers.get('x-larder-cache') === 'HIT') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${path} never became a cache hit`);
}

/** Every file under `dir` whose name is a sha256 hex must hash to it; returns the digests. */
async function verifiedBlobs(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const name of await readdir(dir)) {
    const m = /^([0-9a-f]{64})(?:\.manifest\.json)?$/.exec(name);
    if (!m) continue;
    const digest = sha(await readFile(join(dir, name)));
    if (!name.endsWith('.manifest.json')) assert.equal(digest, `sha256:${m[1]}`, `${name} is intact`);
    out.add(`sha256:${m[1]}`);
  }
  return out;
}

function closureDigests(i: FixtureImage): string[] {
  return [i.digest, ...i.children.flatMap(closureDigests), ...i.blobs.map((b) => b.digest)];
}

describe('OCI pull-through from docker-registry with skopeo', { timeout: 240_000 }, () => {
  before(async () => {
    [reg, small, big, work] = await Promise.all([startRegistry(), buildSmallLayout(), ensureBigLayout(), tempDir('larder-oci-pull-')]);
    await pushLayout(small, reg, REPO);
    await pushImage(small, 'single', reg, 'library/hello', 'latest');
    await pushImage(big, 'big', reg, 'fixtures/big');
    larder = await startTestDaemon({ remotes: { hub: { type: 'oci', url: reg.url, host: 'docker.io' } } });
    reg.clearRequests();
  });
  after(async () => {
    await larder?.close();
    await reg?.stop();
    await Promise.all([small && rm(small.dir, { recursive: true, force: true }), work && rm(work, { recursive: true, force: true })]);
  });

  test('GET /v2/ answers 200 with the API version header, also after a TLS ClientHello on the plain port', async () => {
    await new Promise<void>((resolve) => {
      const s = connect(larder.port, '127.0.0.1', () => s.write(Buffer.from('16030100a5010000a10303', 'hex')));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.setTimeout(2000, () => s.destroy());
    });
    for (const path of ['/v2/', '/v2/?ns=docker.io']) {
      const res = await fetch(`${larder.url}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    }
  });

  test('skopeo inspect --raw equals the upstream bytes (path-prefix and bare layouts, all four media types)', async () => {
    for (const tag of SMALL_TAGS) {
      const upstream = await inspectRaw(reg, REPO, tag);
      assert.ok(upstream.equals(image(tag).manifest));
      assert.ok((await inspectRaw(viaPrefix(), REPO, tag)).equals(upstream), `prefix ${tag}`);
      assert.ok((await inspectRaw(viaBare(), REPO, tag)).equals(upstream), `bare ${tag}`);
      assert.ok((await inspectRaw(viaPrefix(), REPO, image(tag).digest)).equals(upstream), `prefix by digest ${tag}`);
    }
    // Docker Hub style: a one-component name is library/<name> upstream.
    assert.ok((await inspectRaw(viaBare(), 'hello', 'latest')).equals(image('single').manifest));
    assert.ok(reg.requests().some((r) => r.path === '/v2/library/hello/manifests/latest'));
  });

  test('?ns= layout: GET and HEAD by tag and digest carry identical type, length and digest', async () => {
    const client = new RegistryClient(larder.url, null);
    const check = async (ref: string, want: FixtureImage): Promise<void> => {
      const path = `/v2/${REPO}/manifests/${ref}?ns=docker.io`;
      const g = await client.request(path, { headers: { accept: MANIFEST_ACCEPT } });
      const h = await client.request(path, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
      assert.equal(g.status, 200, path);
      assert.ok(g.body.equals(want.manifest), path);
      for (const r of [g, h]) {
        assert.equal(r.headers.get('content-type'), want.mediaType, path);
        assert.equal(r.headers.get('content-length'), String(want.size), path);
        assert.equal(r.headers.get('docker-content-digest'), want.digest, path);
      }
    };
    for (const tag of SMALL_TAGS) {
      await check(tag, image(tag));
      await check(image(tag).digest, image(tag));
      for (const child of image(tag).children) await check(child.digest, child);
    }
  });

  test('content negotiation matches the upstream for narrower Accept headers', async () => {
    const cases: Array<[string, string]> = [
      ['docker-list', MediaType.dockerManifest],
      ['single', MediaType.dockerManifest],
      ['multi', MediaType.ociManifest],
      ['multi', `${MediaType.ociManifest}, ${MediaType.ociIndex}`],
      ['docker-single', 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
    ];
    for (const [tag, accept] of cases) {
      const direct = await fetch(`${reg.url}/v2/${REPO}/manifests/${tag}`, { headers: { accept } });
      const mirrored = await fetch(`${larder.url}/v2/docker.io/${REPO}/manifests/${tag}`, { headers: { accept } });
      const [d, m] = [Buffer.from(await direct.arrayBuffer()), Buffer.from(await mirrored.arrayBuffer())];
      assert.equal(mirrored.status, direct.status, `${tag} / ${accept}`);
      const bare = (r: Response): string | undefined => r.headers.get('content-type')?.split(';')[0];
      assert.equal(bare(mirrored), bare(direct), `${tag} / ${accept}`);
      if (direct.status !== 200 || direct.headers.get('content-type')?.includes('prettyjws')) continue;
      assert.equal(mirrored.headers.get('docker-content-digest'), direct.headers.get('docker-content-digest'));
      assert.ok(m.equals(d), `${tag} / ${accept} bytes`);
    }
  });

  test('skopeo copy --all through Larder produces identical copies (oci: and dir:)', async () => {
    const ociDir = join(work, 'multi-oci');
    await skopeo([
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--src-no-creds',
      `docker://127.0.0.1:${larder.port}/docker.io/${REPO}:multi`,
      `oci:${ociDir}:multi`,
    ]);
    const index = JSON.parse(await readFile(join(ociDir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    assert.equal(index.manifests[0]?.digest, image('multi').digest);
    const ociBlobs = await verifiedBlobs(join(ociDir, 'blobs', 'sha256'));
    assert.deepEqual([...ociBlobs].sort(), [...new Set(closureDigests(image('multi')))].sort());
    const dir = join(work, 'docker-list-dir');
    await skopeo([
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--src-no-creds',
      `docker://127.0.0.1:${larder.port}/${REPO}:docker-list`,
      `dir:${dir}`,
    ]);
    assert.ok((await readFile(join(dir, 'manifest.json'))).equals(image('docker-list').manifest));
    const dirBlobs = await verifiedBlobs(dir);
    assert.deepEqual([...dirBlobs].sort(), [...new Set(closureDigests(image('docker-list')).slice(1))].sort());
  });

  test('tags/list is paged (n, last) with the Link rewritten to the mirror', async () => {
    const seen: string[] = [];
    let next: string | undefined = `/v2/docker.io/${REPO}/tags/list?n=3`;
    while (next) {
      const res: Response = await fetch(`${larder.url}${next}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { name: string; tags: string[] };
      assert.equal(body.name, REPO);
      assert.ok(body.tags.length <= 3);
      seen.push(...body.tags);
      const link = res.headers.get('link');
      next = link ? /^<(\/v2\/docker\.io\/fixtures\/small\/tags\/list\?[^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      if (link) assert.ok(next, link);
    }
    assert.deepEqual(seen, [...SMALL_TAGS].sort());
  });

  test('referrers: upstream without the API gets an empty OCI index', async () => {
    const res = await fetch(`${larder.url}/v2/${REPO}/referrers/${image('single').digest}?ns=docker.io`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), MediaType.ociIndex);
    assert.deepEqual(await res.json(), { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
  });

  test('20 concurrent cold GETs of one blob make one upstream GET; ranges on the cached blob', async () => {
    const layer = image('single').blobs.find((b) => b.size > 1000 && b.mediaType === MediaType.ociLayerGzip) ?? image('single').blobs[1]!;
    const path = `/v2/${REPO}/blobs/${layer.digest}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => fetch(`${larder.url}${path}?ns=docker.io`).then(hashBody)));
    for (const r of results) assert.deepEqual(r, { digest: layer.digest, size: layer.size });
    assert.equal(upstreamGets(path), 1);
    const file = join(small.dir, 'blobs', 'sha256', layer.digest.slice(7));
    const size = layer.size;
    await untilCached(path);
    for (const [range, start, end] of [
      ['bytes=10-99', 10, 99],
      ['bytes=100-', 100, size - 1],
      ['bytes=-50', size - 50, size - 1],
    ] as const) {
      const res = await fetch(`${larder.url}${path}`, { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${size}`);
      assert.equal(res.headers.get('x-larder-cache'), 'HIT');
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(await fileSlice(file, start, end)), range);
    }
    const past = await fetch(`${larder.url}${path}`, { headers: { range: `bytes=${size + 10}-` } });
    await past.arrayBuffer();
    assert.equal(past.status, 416);
    const head = await fetch(`${larder.url}${path}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(size));
    assert.equal(head.headers.get('docker-content-digest'), layer.digest);
    assert.equal(upstreamGets(path), 1);
  });

  test('100 MB layer: 32 concurrent cold pulls and in-flight ranges share one upstream GET', async () => {
    const layer = image('big').blobs.find((b) => b.size > 100_000_000);
    assert.ok(layer);
    const path = `/v2/fixtures/big/blobs/${layer.digest}`;
    const file = join(big.dir, 'blobs', 'sha256', layer.digest.slice(7));
    const started = Date.now();
    const ranges = [
      [50_000_000, 50_999_999],
      [layer.size - 1000, layer.size - 1],
    ] as const;
    const [pulls, ranged] = await Promise.all([
      Promise.all(Array.from({ length: 32 }, () => fetch(`${larder.url}/v2/docker.io/fixtures/big/blobs/${layer.digest}`).then(hashBody))),
      Promise.all(
        ranges.map(async ([s, e]) => {
          const res = await fetch(`${larder.url}${path}`, { headers: { range: `bytes=${s}-${e}` } });
          return { res, state: res.headers.get('x-larder-cache'), body: Buffer.from(await res.arrayBuffer()) };
        }),
      ),
    ]);
    const ms = Date.now() - started;
    for (const p of pulls) assert.deepEqual(p, { digest: layer.digest, size: layer.size });
    for (const [i, [s, e]] of ranges.entries()) {
      const r = ranged[i]!;
      assert.equal(r.res.status, 206);
      assert.equal(r.state, 'MISS', 'served from the fill in flight');
      assert.equal(r.res.headers.get('content-range'), `bytes ${s}-${e}/${layer.size}`);
      assert.ok(r.body.equals(await fileSlice(file, s, e)));
    }
    assert.equal(upstreamGets(path), 1, 'one upstream GET for 34 clients');
    await untilCached(path);
    const warm = await fetch(`${larder.url}${path}`, { headers: { range: 'bytes=500-1499' } });
    assert.equal(warm.status, 206);
    assert.equal(warm.headers.get('x-larder-cache'), 'HIT');
    assert.ok(Buffer.from(await warm.arrayBuffer()).equals(await fileSlice(file, 500, 1499)));
    const dest = join(work, 'big-oci');
    await skopeo([
      'copy',
      '--src-tls-verify=false',
      '--src-no-creds',
      `docker://127.0.0.1:${larder.port}/fixtures/big:big`,
      `oci:${dest}:big`,
    ]);
    assert.deepEqual([...(await verifiedBlobs(join(dest, 'blobs', 'sha256')))].sort(), [...new Set(closureDigests(image('big')))].sort());
    assert.equal(upstreamGets(path), 1);
    console.log(`# 32 cold pulls + 2 ranges of ${layer.size} bytes in ${ms} ms`);
  });

  test('expandImage: index → platform manifests → config and layers, with a platform filter, through the cache', async () => {
    const core = await makeCore();
    try {
      const remote = new Remote(
        {
          name: 'hub',
          config: { type: 'oci', url: reg.url, host: 'docker.io' } as OciRemoteConfig,
          ttlMs: 60_000,
          negativeTtlMs: 1_000,
          timeoutMs: 30_000,
          maxArtifactBytes: 1e10,
          isOffline: () => false,
        },
        new GotUpstreamClient(),
      );
      const oci = new OciAdapter({
        remotes: new Map([['hub', remote]]),
        defaultRemote: 'hub',
        documents: core.documents,
        blobs: core.blobs,
        clock: { now: () => Date.now() },
      });
      const multi = image('multi');
      const all = await oci.expandImage(`docker.io/${REPO}:multi`);
      assert.equal(all.remote, 'hub');
      assert.equal(all.name, REPO);
      assert.equal(all.digest, multi.digest);
      assert.deepEqual(
        all.manifests.map((m) => [m.digest, m.kind]),
        [[multi.digest, 'index'], ...multi.children.map((c) => [c.digest, 'manifest'])],
      );
      assert.deepEqual(all.blobs.map((b) => b.digest).sort(), multi.blobs.map((b) => b.digest).sort());
      for (const b of all.blobs) {
        const want = multi.blobs.find((x) => x.digest === b.digest)!;
        assert.equal(b.size, want.size);
        assert.equal(b.mediaType, want.mediaType);
      }
      const arm = multi.children.find((c) => c.platform?.architecture === 'arm64')!;
      const armOnly = await oci.expandImage(`${REPO}@${multi.digest}`, { platform: 'linux/arm64' });
      assert.deepEqual(
        armOnly.manifests.map((m) => m.digest),
        [multi.digest, arm.digest],
      );
      assert.equal(armOnly.manifests[1]?.platform, 'linux/arm64/v8');
      assert.deepEqual(armOnly.blobs.map((b) => b.digest).sort(), arm.blobs.map((b) => b.digest).sort());
      assert.ok(armOnly.blobs.every((b) => b.kind === (b.mediaType.includes('config') ? 'config' : 'layer')));
      await assert.rejects(
        oci.expandImage(`${REPO}:multi`, { platform: 'windows/amd64' }),
        (e: Error & { details?: { oci?: string } }) => e.details?.oci === 'MANIFEST_UNKNOWN',
      );
      const hello = await oci.expandImage('hello');
      assert.equal(hello.name, 'library/hello');
      assert.equal(hello.digest, image('single').digest);
      assert.equal(hello.totalBytes, image('single').size + image('single').blobs.reduce((n, b) => n + b.size, 0));
      const dl = await oci.expandImage(`docker.io/${REPO}:docker-list`, { platform: { os: 'linux', architecture: 'amd64' } });
      assert.deepEqual(
        dl.manifests.map((m) => m.digest),
        [image('docker-list').digest, image('docker-list').children[0]!.digest],
      );
      const gets = reg.requests().filter((r) => r.method === 'GET').length;
      await oci.expandImage(`docker.io/${REPO}:multi`);
      assert.equal(reg.requests().filter((r) => r.method === 'GET').length, gets, 'a second expansion is served from the cache');
      const blob = await oci.fetchBlob('hub', REPO, arm.blobs[0]!.digest);
      await blob.done();
      assert.equal(core.blobs.peek(`oci:hub:blob:${arm.blobs[0]!.digest}`)?.size, arm.blobs[0]!.size, 'fetchBlob commits a verified blob');
    } finally {
      await core.close();
    }
  });
});
