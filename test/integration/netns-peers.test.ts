/**
 * LAN peers at the daemon level, in network namespaces: three "laptops",
 * each a real Larder daemon (the CLI) in its own namespace on one bridge
 * with `peers: { discover: mdns }`, and the npm fixture upstream behind a
 * rate-limited link in a fourth. They find each other by mDNS; the same
 * real `npm ci` on laptop 1, then 2, then 3 takes each tarball over the
 * upstream link once, 2 and 3 counting theirs as from peers; a fifth daemon
 * with a wrong token is refused both ways and its client still installs.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setupFixtureSmall } from '../helpers/netns-fixture.js';
import { netnsNpmBin, nsGet, nsMetric, spawnNetnsDaemon, type NetnsDaemon } from '../helpers/netns-daemon.js';
import type { UpstreamStats } from '../helpers/netns-npm-upstream.js';
import { createNetnsLab, netnsSkipReason, onLines, type NetnsHost, type NetnsLab } from '../helpers/netns.js';
import { runNpm } from '../helpers/npm-fixture/project.js';
import { peerAuthorization, sha512Hex } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';

const skip = netnsSkipReason();
if (skip) console.log(`# skipping daemon-level peer namespace tests: ${skip}`);

const TOKEN = 'peer-token-of-the-site-0123456789';
const ADMIN = 'admin-token-of-the-lab-0123456789';
const RATE = 4 * 1024 * 1024;
const NPM_FLAGS = ['--no-audit', '--no-fund', '--ignore-scripts', '--replace-registry-host=127.0.0.1'];
const script = fileURLToPath(new URL('../helpers/netns-npm-upstream.ts', import.meta.url));

let root = '';
let lab: NetnsLab;
let hosts: NetnsHost[] = [];
let upstream = { url: '', stats: '' };
let project: Awaited<ReturnType<typeof setupFixtureSmall>>;
let npmBin = '';
const laptops: NetnsDaemon[] = [];
let stranger: NetnsDaemon | undefined;

function laptop(i: number, token = TOKEN): Promise<NetnsDaemon> {
  const h = hosts[i]!;
  return spawnNetnsDaemon(
    h,
    {
      admin: { token: ADMIN },
      remotes: { local: { type: 'npm', url: `${upstream.url}/` } },
      peers: { enabled: true, discover: 'mdns', token, budget: '2s' },
    },
    join(root, `laptop-${i}`),
  );
}

async function stats(): Promise<UpstreamStats> {
  return JSON.parse((await nsGet(hosts[0]!, upstream.stats)).body) as UpstreamStats;
}

/** Tarball paths of the project asked of the upstream, with their counts. */
const tarballCounts = (s: UpstreamStats): number[] => project.tarballs.map((t) => s.paths[t.path] ?? 0);

/** `npm ci` of the project inside host i's namespace against daemon d; returns the wall time. */
async function npmCi(i: number, d: NetnsDaemon): Promise<number> {
  const dir = join(root, `app-${i}`);
  await mkdir(dir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) await copyFile(join(project.dir, f), join(dir, f));
  const run = await runNpm(['ci', ...NPM_FLAGS], {
    cwd: dir,
    registry: `${d.url}/npm/`,
    cacheDir: join(root, `npm-cache-${i}`),
    npmBin,
    env: { LARDER_NETNS: hosts[i]!.ns },
  });
  return run.durationMs;
}

/** Waits until daemon d answers the peer API for every tarball of the project (its fills are committed). */
async function held(i: number, d: NetnsDaemon): Promise<void> {
  await Promise.all(
    project.tarballs.map((t) => {
      const target = `/_/peer/v1/blobs/sha512/${sha512Hex(t.integrity)}`;
      // A fresh signature per request: each is good once.
      const head = (): string[] => ['-I', '-o', '/dev/null', '-H', `authorization: ${peerAuthorization(TOKEN, 'HEAD', target)}`];
      const url = `${d.url}${target}`;
      return waitFor(async () => (await nsGet(hosts[i]!, url, head())).status === 200, 10_000, `${t.path} held by laptop ${i + 1}`);
    }),
  );
}

before(async () => {
  if (skip) return;
  project = await setupFixtureSmall('larder-netns-peers-');
  root = project.root;
  npmBin = await netnsNpmBin(root);
  lab = await createNetnsLab(5);
  hosts = lab.hosts;
  const up = hosts[3]!.spawn(process.execPath, ['--import', 'tsx', script, project.fixture.dir, hosts[3]!.address, String(RATE)]);
  onLines(up, (l) => {
    upstream = JSON.parse(l) as typeof upstream;
  });
  up.stderr?.on('data', (d: Buffer) => process.stderr.write(`[upstream] ${d.toString()}`));
  await waitFor(() => upstream.url !== '', 30_000, 'the upstream namespace to listen');
  laptops.push(...(await Promise.all([0, 1, 2].map((i) => laptop(i)))));
});

after(async () => {
  if (skip) return;
  await Promise.all([...laptops, ...(stranger ? [stranger] : [])].map((d) => d.stop()));
  await lab?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('each laptop daemon finds the other two by mDNS across the bridge', { skip }, async () => {
  const want = (i: number): string => JSON.stringify(laptops.filter((_, j) => j !== i).map((d) => d.url));
  try {
    await waitFor(() => laptops.every((d, i) => JSON.stringify(d.peers()) === want(i)), 60_000, 'every laptop to list the other two');
  } catch (e) {
    throw new Error(`${(e as Error).message}; lists: ${JSON.stringify(laptops.map((d) => d.peers()))}`);
  }
});

test('npm ci on laptop 1, 2, 3: each tarball crosses the upstream link once; 2 and 3 get theirs from peers', { skip }, async () => {
  const bytes = project.tarballs.reduce((n, t) => n + t.size, 0);
  const before = await stats();
  assert.deepEqual(
    tarballCounts(before),
    project.tarballs.map(() => 0),
  );
  const link: number[] = [];
  let last = before;
  for (const [i, d] of laptops.entries()) {
    const ms = await npmCi(i, d);
    await held(i, d);
    const now = await stats();
    link.push(now.linkBytes - last.linkBytes);
    console.log(`# laptop ${i + 1}: npm ci ${ms} ms, ${now.linkBytes - last.linkBytes} bytes over the upstream link`);
    last = now;
  }
  assert.deepEqual(
    tarballCounts(last),
    project.tarballs.map(() => 1),
    'each tarball asked of the upstream once',
  );
  const metricOf = (i: number, name: string): Promise<number> => nsMetric(hosts[i]!, laptops[i]!.url, name);
  assert.equal(await metricOf(0, 'larder_peer_hits_total'), 0);
  for (const i of [1, 2]) {
    assert.equal(await metricOf(i, 'larder_peer_hits_total'), project.tarballs.length, `laptop ${i + 1}: a peer hit per tarball`);
    assert.equal(await metricOf(i, 'larder_peer_bytes_total'), bytes, `laptop ${i + 1}: every tarball byte from peers`);
    assert.equal(await metricOf(i, 'larder_peer_failures_total'), 0);
  }
  assert.ok(link[0]! > bytes, `laptop 1 took the tarballs over the link (${link[0]} > ${bytes})`);
  for (const n of link.slice(1)) assert.ok(n < link[0]! - bytes, `laptops 2 and 3 took less than laptop 1 without its tarballs (${n})`);
});

test('a daemon without the site token is refused both ways, and its client still installs from the upstream', { skip }, async () => {
  stranger = await laptop(4, 'not-the-site-token-0000');
  const all = [...laptops.map((d) => d.url), stranger.url];
  await waitFor(() => laptops.every((d) => d.peers().includes(stranger!.url)), 60_000, 'the laptops to see the stranger');
  await waitFor(() => stranger!.peers().length === 3, 60_000, 'the stranger to see the laptops');
  assert.deepEqual(stranger.peers(), all.slice(0, 3));
  const before = tarballCounts(await stats());
  await npmCi(4, stranger);
  const h4 = hosts[4]!;
  assert.ok((await nsMetric(h4, stranger.url, 'larder_peer_failures_total', 'reason="refused"')) >= 1, 'the laptops refused it');
  assert.equal(await nsMetric(h4, stranger.url, 'larder_peer_hits_total'), 0);
  assert.deepEqual(
    tarballCounts(await stats()),
    before.map((n) => n + 1),
    'its tarballs came from the upstream',
  );
  // The other way: laptop 1 misses a tarball and asks its peers, the stranger among them.
  const spare = project.spare;
  const got = await nsGet(hosts[0]!, `${laptops[0]!.url}/npm${spare.path}`, ['-o', '/dev/null']);
  assert.equal(got.status, 200);
  assert.equal(await nsMetric(hosts[0]!, laptops[0]!.url, 'larder_peer_failures_total', 'reason="refused"'), 1, 'laptop 1 refused by it');
  assert.equal(await nsMetric(hosts[0]!, laptops[0]!.url, 'larder_peer_hits_total'), 0);
});
