/**
 * `npm run bench`: Larder side by side with Verdaccio, both proxying the same
 * local fixture upstream (a child process), in one run on loopback.
 *
 *   1. npm ci: per round, one cold `npm ci` straight to the upstream, then for
 *      each proxy (order alternating by round) a fresh instance, one cold and
 *      one warm `npm ci` (fresh npm cache each time).
 *   2. Warm load: a fresh instance of each proxy, primed and checked, then
 *      autocannon (a child process) at 32 connections on packuments (full,
 *      abbreviated), small tarballs and the multi-MB tarball, one server at a
 *      time, alternating order, the same measured time each.
 *   3. Peak RSS (VmHWM) of every proxy instance; a table of numbers and
 *      ratios on stdout and bench/results/latest.json.
 *
 * Flags: --seconds N (per measured run, default 5), --rounds N (default 2),
 * --warmup N (seconds, default 2), --connections N (default 32),
 * --ci-rounds N (default 5), --no-build (reuse bench/.work/dist),
 * --max-wait N (seconds the run may wait in total for other work on the
 * machine to drop below 0.3 cores before a measurement, default 120),
 * --larder-cpu-prof DIR (profile Larder during the load phase),
 * --nice=N (scheduling priority of the run and every process it starts,
 * e.g. -10 as root on a machine where other work competes for the cores).
 */
import { cpus, setPriority } from 'node:os';
import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alternate, type LoadResult } from './load.js';
import { prepareApp, timeNpmCi, type AppProject } from './npm-ci.js';
import { formatReport, judge, median, type BenchResults, type Samples } from './report.js';
import { prime, scenarios, specFor, type BodySizes, type ScenarioName } from './scenarios.js';
import { LOG_LEVEL, METADATA_TTL, startLarder, startUpstream, startVerdaccio, type BenchServer, type ServerName } from './servers.js';
import { buildDaemon, ensureInstalled, npmVersion, packageVersion } from './setup.js';
import { QuietBudget } from './proc.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(BENCH, '..');
const WORK = join(BENCH, '.work');
const log = (line: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'ci-rounds': { type: 'string', default: '5' },
    'no-build': { type: 'boolean', default: false },
    'max-wait': { type: 'string', default: '120' },
    'larder-cpu-prof': { type: 'string' },
    nice: { type: 'string', default: '0' },
  },
});
const num = (v: string, name: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`expected --${name} to be a positive integer, got ${v}`);
  return n;
};
const SECONDS = num(flags.seconds, 'seconds');
const ROUNDS = num(flags.rounds, 'rounds');
const WARMUP = num(flags.warmup, 'warmup');
const CONNECTIONS = num(flags.connections, 'connections');
const CI_ROUNDS = num(flags['ci-rounds'], 'ci-rounds');
const QUIET = new QuietBudget(0.3, Number(flags['max-wait']) * 1000);
const NICE = Number(flags.nice);

/**
 * Children inherit the priority, so servers, load generator and npm all run
 * at it. With autogroup scheduling nice only ranks processes of one session,
 * so the session's autogroup gets the same value (Linux, root).
 */
function applyNice(nice: number): void {
  setPriority(nice);
  try {
    writeFileSync('/proc/self/autogroup', String(nice));
  } catch {
    log('note: could not set the autogroup priority; --nice only ranks the processes of this session');
  }
}

async function main(): Promise<void> {
  if (NICE !== 0) applyNice(NICE);
  await mkdir(WORK, { recursive: true });
  await ensureInstalled(BENCH, log);
  await ensureInstalled(join(BENCH, 'verdaccio'), log);
  const cli = flags['no-build'] ? join(WORK, 'dist', 'daemon', 'cli.js') : await buildDaemon(ROOT, join(WORK, 'dist'), log);
  const verdaccioBin = join(BENCH, 'verdaccio', 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  const profile = flags['larder-cpu-prof'];
  const start = (name: ServerName, url: string, nodeArgs: string[] = []): Promise<BenchServer> =>
    name === 'larder' ? startLarder(cli, WORK, url, nodeArgs) : startVerdaccio(verdaccioBin, WORK, url);
  const timed = async (app: AppProject, registry: string): Promise<number> => {
    await QUIET.wait();
    return timeNpmCi(app, WORK, registry);
  };
  const peaks = { npmCi: { larder: 0, verdaccio: 0 }, load: { larder: 0, verdaccio: 0 } };
  const stopServer = async (s: BenchServer, phase: keyof typeof peaks): Promise<void> => {
    s.memory.sample();
    peaks[phase][s.name] = Math.max(peaks[phase][s.name], s.memory.peak);
    await s.stop();
  };

  log('starting the fixture upstream (child process) …');
  const upstream = await startUpstream(BENCH, join(WORK, 'fixture'));
  const running: BenchServer[] = [];
  try {
    const { fixture } = upstream;
    log(`upstream ${upstream.url}: ${fixture.packages.length} packages; making the app lockfile …`);
    const app = await prepareApp(WORK, fixture, upstream.url);

    // Phase 1: npm ci, cold and warm, fresh proxy instances every round.
    const ci = { direct: [] as number[], larder: { cold: [] as number[], warm: [] as number[] }, verdaccio: { cold: [] as number[], warm: [] as number[] } };
    for (let round = 0; round < CI_ROUNDS; round++) {
      ci.direct.push(await timed(app, upstream.url));
      const order: ServerName[] = round % 2 === 0 ? ['larder', 'verdaccio'] : ['verdaccio', 'larder'];
      for (const name of order) {
        const server = await start(name, upstream.url);
        running.push(server);
        ci[name].cold.push(await timed(app, server.registry));
        ci[name].warm.push(await timed(app, server.registry));
        await stopServer(server, 'npmCi');
        running.splice(running.indexOf(server), 1);
      }
      log(`npm ci round ${round + 1}/${CI_ROUNDS}: direct ${ci.direct.at(-1)} ms; larder cold ${ci.larder.cold.at(-1)} warm ${ci.larder.warm.at(-1)} ms; verdaccio cold ${ci.verdaccio.cold.at(-1)} warm ${ci.verdaccio.warm.at(-1)} ms`);
    }
    const samples = (xs: number[]): Samples => ({ samplesMs: xs, medianMs: median(xs) });

    // Phase 2: warm load on fresh, primed instances.
    const profArgs = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
    const servers = { larder: await start('larder', upstream.url, profArgs), verdaccio: await start('verdaccio', upstream.url) };
    running.push(servers.larder, servers.verdaccio);
    const bodySizes = {} as Record<ServerName, BodySizes>;
    for (const s of [servers.larder, servers.verdaccio]) {
      await timeNpmCi(app, WORK, s.registry);
      bodySizes[s.name] = await prime(s, fixture);
    }
    const load = {} as Record<ScenarioName, Record<ServerName, LoadResult>>;
    for (const sc of scenarios(fixture, CONNECTIONS)) {
      log(`load: ${sc.title}, ${sc.paths.length} paths, ${ROUNDS}x${SECONDS}s per server …`);
      const targets = (['larder', 'verdaccio'] as const).map((n) => ({ name: n, spec: specFor(sc, servers[n], SECONDS) }));
      load[sc.name] = await alternate(BENCH, targets, ROUNDS, WARMUP, QUIET);
      log(`  larder ${Math.round(load[sc.name].larder.requestsPerSec)} req/s, verdaccio ${Math.round(load[sc.name].verdaccio.requestsPerSec)} req/s`);
    }
    for (const s of [servers.larder, servers.verdaccio]) {
      await stopServer(s, 'load');
      running.splice(running.indexOf(s), 1);
    }

    const results: BenchResults = {
      date: new Date().toISOString(),
      environment: {
        node: process.version, npm: await npmVersion(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown',
        verdaccio: await packageVersion(join(BENCH, 'verdaccio', 'node_modules', 'verdaccio', 'package.json')),
        autocannon: await packageVersion(join(BENCH, 'node_modules', 'autocannon', 'package.json')),
      },
      settings: {
        nice: NICE, connections: CONNECTIONS, secondsPerRun: SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP, ciRounds: CI_ROUNDS,
        logLevel: { larder: LOG_LEVEL, verdaccio: LOG_LEVEL },
        metadataTtl: { larder: `ttl ${METADATA_TTL}`, verdaccio: `uplink maxage ${METADATA_TTL}` },
        notes: [
          `both proxies log at "${LOG_LEVEL}" (no per-request log lines); metadata lifetime ${METADATA_TTL} on both (Larder ttl, Verdaccio uplink maxage), so no warm hit revalidates`,
          'the upstream runs in its own child process and stays idle during warm measurements; autocannon runs in another child process (2 cores shared by server and load generator)',
          `load: ${ROUNDS} runs of ${SECONDS}s per server per scenario, order alternating, after a ${WARMUP}s unmeasured warm-up each; requests cycle over all ${fixture.packages.length} packuments / all tarballs of the scenario`,
          `npm ci: ${CI_ROUNDS} rounds, a fresh proxy instance (empty storage) per round, fresh npm cache and directory per run, --replace-registry-host=always`,
          'Larder runs the compiled CLI (node bench/.work/dist/daemon/cli.js serve); Verdaccio 6 runs its own bin with web UI and audit middleware at defaults',
        ],
      },
      fixture: {
        packages: fixture.packages.length, tarballs: fixture.packages.reduce((a, p) => a + p.tarballs.length, 0),
        appPackages: app.packages, appTarballBytes: app.tarballBytes, bigTarballBytes: fixture.bigTarballBytes,
      },
      npmCi: {
        direct: samples(ci.direct),
        larder: { cold: samples(ci.larder.cold), warm: samples(ci.larder.warm) },
        verdaccio: { cold: samples(ci.verdaccio.cold), warm: samples(ci.verdaccio.warm) },
      },
      load, bodySizes,
      peakRss: {
        larder: Math.max(peaks.npmCi.larder, peaks.load.larder), verdaccio: Math.max(peaks.npmCi.verdaccio, peaks.load.verdaccio),
      },
      peakRssByPhase: peaks, ratios: {}, targets: [],
    };
    const runs = Object.values(load).flatMap((m) => Object.values(m));
    const other = runs.reduce((a, l) => a + l.otherCpuSeconds, 0) / runs.reduce((a, l) => a + l.windowSeconds, 0);
    results.settings.otherCpuCores = other;
    results.settings.quietWaitSeconds = QUIET.waitedMs / 1000;
    if (NICE !== 0) results.settings.notes.push(`the whole run (servers, load generator, npm) ran at nice ${NICE}, its autogroup too`);
    if (other > 0.1) {
      results.settings.notes.push(`other work on the machine used ${other.toFixed(2)} cores on average during the load runs: absolute rates are depressed, per-CPU-second rates are the fairer comparison`);
    }
    judge(results);
    await mkdir(join(BENCH, 'results'), { recursive: true });
    await writeFile(join(BENCH, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\n${formatReport(results)}\n\nwritten: bench/results/latest.json`);
  } finally {
    for (const s of running) await s.stop().catch(() => undefined);
    await upstream.stop();
  }
}

main().catch((err: unknown) => {
  console.error('bench failed:', err);
  process.exitCode = 1;
});
