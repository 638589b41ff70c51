/**
 * Cluster benchmark (issue 18): one Larder node against three behind nginx,
 * in the same run, each set with its own bucket on one real Ceph RGW and
 * its own cluster name in one real etcd (both started here with the test
 * helpers). The daemons are child processes (the real CLI); the load
 * generator is bench/load-child.ts in its own process; nginx balances.
 *
 *   node --import tsx bench/cluster.ts [--seconds N] [--rounds N] [--warmup N] [--mb N]
 *
 * Per set: the cold pass (4 concurrent GETs of a 500 MB file and one GET of
 * every packument, through nginx) with the upstream requests it caused;
 * then, every node warmed directly, (a) MB/s of 4 concurrent downloads of
 * the 500 MB file and (b) packument hits/s at 64 connections (autocannon).
 * The floor is the same load against nginx serving the same bytes as static
 * files: the ceiling of the load generator plus nginx on this machine.
 * Results: a table on stdout and bench/results/cluster.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCephRgw } from '../test/helpers/ceph.js';
import { spawnDaemon, tempDir, type ChildDaemon } from '../test/helpers/daemon.js';
import { CORGI_ACCEPT } from '../test/helpers/npm-e2e.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { startStaticUpstream } from '../test/helpers/files-fixture/server.js';
import { generateRegistry } from '../test/helpers/npm-fixture/generate.js';
import { startNpmUpstream } from '../test/helpers/npm-fixture/server.js';
import { cpuWindow, startClusterLb } from './cluster-lb.js';
import { type Cold, report, type Run, type SetName, type Target } from './cluster-report.js';
import { runLoad, type LoadSpec } from './load.js';
import { packumentPath } from './scenarios.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '4' },
    mb: { type: 'string', default: '500' },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const SIZE = Number(flags.mb) * 1e6;
const PACKAGES = 40;

/** Writes SIZE random bytes in 16 MB pieces; returns the file's sha256. */
async function writeBig(file: string): Promise<string> {
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  for (let left = SIZE; left > 0; left -= 16e6) {
    const piece = randomBytes(Math.min(16e6, left));
    hash.update(piece);
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

/** GETs a URL, hashing the body; throws on a non-200 answer. */
async function pull(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  const h = createHash('sha256');
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) h.update(c);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const work = await tempDir('larder-bench-cluster-');
  const root = join(work, 'root');
  await mkdir(join(root, 'f'), { recursive: true });
  console.log(`generating ${flags.mb} MB of random bytes and the npm fixture; starting Ceph RGW and etcd…`);
  const [ceph, etcd, digest, fixture] = await Promise.all([
    startCephRgw({ memstoreBytes: 4 * SIZE + 2 ** 30 }),
    startEtcd(),
    writeBig(join(root, 'f', 'big.bin')),
    generateRegistry(join(work, 'registry'), { packages: PACKAGES, bigTarballBytes: 1024 * 1024 }),
  ]);
  const up = await startStaticUpstream(root);
  up.headers = () => ({ 'cache-control': 'max-age=3600' });
  const npmUp = await startNpmUpstream(fixture, { recordRequests: false });
  const daemons: ChildDaemon[] = [];
  const sets: Record<SetName, ChildDaemon[]> = { one: [], three: [] };
  const base = { log: { level: 'warn' } };
  for (const name of ['one', 'three'] as const) {
    const config = {
      ...base,
      storage: {
        s3: { endpoint: ceph.endpoint, bucket: `bench-${name}`, region: 'us-east-1', accessKey: ceph.accessKey, secretKey: ceph.secretKey },
      },
      cluster: { etcd: [etcd.url], name: `bench-${name}` },
      remotes: {
        web: { type: 'http', url: `${up.url}/f/`, layout: 'plain', ttl: '1h' },
        npm: { type: 'npm', url: npmUp.url, ttl: '1h' },
      },
    } as Parameters<typeof spawnDaemon>[0];
    for (let i = 0; i < (name === 'one' ? 1 : 3); i++) {
      const d = await spawnDaemon(config, join(work, `${name}-${i}`));
      daemons.push(d);
      sets[name].push(d);
    }
  }
  const port = (d: ChildDaemon): number => Number(new URL(d.url).port);
  const lb = await startClusterLb(join(work, 'nginx'), sets.one.map(port), sets.three.map(port), root);
  const packuments = fixture.packages.map((p) => `/npm${packumentPath(p.name)}`);
  const cold = new Map<SetName, Cold>();
  const runs: Run[] = [];
  try {
    for (const name of ['one', 'three'] as const) {
      const origin = lb[name];
      const [f0, n0, t0] = [up.hitCount('/f/big.bin'), npmUp.totalHits(), performance.now()];
      const got = await Promise.all([
        ...Array.from({ length: 4 }, () => pull(`${origin}/files/web/big.bin`)),
        ...packuments.map((p) => pull(`${origin}${p}`, { accept: CORGI_ACCEPT })),
      ]);
      if (got.slice(0, 4).some((g) => g !== digest)) throw new Error(`${name}: a cold copy of the file is wrong`);
      cold.set(name, {
        fileUpstream: up.hitCount('/f/big.bin') - f0,
        npmUpstream: npmUp.totalHits() - n0,
        seconds: (performance.now() - t0) / 1000,
      });
      // Warm every node directly: its disk tier holds the file, its index every packument.
      for (const d of sets[name]) {
        if ((await pull(`${d.url}/files/web/big.bin`)) !== digest) throw new Error(`${d.url}: wrong warm copy`);
        for (const p of packuments) await pull(`${d.url}${p}`, { accept: CORGI_ACCEPT });
        for (const [path, accept] of [
          ['/files/web/big.bin', '*/*'],
          [packuments[0]!, CORGI_ACCEPT],
        ] as const) {
          const res = await fetch(`${d.url}${path}`, { headers: { accept, range: 'bytes=0-0' } });
          await res.arrayBuffer();
          if (res.headers.get('x-larder-cache') !== 'HIT')
            throw new Error(`${d.url}${path}: ${res.headers.get('x-larder-cache')}, not a hit`);
        }
      }
    }
    // The floor serves the same bytes: the file (already under root) and one packument's body.
    await writeFile(
      join(root, 'packument.json'),
      Buffer.from(await (await fetch(`${lb.one}${packuments[0]}`, { headers: { accept: CORGI_ACCEPT } })).arrayBuffer()),
    );
    const paths = {
      larder: { file: ['/files/web/big.bin'], packument: packuments },
      floor: { file: ['/f/big.bin'], packument: ['/packument.json'] },
    };
    const spec = (target: Target, load: Run['load']): LoadSpec => ({
      origin: lb[target],
      paths: paths[target === 'floor' ? 'floor' : 'larder'][load],
      headers: load === 'packument' ? { accept: CORGI_ACCEPT } : {},
      connections: load === 'file' ? 4 : 64,
      seconds: SECONDS,
      serverPid: lb.child.pid ?? 0,
      engine: load === 'file' ? 'http' : 'autocannon',
    });
    const measure = async (target: Target, load: Run['load']): Promise<void> => {
      const nodes = target === 'floor' ? [] : sets[target].map((d) => d.child.pid ?? 0);
      const [larder, nginx] = [cpuWindow(nodes), cpuWindow(lb.pids())];
      const result = await runLoad(BENCH, spec(target, load));
      runs.push({ target, load, result, larderCpu: larder(), nginxCpu: nginx() });
      const rate = load === 'file' ? `${(result.bytesPerSec / 1e6).toFixed(0)} MB/s` : `${result.requestsPerSec.toFixed(0)} hits/s`;
      console.log(`  ${target.padEnd(5)} ${load.padEnd(9)} ${rate} (errors ${result.errors}, non-2xx ${result.non2xx})`);
    };
    for (const load of ['file', 'packument'] as const) {
      for (const t of ['one', 'three', 'floor'] as const) await runLoad(BENCH, { ...spec(t, load), seconds: Number(flags.warmup) }); // warm-up (JIT of every node)
      for (let r = 0; r < ROUNDS; r++) {
        const order: Target[] = r % 2 === 0 ? ['one', 'three', 'floor'] : ['floor', 'three', 'one'];
        for (const t of order) await measure(t, load);
      }
    }
  } finally {
    await lb.stop();
    await Promise.all(daemons.map((d) => d.kill('SIGTERM')));
    await npmUp.close();
    await up.stop();
    await Promise.all([etcd.stop(), ceph.stop()]);
    await rm(work, { recursive: true, force: true });
  }
  await report(runs, cold, { seconds: SECONDS, rounds: ROUNDS, fileMb: Number(flags.mb), packages: PACKAGES });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
