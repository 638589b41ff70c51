/**
 * The benchmark's results: the JSON document written to
 * bench/results/latest.json, and the ratios and targets of the foundation
 * issue (#13). Ratios between two sides measured in the same round are
 * taken per round (paired) and summarised as median and range, so the
 * spread shows how far noise on the shared machine moved them. The table
 * printed at the end of a run is in report-format.ts.
 */
import type { BigDocResult } from './bigdoc.js';
import type { EcoRow } from './eco/contract.js';
import type { LoadResult } from './load.js';
import type { NpmCiPhase } from './phase-npm-ci.js';
import type { OciPhase } from './phase-oci.js';
import type { BodySizes, ScenarioName } from './scenarios.js';
import type { ServerName } from './servers.js';

/** Timed runs of one kind, in milliseconds. */
export interface Samples {
  samplesMs: number[];
  medianMs: number;
}

/** A ratio with its spread over rounds (min = max when only one value exists). */
export interface Ratio {
  median: number;
  min: number;
  max: number;
  /** The per-round values. */
  rounds: number[];
}

/** One target of the issue, judged. */
export interface Target {
  name: string;
  value: number;
  spread?: [number, number];
  target: string;
  pass: boolean;
}

/** Everything one run measured; phases left out with --only are absent. */
export interface BenchResults {
  date: string;
  commit: string;
  environment: Record<string, string | number>;
  settings: {
    nice: number;
    connections: number;
    secondsPerRun: number;
    rounds: number;
    warmupSeconds: number;
    ciRounds: number;
    ociRounds: number;
    delayMs: number;
    phases: string[];
    /** Mean CPU (cores) used by other processes during the load runs. */
    otherCpuCores?: number;
    /** Seconds spent waiting for the machine to be quiet. */
    quietWaitSeconds?: number;
    notes: string[];
  };
  fixture: { packages: number; tarballs: number; appPackages: number; appTarballBytes: number; bigTarballBytes: number };
  npmCi?: NpmCiPhase;
  load?: Record<ScenarioName, Record<ServerName, LoadResult>>;
  bodySizes?: Record<ServerName, BodySizes>;
  oci?: OciPhase;
  bigDoc?: BigDocResult;
  /** Phase `eco`: one row per ecosystem flow. */
  eco?: EcoRow[];
  /** Peak RSS (bytes) of every Larder instance of the npm ci, load and OCI phases, per phase and overall. */
  larderPeakRss: { npmCi: number; load: number; oci: number; overall: number };
  verdaccioPeakRss: number;
  ratios: Record<string, Ratio>;
  targets: Target[];
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Requests served per CPU-second the server used (robust against other work on the machine). */
export function perCpu(l: LoadResult): number {
  return l.serverCpuSeconds > 0 ? l.requests / l.serverCpuSeconds : 0;
}

/** Per-round ratios a[i] / b[i]. */
export function paired(a: Samples, b: Samples): Ratio {
  const rounds = a.samplesMs.map((x, i) => x / (b.samplesMs[i] ?? Number.NaN));
  return { median: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds), rounds };
}

/** A single ratio (no per-round values). */
export function single(value: number): Ratio {
  return { median: value, min: value, max: value, rounds: [value] };
}

const MiB = 2 ** 20;

/** Fills `ratios` and `targets` from the measurements. */
export function judge(r: BenchResults): void {
  const x: Record<string, Ratio> = {};
  const targets: Target[] = [];
  const atMost = (name: string, key: string, limit: number): void => {
    const v = x[key]!;
    targets.push({ name, value: v.median, spread: [v.min, v.max], target: `<= ${limit}`, pass: v.median <= limit });
  };
  if (r.load) {
    const l = r.load;
    const rps = (s: ScenarioName, n: ServerName): number => l[s][n].requestsPerSec;
    x.packumentFullHits_larderOverVerdaccio = single(rps('packumentFull', 'larder') / rps('packumentFull', 'verdaccio'));
    x.packumentAbbrevHits_larderOverVerdaccio = single(rps('packumentAbbrev', 'larder') / rps('packumentAbbrev', 'verdaccio'));
    x.tarballSmallReqs_larderOverVerdaccio = single(rps('tarballSmall', 'larder') / rps('tarballSmall', 'verdaccio'));
    x.tarballBigMBps_larderOverVerdaccio = single(l.tarballBig.larder.bytesPerSec / l.tarballBig.verdaccio.bytesPerSec);
    x.packumentFullPerCpuSecond_larderOverVerdaccio = single(perCpu(l.packumentFull.larder) / perCpu(l.packumentFull.verdaccio));
    for (const [name, key] of [
      ['warm packument hits (full), Larder/Verdaccio', 'packumentFullHits_larderOverVerdaccio'],
      ['warm packument hits (abbreviated), Larder/Verdaccio', 'packumentAbbrevHits_larderOverVerdaccio'],
    ] as const) {
      targets.push({ name, value: x[key]!.median, target: '>= 10', pass: x[key]!.median >= 10 });
    }
  }
  if (r.npmCi) {
    const n = r.npmCi;
    x.npmCiWarm_larderOverNginx = paired(n.larderWarm, n.nginxWarm);
    x.npmCiCold_larderOverDirect_delayed = paired(n.larderRunningDelayed, n.directDelayed);
    x.npmCiCold_freshOverDirect_delayed = paired(n.larderColdDelayed, n.directDelayed);
    x.npmCiColdTarballs_larderOverDirect_delayed = paired(n.larderTarballsColdDelayed, n.directDelayed);
    x.npmCiCold_freshOverDirect_loopback = paired(n.larderCold, n.direct);
    x.npmCiCold_passThroughOverDirect_delayed = paired(n.passThroughDelayed, n.directDelayed);
    x.npmCiCold_verifyOverDirect_delayed = paired(n.verifyDelayed, n.directDelayed);
    x.npmCiCold_larderOverVerify_delayed = paired(n.larderRunningDelayed, n.verifyDelayed);
    x.npmCiCold_larderOverPassThrough_delayed = paired(n.larderRunningDelayed, n.passThroughDelayed);
    atMost('warm npm ci, Larder/nginx (static files)', 'npmCiWarm_larderOverNginx', 1.05);
    atMost(
      `cold npm ci, Larder/direct, upstream +${n.delayMs} ms (running daemon, cache emptied)`,
      'npmCiCold_larderOverDirect_delayed',
      1.1,
    );
    for (const [name, key] of [
      [`cold npm ci, fresh Larder/direct, upstream +${n.delayMs} ms (reported)`, 'npmCiCold_freshOverDirect_delayed'],
      ['cold npm ci, fresh Larder/direct, bare loopback (reported)', 'npmCiCold_freshOverDirect_loopback'],
      [`cold tarballs, packuments cached, Larder/direct, +${n.delayMs} ms (reported)`, 'npmCiColdTarballs_larderOverDirect_delayed'],
      [`cold npm ci +${n.delayMs} ms, node:http pass-through/direct (the floor, reported)`, 'npmCiCold_passThroughOverDirect_delayed'],
      [`cold npm ci +${n.delayMs} ms, verifying pass-through/direct (reported)`, 'npmCiCold_verifyOverDirect_delayed'],
      [`cold npm ci +${n.delayMs} ms, Larder/verifying pass-through (reported)`, 'npmCiCold_larderOverVerify_delayed'],
    ] as const) {
      const v = x[key]!;
      targets.push({ name, value: v.median, spread: [v.min, v.max], target: 'report', pass: true });
    }
  }
  if (r.oci) {
    const o = r.oci;
    x.ociCold_larderOverDirect = paired(o.larderRunningCold, o.direct);
    x.ociCold_larderOverRegistryProxy = paired(o.larderRunningCold, o.regproxyCold);
    x.ociCold_freshOverDirect = paired(o.larderCold, o.direct);
    x.ociCold_freshOverRegistryProxy = paired(o.larderCold, o.regproxyCold);
    x.ociCold_registryProxyOverDirect = paired(o.regproxyCold, o.direct);
    x.ociCold_passThroughOverDirect = paired(o.passThroughCold, o.direct);
    x.ociCold_verifyOverDirect = paired(o.verifyCold, o.direct);
    x.ociCold_larderOverVerify = paired(o.larderRunningCold, o.verifyCold);
    x.ociCold_larderOverPassThrough = paired(o.larderRunningCold, o.passThroughCold);
    atMost('cold skopeo copy, Larder/direct (running daemon, cache emptied)', 'ociCold_larderOverDirect', 1.2);
    atMost('cold skopeo copy, Larder/docker-registry proxy (running daemon, cache emptied)', 'ociCold_larderOverRegistryProxy', 1);
    for (const [name, key] of [
      ['cold skopeo copy, fresh Larder/direct (reported)', 'ociCold_freshOverDirect'],
      ['cold skopeo copy, fresh Larder/docker-registry proxy (reported)', 'ociCold_freshOverRegistryProxy'],
      ['cold skopeo copy, node:http pass-through/direct (the floor, reported)', 'ociCold_passThroughOverDirect'],
      ['cold skopeo copy, verifying pass-through/direct (reported)', 'ociCold_verifyOverDirect'],
      ['cold skopeo copy, Larder/verifying pass-through (reported)', 'ociCold_larderOverVerify'],
    ] as const) {
      const v = x[key]!;
      targets.push({ name, value: v.median, spread: [v.min, v.max], target: 'report', pass: true });
    }
  }
  const peak = r.larderPeakRss.overall / MiB;
  targets.push({ name: 'Larder peak RSS over the run (MiB)', value: peak, target: '<= 128', pass: peak <= 128 });
  if (r.bigDoc) {
    const p = r.bigDoc.peakRss / MiB;
    targets.push({
      name: `big document (${(r.bigDoc.documentBytes / MiB).toFixed(1)} MiB), Larder peak RSS (MiB)`,
      value: p,
      target: '<= 256',
      pass: p <= 256,
    });
  }
  r.ratios = x;
  r.targets = targets;
}
