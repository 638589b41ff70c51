/**
 * Pins and the storage budget with the real daemon and the npm fixture:
 * quota pressure evicts the least recently used unpinned content (access
 * times are batched, yet a package a client keeps pulling survives) and
 * never touches a pinned closure (dependencies included); a mutable pin
 * follows a dist-tag moved upstream and reports its lag meanwhile.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pin } from '../../daemon/admin/contract.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { get, setupFixture, sri512 } from '../helpers/npm-e2e.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { adminClient, adminToken, blobBytes, metric } from '../helpers/admin-e2e.js';
import { waitFor } from '../helpers/wait.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;

before(async () => {
  ({ root, fixture } = await setupFixture('larder-pins-'));
  upstream = await startNpmUpstream(fixture);
});

after(async () => {
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const latest = (name: string): FixtureTarball => {
  const p = fixture.packages.find((x) => x.name === name)!;
  return p.tarballs.find((t) => t.version === p.distTags.latest)!;
};
const tgzKey = (t: FixtureTarball): string => `npm:local:tgz:${t.name}/${t.urlPath.split('/').pop()}`;

test('quota pressure evicts least-recently-used unpinned content and never a pinned closure', async () => {
  const MAX = 150_000;
  const daemon: TestDaemon = await startTestDaemon({
    remotes: { local: { type: 'npm', url: upstream.url } },
    storage: { maxSize: MAX, highWatermark: 0.9, lowWatermark: 0.6, checkInterval: '200ms' },
  });
  try {
    const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
    // Pin a package with dependencies: its closure is the package and its dependency tree.
    const pinned = fixture.packages.find((p) => {
      const deps = upstream.packument(p.name)!.versions[p.distTags.latest!]!.dependencies ?? {};
      return p.name !== fixture.bigPackage && Object.keys(deps).length === 1;
    })!;
    const pin = (await admin.call<Pin>('POST', '/pins', { ref: `npm:${pinned.name}@${pinned.distTags.latest}` })).body;
    assert.equal(pin.status, 'ok', JSON.stringify(pin));
    const pinnedKeys = new Set((await admin.entries()).filter((e) => e.pinned).map((e) => e.key));
    assert.equal(pinnedKeys.size, pin.items);
    assert.ok(pin.items >= 4, 'the package and at least one dependency, each packument + tarball');
    assert.ok(pinnedKeys.has(tgzKey(latest(pinned.name))));
    const pinnedNames = new Set([...pinnedKeys].map((k) => k.replace(/^npm:local:(?:doc|tgz):/, '').replace(/\/[^/]+\.tgz$/, '')));
    assert.ok(pinnedNames.size >= 2, `dependencies are pinned too: ${[...pinnedNames].join(', ')}`);

    // Clients pull unpinned packages one after the other, and keep pulling the first one.
    const order = fixture.packages
      .filter((p) => p.name !== fixture.bigPackage && !pinnedNames.has(p.name))
      .slice(0, 16)
      .map((p) => latest(p.name));
    const hot = order[0]!;
    const pull = async (t: FixtureTarball): Promise<string | null> => {
      assert.equal((await get(`${daemon.url}/npm/${t.name.replace('/', '%2f')}`)).status, 200);
      const r = await get(`${daemon.url}/npm${t.urlPath}`);
      assert.equal(sri512(r.body), t.integrity);
      return r.headers.get('x-larder-cache');
    };
    const hotStates: Array<string | null> = [];
    for (const t of order) {
      await pull(t);
      await sleep(40);
      hotStates.push(await pull(hot));
      await sleep(110);
    }
    // Answered bodies are committed behind the answers once clients pause (core/write-behind.ts): right after
    // the last pull the index may hold none of them yet. Wait until every pulled entry was committed (it is
    // listed, or an eviction removed it: the audit counts the entries each eviction took) and usage is back
    // under the high watermark (eviction runs behind the commits; a loaded machine may take a while).
    const settled = pinnedKeys.size + 2 * order.length;
    const keys = await waitFor(
      async () => {
        const evicted = (await admin.audit())
          .filter((a) => a.action === 'delete' && a.reason === 'evict')
          .reduce((n, a) => n + Number(a.details?.entries ?? 0), 0);
        const listed = (await admin.entries()).map((e) => e.key);
        return listed.length + evicted === settled && (await blobBytes(daemon.dataDir)) <= MAX * 0.9 ? new Set(listed) : undefined;
      },
      20_000,
      'every pulled entry committed (listed or evicted) and usage under the high watermark',
    );
    for (const k of pinnedKeys) assert.ok(keys.has(k), `pinned ${k} kept`);
    assert.ok(
      keys.has(tgzKey(hot)) && keys.has(`npm:local:doc:${hot.name}`),
      `the package clients keep pulling stays: ${[...keys].join(' ')}`,
    );
    assert.deepEqual(
      hotStates.slice(1),
      hotStates.slice(1).map(() => 'HIT'),
      'it was never evicted meanwhile',
    );
    assert.equal(upstream.hits(hot.urlPath), 1);
    assert.equal(upstream.hits(`/${hot.name}`), 1);
    assert.ok(keys.has(tgzKey(order.at(-1)!)), 'the newest stays');
    const present = order.slice(1).map((t) => keys.has(tgzKey(t)));
    const firstKept = present.indexOf(true);
    assert.ok(firstKept > 0, `something was evicted: ${JSON.stringify(present)}`);
    assert.ok(present.slice(firstKept).every(Boolean), `least recently used first: ${JSON.stringify(present)}`);
    assert.ok(present.slice(0, firstKept).every((p) => !p));

    const stats = await admin.stats();
    assert.ok(stats.evictions.count > 0);
    assert.ok(stats.storage.usedBytes <= MAX * 0.9 || stats.storage.usedBytes > 0);
    const audit = await admin.audit();
    const deletions = audit.filter((a) => a.action === 'delete' && a.reason === 'evict');
    assert.ok(deletions.length >= firstKept, 'every eviction is in the audit log');
    const pinnedEntries = (await admin.entries()).filter((e) => e.pinned);
    for (const d of deletions) assert.ok(!pinnedEntries.some((e) => e.digest === d.target), `pinned blob ${d.target} never deleted`);
    assert.ok(((await metric(daemon.url, 'larder_evictions_total')) ?? 0) > 0);

    // The pinned closure is still served from the cache; an evicted package is fetched again.
    upstream.resetHits();
    assert.equal(await pull(latest(pinned.name)), 'HIT');
    assert.equal(upstream.hits(latest(pinned.name).urlPath), 0);
    assert.equal(await pull(order[1]!), 'MISS');

    // An operator cannot evict a pinned entry; after unpinning they can.
    const refused = await admin.call<{ error: { code: string } }>('POST', '/evict', { key: tgzKey(latest(pinned.name)) });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'E_FORBIDDEN');
    await admin.ok('DELETE', `/pins/${pin.id}`);
    const evicted = await admin.ok<{ removed: number }>('POST', '/evict', { key: tgzKey(latest(pinned.name)) });
    assert.equal(evicted.removed, 1);
    assert.equal(await pull(latest(pinned.name)), 'MISS');
    assert.ok((await admin.audit()).some((a) => a.action === 'unpin'));
  } finally {
    await daemon.close();
  }
});

test('a mutable pin follows a dist-tag moved upstream and reports the lag while the new closure downloads', async () => {
  const daemon = await startTestDaemon({ remotes: { local: { type: 'npm', url: upstream.url } }, pins: { interval: '500ms' } });
  try {
    const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
    const pkg = fixture.packages.find(
      (p) => p.name !== fixture.bigPackage && !p.distTags.next && !upstream.packument(p.name)!.versions[p.distTags.latest!]!.dependencies,
    )!;
    const before = pkg.distTags.latest!;
    const created = await admin.call<Pin>('POST', '/pins', { ref: `npm:${pkg.name}@latest` });
    assert.equal(created.status, 201);
    const pin = created.body;
    assert.deepEqual([pin.mutable, pin.status, pin.resolved, pin.lagSeconds], [true, 'ok', before, 0]);
    assert.equal(await metric(daemon.url, 'larder_pin_lag_seconds_max'), 0);

    // The new tarball trickles in: 256 bytes every 250 ms.
    upstream.setDelay(250, 256);
    const next = '9.0.0';
    await upstream.publish(pkg.name, next, { tag: 'latest' });
    const seen: Array<{ status: string; lag: number; metric: number | undefined; resolved?: string }> = [];
    const done = await waitFor(
      async () => {
        const p = await admin.pin(pin.id);
        seen.push({
          status: p.status,
          lag: p.lagSeconds,
          metric: await metric(daemon.url, 'larder_pin_lag_seconds_max'),
          resolved: p.resolved,
        });
        return p.resolved === next && p.status === 'ok' ? p : undefined;
      },
      30_000,
      'the pin to follow the moved dist-tag',
      100,
    );
    upstream.setDelay(0);
    const lagging = seen.filter((s) => s.status === 'lagging');
    assert.ok(lagging.length >= 3, `lag observed while the new closure was fetched: ${JSON.stringify(seen.slice(0, 5))}`);
    assert.ok(
      lagging.every((s) => s.lag > 0 && s.resolved === before),
      'lag > 0 and still the old closure until the new one is in',
    );
    assert.ok(lagging.at(-1)!.lag > lagging[0]!.lag, 'the lag grows');
    assert.ok(
      lagging.some((s) => (s.metric ?? 0) > 0),
      'Prometheus larder_pin_lag_seconds_max > 0 meanwhile',
    );
    assert.equal(done.lagSeconds, 0);
    assert.equal(done.changeSeenAt, undefined);
    assert.ok(done.lastCheckedAt! >= pin.createdAt);
    assert.equal(await metric(daemon.url, 'larder_pin_lag_seconds_max'), 0);
    assert.ok(((await metric(daemon.url, 'larder_pin_lag_seconds_count')) ?? 0) > 0, 'the lag histogram is observed');

    // The new closure is pinned and cached; the old one is no longer protected (history 0).
    const newTgz = `npm:local:tgz:${pkg.name}/${pkg.name.split('/').pop()}-${next}.tgz`;
    const entries = await admin.entries(`:${pkg.name}`);
    assert.equal(entries.find((e) => e.key === newTgz)?.pinned, true);
    assert.equal(entries.find((e) => e.key === tgzKey(latest(pkg.name)))?.pinned, false);
    upstream.resetHits();
    const r = await get(`${daemon.url}/npm/${pkg.name}/-/${pkg.name.split('/').pop()}-${next}.tgz`);
    assert.equal(r.headers.get('x-larder-cache'), 'HIT');
    assert.equal(sri512(r.body), upstream.packument(pkg.name)!.versions[next]!.dist.integrity);
  } finally {
    upstream.setDelay(0);
    await daemon.close();
  }
});
