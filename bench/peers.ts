/**
 * LAN peers benchmark: three "laptops" (Larder daemons) run the same
 * `npm ci` of the fixture app one after another, each through its own
 * daemon, with the upstream behind one shaped link (50 Mbit/s, 20 ms one
 * way: bench/shaping-proxy.ts). Once with peers off, once with peers on
 * (static peer lists on loopback). Reported per laptop: bytes that crossed
 * the upstream link and the `npm ci` wall time. One run; loopback only, no
 * root needed.
 *
 *   node --import tsx bench/peers.ts        (PEERS_BUDGET=500ms to widen the HEAD budget)
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestDaemon, type TestDaemon } from '../test/helpers/daemon.js';
import { setupFixture } from '../test/helpers/npm-e2e.js';
import { startNpmUpstream } from '../test/helpers/npm-fixture/server.js';
import { freePorts, metric, peerRequest, sha512Hex } from '../test/helpers/peers.js';
import { waitFor } from '../test/helpers/wait.js';
import { prepareApp, timeNpmCi } from './npm-ci.js';
import { startShapingProxy } from './shaping-proxy.js';

const LINK = { mbit: 50, latencyMs: 20 };
const TOKEN = 'bench-peer-token-0123456789abcdef';
/** peers.budget (the HEAD round); the daemons share this process's event loop with each other, so the default 100 ms is tight here. */
const BUDGET = process.env.PEERS_BUDGET ?? '100ms';

interface Row {
  peers: 'off' | 'on';
  laptop: number;
  upstreamBytes: number;
  wallMs: number;
  peerHits: number;
  peerFailures: number;
}

/** Waits until a laptop answers the peer API for every tarball (its fills are committed). */
async function held(d: TestDaemon, integrities: string[]): Promise<void> {
  for (const i of integrities) {
    await waitFor(async () => (await peerRequest(d.url, `sha512/${sha512Hex(i)}`, TOKEN)).status === 200, 30_000, i);
  }
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

async function main(): Promise<void> {
  const { root, fixture } = await setupFixture('larder-bench-peers-');
  const upstream = await startNpmUpstream(fixture, { recordRequests: false });
  const link = await startShapingProxy(upstream.url.replace(/\/$/, ''), LINK);
  const rows: Row[] = [];
  try {
    const app = await prepareApp(root, fixture, upstream.url);
    const lock = JSON.parse(await readFile(join(app.dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { integrity?: string }>;
    };
    const integrities = Object.values(lock.packages).flatMap((p) => (p.integrity?.startsWith('sha512-') ? [p.integrity] : []));
    console.log(
      `app: ${app.packages} packages, ${mb(app.tarballBytes)} of tarballs; link ${LINK.mbit} Mbit/s, ${LINK.latencyMs} ms one way`,
    );
    for (const mode of ['off', 'on'] as const) {
      const ports = await freePorts(3);
      const urls = ports.map((p) => `http://127.0.0.1:${p}`);
      const laptops: TestDaemon[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const peers =
            mode === 'on'
              ? { enabled: true, discover: 'static', static: urls.filter((_, j) => j !== i), token: TOKEN, budget: BUDGET }
              : { enabled: false };
          laptops.push(
            await startTestDaemon(
              { remotes: { npmjs: { type: 'npm', url: `${link.origin}/` } }, peers },
              { dataDir: join(root, `${mode}-laptop${i + 1}`), listen: `127.0.0.1:${ports[i]}` },
            ),
          );
        }
        for (const [i, d] of laptops.entries()) {
          link.resetStats();
          const wallMs = await timeNpmCi(app, root, `${d.url}/npm/`);
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
  console.log('\n| peers | laptop | bytes over the upstream link | npm ci wall time | tarballs from peers |');
  console.log('|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.peers} | ${r.laptop} | ${mb(r.upstreamBytes)} | ${(r.wallMs / 1000).toFixed(2)} s | ${r.peerHits} |`);
  for (const mode of ['off', 'on'] as const) {
    const m = rows.filter((r) => r.peers === mode);
    console.log(
      `peers ${mode}: ${mb(m.reduce((n, r) => n + r.upstreamBytes, 0))} over the link in all, ${(m.reduce((n, r) => n + r.wallMs, 0) / 1000).toFixed(2)} s of npm ci`,
    );
  }
}

await main();
