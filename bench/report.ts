/**
 * The benchmark's results: the JSON document written to
 * bench/results/latest.json, the ratios and targets of the foundation
 * issue, and the plain-text table printed at the end of a run.
 */
import type { LoadResult } from './load.js';
import type { BodySizes, ScenarioName } from './scenarios.js';
import type { ServerName } from './servers.js';

/** Timed `npm ci` runs of one kind, in milliseconds. */
export interface Samples {
  samplesMs: number[];
  medianMs: number;
}

/** Everything one run measured. */
export interface BenchResults {
  date: string;
  environment: { node: string; npm: string; cpus: number; cpuModel: string; verdaccio: string; autocannon: string };
  settings: {
    /** Scheduling priority (nice) of the whole run. */
    nice: number;
    connections: number;
    secondsPerRun: number;
    rounds: number;
    warmupSeconds: number;
    ciRounds: number;
    /** Mean CPU (cores) used by other processes during the load runs. */
    otherCpuCores?: number;
    /** Seconds spent waiting for the machine to be quiet. */
    quietWaitSeconds?: number;
    logLevel: Record<ServerName, string>;
    metadataTtl: Record<ServerName, string>;
    notes: string[];
  };
  fixture: { packages: number; tarballs: number; appPackages: number; appTarballBytes: number; bigTarballBytes: number };
  npmCi: { direct: Samples; larder: { cold: Samples; warm: Samples }; verdaccio: { cold: Samples; warm: Samples } };
  load: Record<ScenarioName, Record<ServerName, LoadResult>>;
  bodySizes: Record<ServerName, BodySizes>;
  /** Peak resident set size in bytes over every instance of the server in the run. */
  peakRss: Record<ServerName, number>;
  /** Peak RSS per phase: the npm ci instances, and the warm-load instance (which also streams 32 multi-MB tarballs at once). */
  peakRssByPhase: Record<'npmCi' | 'load', Record<ServerName, number>>;
  ratios: Record<string, number>;
  targets: Array<{ name: string; value: number; target: string; pass: boolean }>;
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

/** Fills `ratios` and `targets` from the measurements. */
export function judge(r: BenchResults): void {
  const rps = (s: ScenarioName, n: ServerName): number => r.load[s][n].requestsPerSec;
  r.ratios = {
    packumentFullHits_larderOverVerdaccio: rps('packumentFull', 'larder') / rps('packumentFull', 'verdaccio'),
    packumentAbbrevHits_larderOverVerdaccio: rps('packumentAbbrev', 'larder') / rps('packumentAbbrev', 'verdaccio'),
    tarballSmallReqs_larderOverVerdaccio: rps('tarballSmall', 'larder') / rps('tarballSmall', 'verdaccio'),
    tarballBigMBps_larderOverVerdaccio: r.load.tarballBig.larder.bytesPerSec / r.load.tarballBig.verdaccio.bytesPerSec,
    packumentFullPerCpuSecond_larderOverVerdaccio: perCpu(r.load.packumentFull.larder) / perCpu(r.load.packumentFull.verdaccio),
    packumentAbbrevPerCpuSecond_larderOverVerdaccio: perCpu(r.load.packumentAbbrev.larder) / perCpu(r.load.packumentAbbrev.verdaccio),
    tarballSmallPerCpuSecond_larderOverVerdaccio: perCpu(r.load.tarballSmall.larder) / perCpu(r.load.tarballSmall.verdaccio),
    npmCiCold_larderOverDirect: r.npmCi.larder.cold.medianMs / r.npmCi.direct.medianMs,
    npmCiCold_verdaccioOverDirect: r.npmCi.verdaccio.cold.medianMs / r.npmCi.direct.medianMs,
    npmCiWarm_larderOverVerdaccio: r.npmCi.larder.warm.medianMs / r.npmCi.verdaccio.warm.medianMs,
    npmCiCold_larderOverVerdaccio: r.npmCi.larder.cold.medianMs / r.npmCi.verdaccio.cold.medianMs,
    peakRss_larderOverVerdaccio: r.peakRss.larder / r.peakRss.verdaccio,
  };
  const x = r.ratios;
  const mb = r.peakRss.larder / 2 ** 20;
  r.targets = [
    { name: 'warm packument hits (full), Larder/Verdaccio', value: x.packumentFullHits_larderOverVerdaccio!, target: '>= 5', pass: x.packumentFullHits_larderOverVerdaccio! >= 5 },
    { name: 'warm packument hits (abbreviated), Larder/Verdaccio', value: x.packumentAbbrevHits_larderOverVerdaccio!, target: '>= 5', pass: x.packumentAbbrevHits_larderOverVerdaccio! >= 5 },
    { name: 'cold npm ci, Larder/direct', value: x.npmCiCold_larderOverDirect!, target: '<= 1.15', pass: x.npmCiCold_larderOverDirect! <= 1.15 },
    { name: 'warm npm ci, Larder/Verdaccio', value: x.npmCiWarm_larderOverVerdaccio!, target: '<= 0.7', pass: x.npmCiWarm_larderOverVerdaccio! <= 0.7 },
    { name: 'Larder peak RSS (MiB)', value: mb, target: '<= 100', pass: mb <= 100 },
  ];
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function row(cells: [string, string, string, string, string]): string {
  return `${pad(cells[0], 40)}${lpad(cells[1], 14)}${lpad(cells[2], 14)}${lpad(cells[3], 10)}  ${cells[4]}`;
}

/** The human-readable report. */
export function formatReport(r: BenchResults): string {
  const lines: string[] = [];
  const pct = (cpuS: number, l: LoadResult): string => `${fmt((100 * cpuS) / l.windowSeconds)}%`;
  lines.push(row(['', 'Larder', 'Verdaccio', 'ratio', 'notes']));
  lines.push('-'.repeat(100));
  const loadRow = (s: ScenarioName, label: string, value: (l: LoadResult) => number, digits: number, withNote = true): void => {
    const a = r.load[s].larder;
    const b = r.load[s].verdaccio;
    const note = `server CPU ${pct(a.serverCpuSeconds, a)} / ${pct(b.serverCpuSeconds, b)}, ` +
      `other ${pct(a.otherCpuSeconds, a)} / ${pct(b.otherCpuSeconds, b)}, p99 ${fmt(a.latencyP99Ms)} / ${fmt(b.latencyP99Ms)} ms` +
      (a.errors + a.non2xx + b.errors + b.non2xx > 0 ? `, errors+non2xx ${a.errors + a.non2xx} / ${b.errors + b.non2xx}` : '');
    lines.push(row([label, fmt(value(a), digits), fmt(value(b), digits), `${fmt(value(a) / value(b), 2)}x`, withNote ? note : '']));
  };
  const c = r.settings.connections;
  loadRow('packumentFull', `packument full, hits/s @${c}`, (l) => l.requestsPerSec, 0);
  loadRow('packumentAbbrev', `packument abbreviated, hits/s @${c}`, (l) => l.requestsPerSec, 0);
  loadRow('packumentFull', '  full, hits per server CPU-second', perCpu, 0, false);
  loadRow('packumentAbbrev', '  abbreviated, hits per server CPU-second', perCpu, 0, false);
  loadRow('tarballSmall', `small tarballs, req/s @${c}`, (l) => l.requestsPerSec, 0);
  loadRow('tarballSmall', '  small tarballs, req per server CPU-second', perCpu, 0, false);
  loadRow('tarballBig', `${fmt(r.fixture.bigTarballBytes / 2 ** 20, 1)} MiB tarball, MB/s @${c}`, (l) => l.bytesPerSec / 1e6, 0);
  loadRow('tarballBig', `${fmt(r.fixture.bigTarballBytes / 2 ** 20, 1)} MiB tarball, req/s @${c}`, (l) => l.requestsPerSec, 1, false);
  const npmCi = r.npmCi;
  const s = (ms: number): string => `${fmt(ms / 1000, 2)} s`;
  lines.push(row(['npm ci cold (median), wall', s(npmCi.larder.cold.medianMs), s(npmCi.verdaccio.cold.medianMs),
    `${fmt(npmCi.larder.cold.medianMs / npmCi.verdaccio.cold.medianMs, 2)}x`, `direct to upstream ${s(npmCi.direct.medianMs)}`]));
  lines.push(row(['npm ci warm (median), wall', s(npmCi.larder.warm.medianMs), s(npmCi.verdaccio.warm.medianMs),
    `${fmt(npmCi.larder.warm.medianMs / npmCi.verdaccio.warm.medianMs, 2)}x`, 'fresh npm cache each run']));
  lines.push(row(['peak RSS (MiB)', fmt(r.peakRss.larder / 2 ** 20, 1), fmt(r.peakRss.verdaccio / 2 ** 20, 1),
    `${fmt(r.ratios.peakRss_larderOverVerdaccio!, 2)}x`, 'max VmHWM over every instance']));
  const ci = r.peakRssByPhase.npmCi;
  lines.push(row(['  peak RSS in the npm ci phase (MiB)', fmt(ci.larder / 2 ** 20, 1), fmt(ci.verdaccio / 2 ** 20, 1),
    `${fmt(ci.larder / ci.verdaccio, 2)}x`, 'instances that only served cold + warm npm ci']));
  lines.push('');
  lines.push(`cold npm ci vs direct: Larder ${fmt(r.ratios.npmCiCold_larderOverDirect!, 2)}x, Verdaccio ${fmt(r.ratios.npmCiCold_verdaccioOverDirect!, 2)}x`);
  const full = r.load.packumentFull.larder.requestsPerSec;
  lines.push(`scale context (from the issue, not measured here): Verdaccio ~1,000 and nginx proxy_cache ~28,000 warm packument hits/s @32 on 2 cores; Larder full-form hits here = ${fmt((100 * full) / 28_000)}% of that nginx figure`);
  lines.push('');
  lines.push('targets:');
  for (const t of r.targets) lines.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${pad(t.name, 52)} ${fmt(t.value, 2)} (target ${t.target})`);
  lines.push('');
  for (const n of r.settings.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
