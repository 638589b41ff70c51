/**
 * The OCI phase: the benchmark images pushed once to an upstream
 * `docker-registry` (bench/oci-images.ts), then per round, order rotating so
 * every side runs first, middle and last equally often:
 *
 *   direct     cold `skopeo copy --all` of every image straight from the upstream
 *   running    the same through one Larder for the whole phase, its cache
 *              emptied through the admin API (bench/empty-cache.ts) before
 *              each round: the cold target (it served one unmeasured copy
 *              before the first round)
 *   larder     the same through a fresh Larder (empty storage), cold
 *              (reported), then once warm
 *   regproxy   the same through a fresh `docker-registry` pull-through proxy, cold
 *   pipe       the same through bench/pass-through-child.ts (a bare node:http
 *              proxy, no cache, one process for the phase, warmed like the
 *              running Larder): the Node.js floor of a cold pull
 *   verify     the same, the proxy also hashing every body and writing it to a
 *              temp file: the least a verifying Node.js cache does
 *
 * Ratios are taken per round (paired) and summarised as median and range.
 */
import { join } from 'node:path';
import { createSkopeoSandbox } from '../test/helpers/oci/push.js';
import { startOciUpstream, startRegistryProxy, timeCopies, type OciPull } from './oci-images.js';
import { emptyCache, settle } from './empty-cache.js';
import type { QuietBudget } from './proc.js';
import { median, type Samples } from './report.js';
import { startLarderWith, startPassThrough, type BenchServer } from './servers.js';

/** Everything the phase measured. */
export interface OciPhase {
  pulls: OciPull[];
  totalBytes: number;
  direct: Samples;
  larderCold: Samples;
  /** Cold on a running Larder whose cache was emptied: the cold target. */
  larderRunningCold: Samples;
  larderWarm: Samples;
  regproxyCold: Samples;
  /** Through the bare node:http proxy, and the same hashing and writing each body (bench/pass-through-child.ts). */
  passThroughCold: Samples;
  verifyCold: Samples;
  larderPeakRss: number;
  regproxyPeakRss: number;
}

/** Context the phase needs from the run. */
export interface OciContext {
  workDir: string;
  /** bench/ (where pass-through-child.ts is). */
  benchDir: string;
  cli: string;
  quiet: QuietBudget;
  rounds: number;
  log: (line: string) => void;
  /** Extra node flags for the Larder instances (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  onStop?: (s: BenchServer) => void;
}

const samples = (xs: number[]): Samples => ({ samplesMs: xs, medianMs: median(xs) });

/** Runs the interleaved rounds. */
export async function runOciPhase(c: OciContext): Promise<OciPhase> {
  c.log('OCI: building the images and pushing them to the upstream docker-registry …');
  const upstream = await startOciUpstream(c.workDir);
  const sandbox = await createSkopeoSandbox();
  const dest = join(c.workDir, 'oci-dest');
  const t = {
    direct: [] as number[],
    larderCold: [] as number[],
    larderRunningCold: [] as number[],
    larderWarm: [] as number[],
    regproxyCold: [] as number[],
    passThroughCold: [] as number[],
    verifyCold: [] as number[],
  };
  let larderPeakRss = 0;
  let regproxyPeakRss = 0;
  const copy = async (source: string): Promise<number> => {
    await c.quiet.wait();
    return timeCopies(sandbox, source, upstream.pulls, dest);
  };
  const remotes = { hub: { type: 'oci', url: upstream.registry.url, host: 'docker.io' } };
  const hostOf = (s: BenchServer): string => `${s.origin.slice('http://'.length)}/docker.io`;
  const stopLarder = async (s: BenchServer): Promise<void> => {
    s.memory.sample();
    larderPeakRss = Math.max(larderPeakRss, s.memory.peak);
    c.onStop?.(s);
    await s.stop();
  };
  // The long-running sides, each warmed by one unmeasured cold copy.
  const running = await startLarderWith(c.cli, c.workDir, remotes, {}, c.nodeArgs ?? []);
  const pipe = await startPassThrough(c.benchDir, c.workDir, upstream.registry.url, 'pipe');
  const verify = await startPassThrough(c.benchDir, c.workDir, upstream.registry.url, 'verify');
  for (const s of [running, pipe, verify]) await timeCopies(sandbox, hostOf(s), upstream.pulls, dest);
  const units: Array<() => Promise<void>> = [
    async () => void t.direct.push(await copy(upstream.registry.host)),
    async () => {
      await emptyCache(running);
      t.larderRunningCold.push(await copy(hostOf(running)));
      await settle();
    },
    async () => {
      const s = await startLarderWith(c.cli, c.workDir, remotes, {}, c.nodeArgs ?? []);
      try {
        t.larderCold.push(await copy(hostOf(s)));
        t.larderWarm.push(await copy(hostOf(s)));
      } finally {
        await stopLarder(s);
      }
    },
    async () => {
      const p = await startRegistryProxy(upstream.registry.url, c.workDir);
      try {
        t.regproxyCold.push(await copy(p.host));
      } finally {
        p.memory.sample();
        regproxyPeakRss = Math.max(regproxyPeakRss, p.memory.peak);
        await p.stop();
      }
    },
    async () => void t.passThroughCold.push(await copy(hostOf(pipe))),
    async () => void t.verifyCold.push(await copy(hostOf(verify))),
  ];
  try {
    for (let round = 0; round < c.rounds; round++) {
      const k = round % units.length;
      for (const unit of [...units.slice(k), ...units.slice(0, k)]) await unit();
      const last = (xs: number[]): number => xs.at(-1) ?? 0;
      c.log(
        `OCI round ${round + 1}/${c.rounds}: direct ${last(t.direct)} ms, larder cold ${last(t.larderRunningCold)} ` +
          `(fresh daemon ${last(t.larderCold)}) warm ${last(t.larderWarm)}, ` +
          `registry proxy cold ${last(t.regproxyCold)}, node pass-through ${last(t.passThroughCold)} (verifying ${last(t.verifyCold)})`,
      );
    }
  } finally {
    await stopLarder(running);
    await pipe.stop();
    await verify.stop();
    await sandbox.cleanup();
    await upstream.stop();
  }
  return {
    pulls: upstream.pulls,
    totalBytes: upstream.pulls.reduce((a, p) => a + p.bytes, 0),
    direct: samples(t.direct),
    larderCold: samples(t.larderCold),
    larderRunningCold: samples(t.larderRunningCold),
    larderWarm: samples(t.larderWarm),
    regproxyCold: samples(t.regproxyCold),
    passThroughCold: samples(t.passThroughCold),
    verifyCold: samples(t.verifyCold),
    larderPeakRss,
    regproxyPeakRss,
  };
}
