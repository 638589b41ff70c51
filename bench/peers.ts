/**
 * LAN peers benchmark: three "laptops" (Larder daemons) run the same
 * `npm ci` of a generated app (268 tarballs by default) one after another,
 * each through its own daemon, with the upstream behind one shaped link
 * (50 Mbit/s, 20 ms one way: bench/shaping-proxy.ts). Once with peers off,
 * once with peers on (static peer lists on loopback). Reported per laptop:
 * bytes that crossed the upstream link, the `npm ci` wall time, tarballs
 * from peers, and the HEAD rounds to the peers (larder_peer_ask_seconds)
 * by outcome. One run; loopback only, no root needed.
 *
 * Each laptop is a real daemon in a child process of its own (as on three
 * machines); PEERS_DAEMONS=inprocess runs all three in this process
 * instead, sharing one event loop with each other and with the upstream.
 *
 *   node --import tsx bench/peers.ts
 *   PEERS_BUDGET=500ms PEERS_DAEMONS=inprocess BENCH_PACKAGES=40 node --import tsx bench/peers.ts
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigInput } from '../daemon/config/schema.js';
import { spawnDaemon, startTestDaemon } from '../test/helpers/daemon.js';
import { generateRegistry } from '../test/helpers/npm-fixture/generate.js';
import { startNpmUpstream } from '../test/helpers/npm-fixture/server.js';
import { freePorts, metric, peerRequest, sha512Hex } from '../test/helpers/peers.js';
import { waitFor } from '../test/helpers/wait.js';
import type { RegistryFixture } from '../test/helpers/npm-fixture/types.js';
import { prepareApp, timeNpmCi, type AppProject } from './npm-ci.js';
import { startShapingProxy } from './shaping-proxy.js';

const LINK = { mbit: 50, latencyMs: 20 };
const TOKEN = 'bench-peer-token-0123456789abcdef';
/** peers.budget (the HEAD round); the daemons' default. */
const BUDGET = process.env.PEERS_BUDGET ?? '100ms';
const INPROCESS = process.env.PEERS_DAEMONS === 'inprocess';
/** Packages of the generated registry, and the tarballs the app's lockfile should install (the 268). */
const PACKAGES = Number(process.env.BENCH_PACKAGES ?? '181');
const TARBALLS = Number(process.env.BENCH_TARBALLS ?? '268');

/**
 * The fixture's app, grown to `TARBALLS` lockfile entries: every package of
 * the generated registry is already reached, so versions the lockfile does
 * not hold yet are added one at a time as npm aliases
 * (`"bench-extra-1": "npm:<name>@<version>"`), each kept if the lockfile
 * stays at or under `TARBALLS` entries, until it has exactly that many or a
 * few tries ran out (then as close under it as they got).
 */
async function appOfSize(root: string, fixture: RegistryFixture, upstreamUrl: string): Promise<AppProject> {
  let deps = { ...fixture.appDependencies };
  let app = await prepareApp(root, fixture, upstreamUrl, deps);
  const lock = async (): Promise<Set<string>> => {
    const l = JSON.parse(await readFile(join(app.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    return new Set(Object.entries(l.packages).map(([path, e]) => `${path.slice(path.lastIndexOf('node_modules/') + 13)}@${e.version}`));
  };
  const held = await lock();
  const skip = new Set([fixture.oldStylePackage, fixture.bigPackage]);
  const extra = fixture.packages.flatMap((p) =>
    skip.has(p.name) ? [] : p.versions.filter((v) => !held.has(`${p.name}@${v}`)).map((v) => `${p.name}@${v}`),
  );
  let kept = true;
  for (const [i, spec] of extra.slice(0, 10).entries()) {
    if (app.packages >= TARBALLS) break;
    const more = { ...deps, [`bench-extra-${i + 1}`]: `npm:${spec}` };
    const tried = await prepareApp(root, fixture, upstreamUrl, more);
    kept = tried.packages <= TARBALLS;
    if (kept) [deps, app] = [more, tried];
  }
  // After a rejected try the app directory holds its lockfile: made again from the kept dependencies.
  return kept ? app : prepareApp(root, fixture, upstreamUrl, deps);
}

interface Laptop {
  url: string;
  close(): Promise<void>;
}

/** A laptop's daemon: a child process of its own, or (PEERS_DAEMONS=inprocess) in this process. */
async function laptop(config: Omit<ConfigInput, 'listen'>, dataDir: string, port: number): Promise<Laptop> {
  const listen = `127.0.0.1:${port}`;
  if (INPROCESS) return startTestDaemon(config, { dataDir, listen });
  await mkdir(dataDir, { recursive: true });
  const d = await spawnDaemon({ log: { level: 'warn' }, ...config }, dataDir, [], listen);
  return { url: d.url, close: async () => void (await d.kill('SIGTERM')) };
}

interface Row {
  peers: 'off' | 'on';
  laptop: number;
  upstreamBytes: number;
  wallMs: number;
  peerHits: number;
  peerFailures: number;
  /** HEAD rounds by outcome, and their mean duration (ms). */
  asks: Record<'held' | 'none' | 'budget', number>;
  askMeanMs: number;
  /** The laptop's event-loop delay during its npm ci (p99 and max, ms). */
  lagP99Ms: number;
  lagMaxMs: number;
}

const LAG = 'larder_process_nodejs_eventloop_lag_';

/** Waits until a laptop answers the peer API for every tarball (its fills are committed). */
async function held(d: Laptop, integrities: string[]): Promise<void> {
  for (const i of integrities) {
    await waitFor(async () => (await peerRequest(d.url, `sha512/${sha512Hex(i)}`, TOKEN)).status === 200, 30_000, i);
  }
}

/** The laptop's HEAD rounds (larder_peer_ask_seconds) by outcome, and their mean duration. */
async function asks(d: Laptop): Promise<Pick<Row, 'asks' | 'askMeanMs'>> {
  const count = (o: string): Promise<number> => metric(d.url, 'larder_peer_ask_seconds_count', `outcome="${o}"`);
  const by = { held: await count('held'), none: await count('none'), budget: await count('budget') };
  const n = by.held + by.none + by.budget;
  const sum = await metric(d.url, 'larder_peer_ask_seconds_sum');
  return { asks: by, askMeanMs: n > 0 ? (sum * 1000) / n : 0 };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'larder-bench-peers-'));
  const fixture = await generateRegistry(join(root, 'registry'), { packages: PACKAGES });
  const upstream = await startNpmUpstream(fixture, { recordRequests: false });
  const link = await startShapingProxy(upstream.url.replace(/\/$/, ''), LINK);
  const rows: Row[] = [];
  try {
    const app = await appOfSize(root, fixture, upstream.url);
    const lock = JSON.parse(await readFile(join(app.dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { integrity?: string }>;
    };
    const integrities = Object.values(lock.packages).flatMap((p) => (p.integrity?.startsWith('sha512-') ? [p.integrity] : []));
    console.log(
      `app: ${app.packages} packages (${integrities.length} sha512 tarballs), ${mb(app.tarballBytes)} of tarballs; link ${LINK.mbit} Mbit/s, ${LINK.latencyMs} ms one way; daemons ${INPROCESS ? 'in this process' : 'in child processes'}; budget ${BUDGET}`,
    );
    for (const mode of ['off', 'on'] as const) {
      const ports = await freePorts(3);
      const urls = ports.map((p) => `http://127.0.0.1:${p}`);
      const laptops: Laptop[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const peers =
            mode === 'on'
              ? { enabled: true, discover: 'static', static: urls.filter((_, j) => j !== i), token: TOKEN, budget: BUDGET }
              : { enabled: false };
          const config = { remotes: { npmjs: { type: 'npm' as const, url: `${link.origin}/` } }, peers };
          laptops.push(await laptop(config, join(root, `${mode}-laptop${i + 1}`), ports[i]!));
        }
        for (const [i, d] of laptops.entries()) {
          link.resetStats();
          // A scrape resets the daemon's event-loop delay histogram: the next one covers this npm ci.
          await metric(d.url, `${LAG}max_seconds`);
          const wallMs = await timeNpmCi(app, root, `${d.url}/npm/`);
          // One scrape for both (each scrape resets them).
          const text = await (await fetch(`${d.url}/metrics`)).text();
          const lagMs = (name: string): number => Number(new RegExp(`^${LAG}${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN') * 1000;
          const [lagP99Ms, lagMaxMs] = [lagMs('p99_seconds'), lagMs('max_seconds')];
          // Small tarballs are committed just behind their answer: the next laptop starts once this one holds them all.
          if (mode === 'on') await held(d, integrities);
          else await sleep(1500);
          rows.push({
            peers: mode,
            laptop: i + 1,
            upstreamBytes: link.stats().bytesDown,
            wallMs,
            peerHits: await metric(d.url, 'larder_peer_hits_total'),
            peerFailures: await metric(d.url, 'larder_peer_failures_total'),
            ...(await asks(d)),
            lagP99Ms,
            lagMaxMs,
          });
          console.log(JSON.stringify(rows.at(-1)));
        }
      } finally {
        for (const d of laptops) await d.close();
      }
    }
  } finally {
    await link.close();
    await upstream.close();
    await rm(root, { recursive: true, force: true });
  }
  console.log(
    '\n| peers | laptop | bytes over the upstream link | npm ci wall time | tarballs from peers | HEAD rounds held / none / budget out (mean) | event-loop delay p99 / max |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const a = r.peers === 'on' ? `${r.asks.held} / ${r.asks.none} / ${r.asks.budget} (${r.askMeanMs.toFixed(1)} ms)` : '—';
    const lag = `${r.lagP99Ms.toFixed(0)} / ${r.lagMaxMs.toFixed(0)} ms`;
    console.log(
      `| ${r.peers} | ${r.laptop} | ${mb(r.upstreamBytes)} | ${(r.wallMs / 1000).toFixed(2)} s | ${r.peerHits} | ${a} | ${lag} |`,
    );
  }
  for (const mode of ['off', 'on'] as const) {
    const m = rows.filter((r) => r.peers === mode);
    console.log(
      `peers ${mode}: ${mb(m.reduce((n, r) => n + r.upstreamBytes, 0))} over the link in all, ${(m.reduce((n, r) => n + r.wallMs, 0) / 1000).toFixed(2)} s of npm ci`,
    );
  }
}

await main();
