/**
 * LAN peers on loopback: three daemons with static peer lists of each other
 * and one npm fixture upstream. The same tarballs through daemon 1, then 2,
 * then 3 cross the upstream once; a peer that flips a byte is detected,
 * dropped and counted while the client gets the upstream's bytes; a peer
 * without the token is refused and not used; a peer that vanishes (or cuts a
 * transfer) costs a bounded delay, then the upstream. The peers' budget is
 * long here (a loaded test machine must not turn a peer hit into a miss).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { get, setupFixture, sri512 } from '../helpers/npm-e2e.js';
import { ROOT, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { AdminClient } from '../../daemon/admin/client.js';
import { freePorts, metric, peerAuthorization, peerRequest, sha512Hex, startFakePeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const TOKEN = 'peer-token-of-the-site-0123456789';
let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let tarballs: FixtureTarball[];
const daemons: TestDaemon[] = [];

function peerDaemon(name: string, peers: string[], token = TOKEN, listen?: string): Promise<TestDaemon> {
  return startTestDaemon(
    {
      remotes: { local: { type: 'npm', url: upstream.url } },
      peers: { enabled: true, discover: 'static', static: peers, token, budget: '3s' },
    },
    { dataDir: join(root, name), ...(listen ? { listen } : {}) },
  );
}

/** GETs a tarball through a daemon; its bytes must match the fixture's integrity. */
async function fetchTarball(d: TestDaemon, t: FixtureTarball): Promise<void> {
  const res = await get(`${d.url}/npm${t.urlPath}`);
  assert.equal(res.status, 200, t.urlPath);
  assert.equal(sri512(res.body), t.integrity, `${t.urlPath}: bytes match the integrity`);
}

/** Waits until a daemon answers the peer API for every tarball (its fills are committed). */
async function held(d: TestDaemon, list: FixtureTarball[]): Promise<void> {
  for (const t of list) {
    await waitFor(async () => (await peerRequest(d.url, `sha512/${sha512Hex(t.integrity)}`, TOKEN)).status === 200, 10_000, t.urlPath);
  }
}

before(async () => {
  ({ root, fixture } = await setupFixture('larder-peers-'));
  upstream = await startNpmUpstream(fixture);
  tarballs = fixture.packages
    .filter((p) => p.name !== fixture.oldStylePackage)
    .map((p) => p.tarballs.at(-1)!)
    .slice(0, 24);
  const ports = await freePorts(3);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  for (let i = 0; i < 3; i++) {
    daemons.push(
      await peerDaemon(
        `d${i + 1}`,
        urls.filter((_, j) => j !== i),
        TOKEN,
        `127.0.0.1:${ports[i]}`,
      ),
    );
  }
});

after(async () => {
  for (const d of daemons) await d.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('the same tarballs through daemon 1, 2, 3: each crosses the upstream once; 2 and 3 get them from peers', async () => {
  upstream.resetHits();
  for (const d of daemons) {
    for (const t of tarballs) await fetchTarball(d, t);
    await held(d, tarballs);
  }
  for (const t of tarballs) assert.equal(upstream.hits(t.urlPath), 1, `${t.urlPath} fetched upstream once`);
  const [d1, d2, d3] = daemons as [TestDaemon, TestDaemon, TestDaemon];
  assert.equal(await metric(d1.url, 'larder_peer_hits_total'), 0);
  assert.equal(await metric(d2.url, 'larder_peer_hits_total'), tarballs.length);
  assert.equal(await metric(d3.url, 'larder_peer_hits_total'), tarballs.length);
  const bytes = tarballs.reduce((n, t) => n + t.size, 0);
  assert.equal(await metric(d2.url, 'larder_peer_bytes_total'), bytes);
  assert.equal(await metric(d2.url, 'larder_peer_failures_total'), 0);
});

/** The shared admin client of a daemon (its admin token). */
async function admin(d: TestDaemon): Promise<AdminClient> {
  return new AdminClient({ baseUrl: d.url, auth: { bearer: await adminToken(d.dataDir) } });
}

test('the admin API, /stats and `larder peers` list the peers with their health and the share of misses they served', async () => {
  const d2 = daemons[1]!;
  const report = await (await admin(d2)).peers();
  assert.equal(report.enabled, true);
  assert.deepEqual(report.discover, ['static']);
  assert.deepEqual(
    report.peers.map((p) => [p.url, p.healthy, p.failures]),
    [daemons[0]!.url, daemons[2]!.url].sort().map((u) => [u, true, 0]),
  );
  assert.equal(
    report.peers.reduce((n, p) => n + p.hits, 0),
    tarballs.length,
  );
  assert.deepEqual(report.today, { misses: tarballs.length, fromPeers: tarballs.length });
  const stats = await (await admin(d2)).stats();
  assert.deepEqual(stats.peers, { count: 2, healthy: 2, today: report.today });
  const r = await run(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), 'peers', '--listen', `127.0.0.1:${d2.port}`, '--data-dir', d2.dataDir],
    {
      cwd: ROOT,
      timeout: 60_000,
    },
  );
  const lines = r.stdout.trim().split('\n');
  assert.equal(
    lines[0],
    `2 peers (2 healthy) by static · 100 % of today's misses served by peers (${tarballs.length} of ${tarballs.length})`,
  );
  assert.match(lines[1]!, new RegExp(`^${report.peers[0]!.url}  healthy  hits \\d+`));
});

test('the peer API: token required, strict paths, ranges, and nothing fetched on a miss', async () => {
  const d1 = daemons[0]!;
  const t = tarballs[0]!;
  const path = `sha512/${sha512Hex(t.integrity)}`;
  assert.equal((await peerRequest(d1.url, path, undefined)).status, 401);
  assert.equal((await peerRequest(d1.url, path, 'wrong-token-wrong-token')).status, 401);
  // The token itself is not accepted in place of a signature.
  assert.equal((await peerRequest(d1.url, path, undefined, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 401);
  // A signed request is good once: replayed, it is refused (in the API's error format, with its stable code).
  const target = `/_/peer/v1/blobs/${path}`;
  const signed = { authorization: peerAuthorization(TOKEN, 'HEAD', target) };
  assert.equal((await peerRequest(d1.url, path, undefined, { headers: signed })).status, 200);
  const replay = await peerRequest(d1.url, path, undefined, { method: 'GET', headers: signed });
  assert.equal(replay.status, 401, 'a HEAD signature does not serve a GET');
  const again = await peerRequest(d1.url, path, undefined, { headers: signed });
  assert.equal(again.status, 401);
  assert.match(again.headers.get('www-authenticate') ?? '', /^Larder-Peer /);
  const body = (await peerRequest(d1.url, path, undefined, { method: 'GET', headers: signed }).then((r) => r.json())) as {
    code?: string;
  };
  assert.equal(body.code, 'E_UNAUTHORIZED', JSON.stringify(body));
  for (const bad of ['sha256/..%2F..%2Fetc', `sha512/${sha512Hex(t.integrity).toUpperCase()}`, 'md5/00', `sha256/${'0'.repeat(63)}`]) {
    assert.equal((await peerRequest(d1.url, bad, TOKEN)).status, 404, bad);
  }
  const range = await peerRequest(d1.url, path, TOKEN, { method: 'GET', headers: { range: 'bytes=0-9' } });
  assert.equal(range.status, 206);
  assert.equal(Buffer.from(await range.arrayBuffer()).length, 10);
  // A blob this daemon has not got is a 404, and its upstream is not asked.
  const other = fixture.packages.find((p) => p.tarballs.length > 1 && p.name !== fixture.oldStylePackage)!.tarballs[0]!;
  upstream.resetHits();
  assert.equal((await peerRequest(d1.url, `sha512/${sha512Hex(other.integrity)}`, TOKEN, { method: 'GET' })).status, 404);
  assert.equal(upstream.totalHits(), 0);
});

test('a peer that flips a byte is detected, dropped and counted; the client gets the upstream bytes', async () => {
  const fake = await startFakePeer(tarballs, 'flip');
  const d = await peerDaemon('flip', [fake.url]);
  try {
    await fetchTarball(d, tarballs[0]!);
    assert.equal(await metric(d.url, 'larder_peer_failures_total', 'reason="integrity"'), 1);
    assert.equal(await metric(d.url, 'larder_peer_hits_total'), 0);
    const asked = fake.requests.length;
    await fetchTarball(d, tarballs[1]!);
    assert.equal(fake.requests.length, asked, 'a dropped peer is not asked again');
    const [listed] = (await (await admin(d)).peers()).peers;
    assert.equal(listed?.healthy, false, 'listed as left out');
    assert.equal(listed?.lastFailure?.reason, 'integrity');
    assert.ok((listed?.droppedUntil ?? 0) > Date.now());
  } finally {
    await d.close();
    await fake.close();
  }
});

test('a peer without the site token is refused and not used', async () => {
  const d = await peerDaemon('stranger', [daemons[0]!.url], 'not-the-site-token-0000');
  try {
    upstream.resetHits();
    await fetchTarball(d, tarballs[2]!);
    assert.equal(upstream.hits(tarballs[2]!.urlPath), 1, 'fetched from the upstream');
    assert.equal(await metric(d.url, 'larder_peer_failures_total', 'reason="refused"'), 1);
    assert.equal(await metric(d.url, 'larder_peer_hits_total'), 0);
  } finally {
    await d.close();
  }
});

test('a peer that vanished, or cuts a transfer, costs a bounded delay, then the upstream from the start when it has no ranges', async (tc) => {
  const [gone] = await freePorts(1);
  const cut = await startFakePeer(tarballs, 'cut');
  const d = await peerDaemon('gone', [`http://127.0.0.1:${gone}`, cut.url]);
  try {
    const t0 = performance.now();
    await fetchTarball(d, tarballs[3]!);
    tc.diagnostic(`cut peer, upstream without ranges: ${Math.round(performance.now() - t0)} ms for ${tarballs[3]!.size} bytes`);
    assert.equal(await metric(d.url, 'larder_peer_failures_total', 'reason="unreachable"'), 1);
    assert.equal(await metric(d.url, 'larder_peer_failures_total', 'reason="transfer"'), 1);
    assert.equal(await metric(d.url, 'larder_peer_resumes_total', 'how="restart"'), 1);
    assert.equal(await metric(d.url, 'larder_peer_hits_total'), 0);
  } finally {
    await d.close();
    await cut.close();
  }
});

test('a peer cut mid-transfer: the rest comes from the upstream by Range, from the byte the peer got to; verified whole', async (tc) => {
  const cut = await startFakePeer(tarballs, 'cut');
  const d = await peerDaemon('resume', [cut.url]);
  const t = tarballs[4]!;
  upstream.setRanges(true);
  upstream.resetHits();
  try {
    const t0 = performance.now();
    await fetchTarball(d, t);
    tc.diagnostic(`cut peer, resumed by range: ${Math.round(performance.now() - t0)} ms for ${t.size} bytes`);
    const half = t.size >> 1;
    const asked = upstream.requests.filter((r) => r.path === t.urlPath);
    assert.deepEqual(
      asked.map((r) => r.headers.range),
      [`bytes=${half}-`],
      'one upstream request, for the rest only',
    );
    assert.equal(await metric(d.url, 'larder_peer_resumes_total', 'how="range"'), 1);
    assert.equal(await metric(d.url, 'larder_peer_fallback_delay_seconds_count', 'how="range"'), 1, 'the delay of the break reported');
    assert.equal(await metric(d.url, 'larder_peer_bytes_total'), half, 'the peer part counted as peer bytes');
    assert.equal(await metric(d.url, 'larder_peer_hits_total'), 0, 'not a whole peer hit');
    // Committed: a second read is a hit, with the same (verified) bytes.
    await fetchTarball(d, t);
    assert.equal(upstream.hits(t.urlPath), 1);
  } finally {
    upstream.setRanges(false);
    await d.close();
    await cut.close();
  }
});

test('a peer that stalls mid-transfer is given up after the stall time; the body comes from the upstream', async (tc) => {
  const stall = await startFakePeer(tarballs, 'stall');
  const d = await startTestDaemon(
    {
      remotes: { local: { type: 'npm', url: upstream.url } },
      peers: { enabled: true, discover: 'static', static: [stall.url], token: TOKEN, budget: '3s', stall: '1s' },
    },
    { dataDir: join(root, 'stall') },
  );
  const t = tarballs[5]!;
  try {
    const t0 = performance.now();
    await fetchTarball(d, t);
    tc.diagnostic(`stalled peer (stall: 1s): ${Math.round(performance.now() - t0)} ms for ${t.size} bytes`);
    assert.equal(await metric(d.url, 'larder_peer_failures_total', 'reason="slow"'), 1);
    assert.equal(await metric(d.url, 'larder_peer_resumes_total', 'how="restart"'), 1);
  } finally {
    await d.close();
    await stall.close();
  }
});
