/**
 * The `npm ci` phase: per round, in one interleaved schedule (order reversed
 * every round so drift and other work on the machine hit every side alike):
 *
 *   direct        `npm ci` straight to the upstream (bare loopback)
 *   larder        a fresh Larder on the bare upstream: one cold, then one warm `npm ci`
 *   nginx         the warm floor: the same files as static files (bench/nginx.ts)
 *   direct+20ms   `npm ci` through the delay proxy (bench/delay-proxy.ts)
 *   running+20ms  one Larder for the whole phase, upstream the delay proxy: its
 *                 cache emptied through the admin API (bench/empty-cache.ts),
 *                 then one cold `npm ci` (the cold target; the daemon served
 *                 one unmeasured install before the first round)
 *   larder+20ms   a fresh Larder whose upstream is the delay proxy: one cold
 *                 `npm ci` on a new process (reported)
 *   tgz+20ms      a second running Larder of which only the tarballs are
 *                 evicted: cold tarballs whose packuments are cached, which
 *                 shows what the packument round trip of a cold tarball costs
 *                 (reported)
 *   pipe+20ms     the same through bench/pass-through-child.ts (a bare node:http
 *                 proxy, no cache, one process for the phase, warmed like the
 *                 running Larder): the Node.js floor of a cold `npm ci`
 *   verify+20ms   the same, the proxy also hashing every body and writing it
 *                 to a temp file
 *
 * Ratios are taken per round (paired) and summarised as median and range.
 * The delay proxy also counts the connections and responses each side made
 * to the upstream.
 */
import { fileURLToPath } from 'node:url';
import type { RegistryFixture } from '../test/helpers/npm-fixture/types.js';
import type { DelayProxyStats } from './delay-proxy.js';
import { startDelayProxy } from './delay-proxy.js';
import { emptyCache, settle } from './empty-cache.js';
import { startNginx } from './nginx.js';
import { timeNpmCi, type AppProject } from './npm-ci.js';
import type { QuietBudget } from './proc.js';
import { median, type Samples } from './report.js';
import { startLarder, startPassThrough, type BenchServer } from './servers.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Everything the phase measured. */
export interface NpmCiPhase {
  delayMs: number;
  direct: Samples;
  directDelayed: Samples;
  larderCold: Samples;
  larderColdDelayed: Samples;
  /** Cold on a running Larder whose cache was emptied (upstream delayed): the cold target. */
  larderRunningDelayed: Samples;
  /** The same with only the tarballs evicted (their packuments cached). */
  larderTarballsColdDelayed: Samples;
  /** Cold through the bare node:http proxy, plain and verifying (upstream delayed). */
  passThroughDelayed: Samples;
  verifyDelayed: Samples;
  larderWarm: Samples;
  nginxWarm: Samples;
  /** Upstream traffic of one cold `npm ci` (last round), through the delay proxy. */
  upstreamTraffic: { direct: DelayProxyStats; larder: DelayProxyStats; larderRunning: DelayProxyStats };
  /** Peak RSS of every Larder instance of the phase. */
  larderPeakRss: number;
}

/** Context the phase needs from the run. */
export interface NpmCiContext {
  app: AppProject;
  fixture: RegistryFixture;
  upstreamUrl: string;
  workDir: string;
  cli: string;
  quiet: QuietBudget;
  rounds: number;
  delayMs: number;
  log: (line: string) => void;
  /** Called with every Larder instance before it stops (peak RSS bookkeeping). */
  onStop?: (s: BenchServer) => void;
}

const samples = (xs: number[]): Samples => ({ samplesMs: xs, medianMs: median(xs) });

/** Runs the interleaved rounds. */
export async function runNpmCiPhase(c: NpmCiContext): Promise<NpmCiPhase> {
  const nginx = await startNginx(c.fixture, c.workDir);
  const proxy = await startDelayProxy(c.upstreamUrl, c.delayMs);
  const t = {
    direct: [] as number[],
    directDelayed: [] as number[],
    larderCold: [] as number[],
    larderColdDelayed: [] as number[],
    larderRunningDelayed: [] as number[],
    larderTarballsColdDelayed: [] as number[],
    passThroughDelayed: [] as number[],
    verifyDelayed: [] as number[],
    larderWarm: [] as number[],
    nginxWarm: [] as number[],
  };
  const traffic = { direct: proxy.stats(), larder: proxy.stats(), larderRunning: proxy.stats() };
  let larderPeakRss = 0;
  const timed = async (registry: string): Promise<number> => {
    await c.quiet.wait();
    return timeNpmCi(c.app, c.workDir, registry);
  };
  const stopLarder = async (s: BenchServer): Promise<void> => {
    s.memory.sample();
    larderPeakRss = Math.max(larderPeakRss, s.memory.peak);
    c.onStop?.(s);
    await s.stop();
  };
  const withLarder = async (upstream: string, body: (s: BenchServer) => Promise<void>): Promise<void> => {
    const s = await startLarder(c.cli, c.workDir, upstream);
    try {
      await body(s);
    } finally {
      await stopLarder(s);
    }
  };
  // The long-running sides, each warmed by one unmeasured cold install.
  const running = await startLarder(c.cli, c.workDir, `${proxy.origin}/`);
  const tarballsCold = await startLarder(c.cli, c.workDir, `${proxy.origin}/`);
  const pipe = await startPassThrough(BENCH_DIR, c.workDir, `${proxy.origin}/`, 'pipe');
  const verify = await startPassThrough(BENCH_DIR, c.workDir, `${proxy.origin}/`, 'verify');
  for (const s of [running, tarballsCold, pipe, verify]) await timeNpmCi(c.app, c.workDir, s.registry);
  const units: Array<() => Promise<void>> = [
    async () => void t.direct.push(await timed(c.upstreamUrl)),
    () =>
      withLarder(c.upstreamUrl, async (s) => {
        t.larderCold.push(await timed(s.registry));
        t.larderWarm.push(await timed(s.registry));
      }),
    async () => void t.nginxWarm.push(await timed(nginx.registry)),
    async () => {
      proxy.resetStats();
      t.directDelayed.push(await timed(`${proxy.origin}/`));
      traffic.direct = proxy.stats();
    },
    () =>
      withLarder(`${proxy.origin}/`, async (s) => {
        proxy.resetStats();
        t.larderColdDelayed.push(await timed(s.registry));
        traffic.larder = proxy.stats();
      }),
    async () => {
      await emptyCache(running);
      proxy.resetStats();
      t.larderRunningDelayed.push(await timed(running.registry));
      traffic.larderRunning = proxy.stats();
      await settle();
    },
    async () => {
      await emptyCache(tarballsCold, (key) => key.includes(':tgz:'));
      t.larderTarballsColdDelayed.push(await timed(tarballsCold.registry));
      await settle();
    },
    async () => void t.passThroughDelayed.push(await timed(pipe.registry)),
    async () => void t.verifyDelayed.push(await timed(verify.registry)),
  ];
  try {
    for (let round = 0; round < c.rounds; round++) {
      for (const unit of round % 2 === 0 ? units : [...units].reverse()) await unit();
      const last = (xs: number[]): number => xs.at(-1) ?? 0;
      c.log(
        `npm ci round ${round + 1}/${c.rounds}: direct ${last(t.direct)} ms, ` +
          `larder cold ${last(t.larderCold)} warm ${last(t.larderWarm)}, nginx ${last(t.nginxWarm)}; +${c.delayMs} ms: ` +
          `direct ${last(t.directDelayed)}, larder cold ${last(t.larderRunningDelayed)} (fresh daemon ${last(t.larderColdDelayed)}, ` +
          `packuments cached ${last(t.larderTarballsColdDelayed)}), ` +
          `node pass-through ${last(t.passThroughDelayed)} (verifying ${last(t.verifyDelayed)})`,
      );
    }
  } finally {
    await stopLarder(running);
    await stopLarder(tarballsCold);
    await pipe.stop();
    await verify.stop();
    await proxy.close();
    await nginx.stop();
  }
  return {
    delayMs: c.delayMs,
    direct: samples(t.direct),
    directDelayed: samples(t.directDelayed),
    larderCold: samples(t.larderCold),
    larderColdDelayed: samples(t.larderColdDelayed),
    larderRunningDelayed: samples(t.larderRunningDelayed),
    larderTarballsColdDelayed: samples(t.larderTarballsColdDelayed),
    passThroughDelayed: samples(t.passThroughDelayed),
    verifyDelayed: samples(t.verifyDelayed),
    larderWarm: samples(t.larderWarm),
    nginxWarm: samples(t.nginxWarm),
    upstreamTraffic: traffic,
    larderPeakRss,
  };
}
