/**
 * `npm run bench`: Larder against the floor of each workload, side by side
 * in one run on loopback, reported as ratios (issue 13's targets):
 *
 *   1. npm ci (bench/phase-npm-ci.ts): cold through a running Larder whose
 *      cache was emptied (and through a fresh one, reported) vs `npm
 *      ci` direct to the upstream, on bare loopback and with the upstream
 *      20 ms away (bench/delay-proxy.ts); warm through Larder vs nginx
 *      serving the same files statically (bench/nginx.ts).
 *   2. Warm load (bench/phase-load.ts): packument hits etc., Larder vs Verdaccio.
 *   3. OCI (bench/phase-oci.ts): cold `skopeo copy --all` of five images
 *      (one layer over 100 MB) through Larder vs direct vs docker-registry's
 *      own pull-through proxy.
 *   4. Big document (bench/bigdoc.ts): an 18 MiB packument, cold GET and 16
 *      clients for 5 s; Larder's RSS.
 *   5. Ecosystems (bench/eco/): each newer protocol's client (or client-shaped
 *      flow), cold and warm through Larder against going direct.
 *   Peak RSS of every Larder instance; a table on stdout and
 *   bench/results/latest.json.
 *
 * Flags: see bench/run-flags.ts.
 */
import { cpus } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureBigDoc } from './bigdoc.js';
import { ECO_BENCHES } from './eco/index.js';
import { prepareApp } from './npm-ci.js';
import { runLoadPhase } from './phase-load.js';
import { runNpmCiPhase } from './phase-npm-ci.js';
import { runOciPhase } from './phase-oci.js';
import { formatReport } from './report-format.js';
import { applyNice, CI_ROUNDS, CONNECTIONS, DELAY_MS, flags, NICE, OCI_ROUNDS, ONLY, QUIET, ROUNDS, SECONDS, WARMUP } from './run-flags.js';
import { judge, type BenchResults } from './report.js';
import {
  LOG_LEVEL,
  METADATA_TTL,
  startLarder,
  startLarderWith,
  startUpstream,
  startVerdaccio,
  type BenchServer,
  type ServerName,
} from './servers.js';
import { buildDaemon, commitOf, ensureInstalled, npmVersion, packageVersion, requireDebianTools, toolVersion } from './setup.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(BENCH, '..');
const WORK = join(BENCH, '.work');
const log = (line: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  requireDebianTools();
  if (NICE !== 0) applyNice(NICE, log);
  await mkdir(WORK, { recursive: true });
  await ensureInstalled(BENCH, log);
  if (ONLY.has('load')) await ensureInstalled(join(BENCH, 'verdaccio'), log);
  const commit = await commitOf(ROOT);
  const cli = flags['no-build'] ? join(WORK, 'dist', 'daemon', 'cli.js') : await buildDaemon(ROOT, join(WORK, 'dist'), log);
  const verdaccioBin = join(BENCH, 'verdaccio', 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  const profile = flags['larder-cpu-prof'];
  const notes: string[] = [];

  log('starting the fixture upstream (child process) …');
  const upstream = await startUpstream(BENCH, join(WORK, 'fixture'));
  try {
    const { fixture } = upstream;
    log(`upstream ${upstream.url}: ${fixture.packages.length} packages; making the app lockfile …`);
    const app = await prepareApp(WORK, fixture, upstream.url);
    const results: BenchResults = {
      date: new Date().toISOString(),
      commit,
      environment: {
        node: process.version,
        npm: await npmVersion(),
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        verdaccio: await packageVersion(join(BENCH, 'verdaccio', 'node_modules', 'verdaccio', 'package.json')),
        autocannon: await packageVersion(join(BENCH, 'node_modules', 'autocannon', 'package.json')),
        nginx: await toolVersion('/usr/sbin/nginx', ['-v']),
        skopeo: await toolVersion('skopeo', ['--version']),
        dockerRegistry: await toolVersion('/usr/bin/docker-registry', ['--version']),
      },
      settings: {
        nice: NICE,
        connections: CONNECTIONS,
        secondsPerRun: SECONDS,
        rounds: ROUNDS,
        warmupSeconds: WARMUP,
        ciRounds: CI_ROUNDS,
        ociRounds: OCI_ROUNDS,
        delayMs: DELAY_MS,
        phases: [...ONLY],
        notes,
      },
      fixture: {
        packages: fixture.packages.length,
        tarballs: fixture.packages.reduce((a, p) => a + p.tarballs.length, 0),
        appPackages: app.packages,
        appTarballBytes: app.tarballBytes,
        bigTarballBytes: fixture.bigTarballBytes,
      },
      larderPeakRss: { npmCi: 0, load: 0, oci: 0, overall: 0 },
      verdaccioPeakRss: 0,
      ratios: {},
      targets: [],
    };
    const peaks = results.larderPeakRss;

    if (ONLY.has('npm')) {
      results.npmCi = await runNpmCiPhase({
        app,
        fixture,
        upstreamUrl: upstream.url,
        workDir: WORK,
        cli,
        quiet: QUIET,
        rounds: CI_ROUNDS,
        delayMs: DELAY_MS,
        log,
      });
      peaks.npmCi = results.npmCi.larderPeakRss;
      notes.push(
        `npm ci: ${CI_ROUNDS} interleaved rounds (order reversed every round), cold on one running Larder emptied through its admin API before each ` +
          `run (bench/empty-cache.ts; a fresh Larder per round reported), ` +
          `fresh npm cache and directory per run, --replace-registry-host=always; the warm floor is nginx (worker_processes auto, ` +
          `sendfile, files read once beforehand); ` +
          `+${DELAY_MS} ms = a userspace proxy adding ${DELAY_MS} ms before each new upstream connection and before each response's first byte, for both sides`,
      );
    }
    if (ONLY.has('load')) {
      const profArgs = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
      const start = (name: ServerName): Promise<BenchServer> =>
        name === 'larder' ? startLarder(cli, WORK, upstream.url, profArgs) : startVerdaccio(verdaccioBin, WORK, upstream.url);
      const phase = await runLoadPhase({
        benchDir: BENCH,
        workDir: WORK,
        app,
        fixture,
        quiet: QUIET,
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: ROUNDS,
        warmup: WARMUP,
        start,
        log,
      });
      results.load = phase.load;
      results.bodySizes = phase.bodySizes;
      peaks.load = phase.peakRss.larder;
      results.verdaccioPeakRss = phase.peakRss.verdaccio;
      const runs = Object.values(phase.load).flatMap((m) => Object.values(m));
      const other = runs.reduce((a, l) => a + l.otherCpuSeconds, 0) / runs.reduce((a, l) => a + l.windowSeconds, 0);
      results.settings.otherCpuCores = other;
      notes.push(
        `load: both proxies log at "${LOG_LEVEL}", metadata lifetime ${METADATA_TTL} (Larder ttl, Verdaccio uplink maxage); ` +
          `${ROUNDS} runs of ${SECONDS}s per server per scenario, alternating, after a ${WARMUP}s warm-up; autocannon in a child process`,
      );
      if (other > 0.1)
        notes.push(
          `other work on the machine used ${other.toFixed(2)} cores on average during the load runs: ` +
            `per-CPU-second rates are the fairer comparison`,
        );
    }
    if (ONLY.has('oci')) {
      results.oci = await runOciPhase({ workDir: WORK, benchDir: BENCH, cli, quiet: QUIET, rounds: OCI_ROUNDS, log });
      peaks.oci = results.oci.larderPeakRss;
      notes.push(
        `OCI: ${OCI_ROUNDS} rounds, order rotating; each side copies every image with skopeo copy --all into fresh dir: directories, ` +
          `one image after another; cold on one running Larder emptied through its admin API before each round (a fresh Larder per round reported), ` +
          `fresh docker-registry proxy (empty storage) per round`,
      );
    }
    peaks.overall = Math.max(peaks.npmCi, peaks.load, peaks.oci);
    if (ONLY.has('bigdoc')) {
      log('big document: generating an 18 MiB packument, cold GET, then 16 clients for 5 s …');
      results.bigDoc = await measureBigDoc(BENCH, cli, WORK);
    }
    if (ONLY.has('eco')) {
      results.eco = [];
      for (const bench of ECO_BENCHES) {
        log(`ecosystem ${bench.ecosystem} …`);
        try {
          const rows = await bench.run({
            workDir: WORK,
            rounds: CI_ROUNDS,
            log,
            startLarder: (remotes, extra) => startLarderWith(cli, WORK, remotes, extra),
          });
          results.eco.push(...rows);
        } catch (err) {
          notes.push(`ecosystem ${bench.ecosystem}: not measured (${err instanceof Error ? err.message : String(err)})`);
        }
      }
    }
    results.settings.quietWaitSeconds = QUIET.waitedMs / 1000;
    if (NICE !== 0) notes.push(`the whole run ran at nice ${NICE}, its autogroup too`);
    judge(results);
    await mkdir(join(BENCH, 'results'), { recursive: true });
    await writeFile(join(BENCH, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\n${formatReport(results)}\n\nwritten: bench/results/latest.json`);
  } finally {
    await upstream.stop();
  }
}

main().catch((err: unknown) => {
  console.error('bench failed:', err);
  process.exitCode = 1;
});
