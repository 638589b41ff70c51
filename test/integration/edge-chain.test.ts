/**
 * Three daemons in a chain on loopback: root (→ the npm fixture upstream) ←
 * region ← edge, the edge behind a thin link (a bandwidth-limited proxy).
 * Pins made at the root are mirrored at the edge with the closure fetched
 * through the chain; lag is positive until then and 0 after; a dist-tag moved
 * upstream propagates; a stopped region leaves the edge serving its cache
 * with lag rising, and restarting it brings lag back to 0 with nothing lost;
 * the real npm client installs through the chain.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { makeProject } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { blobsOnDisk, get, sha256hex } from '../helpers/npm-e2e.js';
import { api, children, pins, restartNode, startNode, stats, until, type ChainDaemon } from '../helpers/edge-chain.js';
import { startThinLink, type ThinLink } from '../helpers/thin-link.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let top: ChainDaemon;
let region: ChainDaemon;
let edge: ChainDaemon;
let link: ThinLink;

const remotes = (url: string) => ({ remotes: { local: { type: 'npm' as const, url } } });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'larder-edge-chain-'));
  fixture = await generateRegistry(join(root, 'registry'), { bigTarballBytes: 3 * 1024 * 1024 });
  upstream = await startNpmUpstream(fixture);
  // Only the root re-resolves on a timer; the region and the edge move only when the feed says so.
  top = await startNode({ ...remotes(upstream.url), pins: { interval: '1s' } });
  region = await startNode({ ...remotes(upstream.url), pins: { interval: '1h' } }, { url: top.d.url, token: top.token });
  link = await startThinLink(region.d.port);
  edge = await startNode({ ...remotes(upstream.url), pins: { interval: '1h' } }, { url: link.url, token: region.token });
});

after(async () => {
  await edge?.d.close();
  await link?.close();
  await region?.d.close();
  await top?.d.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/**
 * Only the root talks to the upstream: every upstream request's Via ends with
 * the root, and a longer path is exactly edge → region → root.
 */
function assertOnlyRootFetched(): void {
  assert.ok(upstream.requests.length > 0);
  const ok = new Set([`1.1 larder-${top.id}`, `1.1 larder-${edge.id}, 1.1 larder-${region.id}, 1.1 larder-${top.id}`]);
  for (const r of upstream.requests) assert.ok(ok.has(String(r.headers.via)), `${r.path} came through ${String(r.headers.via)}`);
}

const pinOf = async (n: ChainDaemon, ref: string) => (await pins(n)).find((p) => p.ref === ref);

test('a pin added at the root is mirrored at the edge; its lag goes from positive to 0', async () => {
  const big = fixture.packages.find((p) => p.name === fixture.bigPackage)!;
  const tarball = big.tarballs.find((t) => t.version === big.distTags.latest)!;
  const ref = `npm:${big.name}@${tarball.version}`;
  link.setRate(1024 * 1024); // ~3 s for the big tarball over the thin link
  const before = Date.now();
  await api(top, '/pins', { method: 'POST', body: { ref } });

  let sawLag = 0;
  const done = await until(
    'the edge to hold the pin',
    async () => {
      const s = await stats(edge);
      sawLag = Math.max(sawLag, s.replication?.lagSeconds ?? 0);
      const p = await pinOf(edge, ref);
      return p?.status === 'ok' && s.replication?.lagSeconds === 0 ? { s, p } : undefined;
    },
    30_000,
  );
  assert.ok(sawLag >= 1, `lag was positive while the closure crossed the thin link (max ${sawLag}s)`);
  assert.equal(done.p.source, 'parent');
  assert.equal(done.p.resolved, tarball.version);
  assert.ok(Date.now() - before >= 2_000, 'the closure really crossed the thin link');
  const r = done.s.replication!;
  assert.equal(r.connected, true);
  assert.equal(r.appliedSeq, r.parentSeq);
  // The bytes are on the edge's disk, and the edge serves them without asking anyone.
  assert.ok((await blobsOnDisk(edge.d.dataDir)).has(sha256hex(await readTarball(tarball.file))));
  const served = await get(`${edge.d.url}/npm${tarball.urlPath}`);
  assert.equal(served.headers.get('x-larder-cache'), 'HIT');
  assert.equal(sha256hex(served.body), sha256hex(await readTarball(tarball.file)));
  assert.equal(upstream.hits(tarball.urlPath), 1, 'fetched upstream once, by the root');
  assertOnlyRootFetched();
  // Each parent lists its child, caught up.
  const kids = await until('the root to list the region', async () => {
    const k = await children(top);
    return k.some((c) => c.id === region.id && c.lagSeconds === 0) ? k : undefined;
  });
  assert.equal(kids.length, 1);
  assert.ok((await children(region)).some((c) => c.id === edge.id && c.connected));
  const metrics = await (await fetch(`${edge.d.url}/metrics`)).text();
  assert.match(metrics, /^larder_replication_lag_seconds 0$/m);
  link.setRate(0);
});

async function readTarball(file: string): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  return readFile(file);
}

test('a dist-tag moved upstream of the root propagates to the edge', async () => {
  const pkg = fixture.packages.find((p) => !p.name.startsWith('@') && p.name !== fixture.bigPackage && p.tarballs.length > 0)!;
  const ref = `npm:${pkg.name}@latest`;
  await api(top, '/pins', { method: 'POST', body: { ref } });
  const first = await until('the edge to pin latest', async () => {
    const p = await pinOf(edge, ref);
    return p?.status === 'ok' ? p : undefined;
  });
  assert.equal(first.resolved, pkg.distTags.latest);
  await upstream.publish(pkg.name, '9.0.0', { tag: 'latest' });
  const moved = await until(
    'the edge to follow the moved dist-tag',
    async () => {
      const p = await pinOf(edge, ref);
      return p?.resolved === '9.0.0' && p.status === 'ok' ? p : undefined;
    },
    30_000,
    async () => JSON.stringify({ edge: await pinOf(edge, ref), region: await pinOf(region, ref), top: await pinOf(top, ref) }),
  );
  assert.equal(moved.lagSeconds, 0);
  const tgz = await get(`${edge.d.url}/npm/${pkg.name}/-/${pkg.name}-9.0.0.tgz`);
  assert.equal(tgz.status, 200);
  assert.equal(tgz.headers.get('x-larder-cache'), 'HIT', 'the new closure was fetched before the pin moved');
  // The pin shows the new version a moment before the sync saves the record as applied.
  await until('the edge to report no lag', async () => ((await stats(edge)).replication?.lagSeconds === 0 ? true : undefined));
  assertOnlyRootFetched();
});

test('with the region cut off the edge serves its cache and lag rises; restored, lag is 0 and nothing is lost', async () => {
  const pkg = fixture.packages.find((p) => p.name === fixture.bigPackage)!;
  const cached = pkg.tarballs.find((t) => t.version === pkg.distTags.latest)!;
  await region.d.close({ keepData: true });
  const down = await until('the edge to notice', async () => {
    const s = await stats(edge);
    return s.replication && !s.replication.connected ? s.replication : undefined;
  });
  // A change published at the root while the region is away.
  const other = fixture.packages.find((p) => p.name.startsWith('@') && p.tarballs.length > 0)!;
  const otherRef = `npm:${other.name}@${other.tarballs[0]!.version}`;
  await api(top, '/pins', { method: 'POST', body: { ref: otherRef } });
  const served = await get(`${edge.d.url}/npm${cached.urlPath}`);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get('x-larder-cache'), 'HIT');
  const doc = await get(`${edge.d.url}/npm/${pkg.name}`);
  assert.equal(doc.status, 200, 'the packument is served from the cache');
  const rising = await until('lag to rise', async () => {
    const r = (await stats(edge)).replication!;
    return r.lagSeconds >= 2 && r.lagSeconds > down.lagSeconds ? r : undefined;
  });
  assert.equal(rising.connected, false);
  assert.ok(rising.lastError, 'the edge says why');

  region = await restartNode(region);
  const back = await until(
    'the edge to catch up',
    async () => {
      const s = await stats(edge);
      const p = await pinOf(edge, otherRef);
      return s.replication?.connected && s.replication.lagSeconds === 0 && p?.status === 'ok' ? { s, p } : undefined;
    },
    40_000,
  );
  assert.equal(back.s.replication!.appliedSeq, back.s.replication!.parentSeq);
  const all = new Set((await pins(edge)).map((p) => p.ref));
  for (const p of await pins(top)) assert.ok(all.has(p.ref), `${p.ref} reached the edge`);
  assertOnlyRootFetched();
});

test('npm installs through the chain with the real client', async () => {
  const registry = `${edge.d.url}/npm/`;
  upstream.resetHits();
  const project = await makeProject(join(root, 'app'), fixture, registry, { mode: 'install', cacheDir: join(root, 'npm-cache') });
  const resolved = project.installed.filter(([, e]) => e.resolved);
  assert.ok(resolved.length >= 20, `a real tree (${resolved.length} packages)`);
  for (const [, e] of resolved) assert.ok(e.resolved!.startsWith(registry), `${e.resolved} is on the edge`);
  const tarballs = upstream.requests.filter((r) => r.path.endsWith('.tgz'));
  assert.equal(new Set(tarballs.map((r) => r.path)).size, tarballs.length, 'each tarball came from the upstream at most once');
  assertOnlyRootFetched();
  const chained = upstream.requests.filter((r) => String(r.headers.via).startsWith(`1.1 larder-${edge.id}, `));
  assert.ok(chained.length >= resolved.length / 2, `the client's misses travelled edge → region → root → upstream (${chained.length})`);
});
