/**
 * The warm-load phase: a fresh instance of Larder and of Verdaccio, each
 * filled by one `npm ci` and by requesting every packument (both forms) and
 * tarball, checked, then autocannon (a child process) at N connections on
 * packuments (full, abbreviated), small tarballs and the multi-MB tarball,
 * one server at a time, alternating order, the same measured time each.
 */
import type { RegistryFixture } from '../test/helpers/npm-fixture/types.js';
import { alternate, type LoadResult } from './load.js';
import { timeNpmCi, type AppProject } from './npm-ci.js';
import type { QuietBudget } from './proc.js';
import { prime, scenarios, specFor, type BodySizes, type ScenarioName } from './scenarios.js';
import type { BenchServer, ServerName } from './servers.js';

/** What the phase measured. */
export interface LoadPhase {
  load: Record<ScenarioName, Record<ServerName, LoadResult>>;
  bodySizes: Record<ServerName, BodySizes>;
  peakRss: Record<ServerName, number>;
}

/** Context the phase needs from the run. */
export interface LoadContext {
  benchDir: string;
  workDir: string;
  app: AppProject;
  fixture: RegistryFixture;
  quiet: QuietBudget;
  connections: number;
  seconds: number;
  rounds: number;
  warmup: number;
  /** Starts a fresh server of the given kind. */
  start(name: ServerName): Promise<BenchServer>;
  log: (line: string) => void;
}

/** Runs the phase; both servers are stopped when it returns. */
export async function runLoadPhase(c: LoadContext): Promise<LoadPhase> {
  const larder = await c.start('larder');
  const verdaccio = await c.start('verdaccio').catch(async (err: unknown) => {
    await larder.stop();
    throw err;
  });
  const servers = { larder, verdaccio };
  const peakRss = { larder: 0, verdaccio: 0 };
  try {
    const bodySizes = {} as Record<ServerName, BodySizes>;
    for (const n of ['larder', 'verdaccio'] as const) {
      await timeNpmCi(c.app, c.workDir, servers[n].registry);
      bodySizes[n] = await prime(servers[n], c.fixture);
    }
    const load = {} as Record<ScenarioName, Record<ServerName, LoadResult>>;
    for (const sc of scenarios(c.fixture, c.connections)) {
      c.log(`load: ${sc.title}, ${sc.paths.length} paths, ${c.rounds}x${c.seconds}s per server …`);
      const targets = (['larder', 'verdaccio'] as const).map((n) => ({ name: n, spec: specFor(sc, servers[n], c.seconds) }));
      load[sc.name] = await alternate(c.benchDir, targets, c.rounds, c.warmup, c.quiet);
      c.log(
        `  larder ${Math.round(load[sc.name].larder.requestsPerSec)} req/s, ` +
          `verdaccio ${Math.round(load[sc.name].verdaccio.requestsPerSec)} req/s`,
      );
    }
    return { load, bodySizes, peakRss };
  } finally {
    for (const n of ['larder', 'verdaccio'] as const) {
      servers[n].memory.sample();
      peakRss[n] = servers[n].memory.peak;
      await servers[n].stop();
    }
  }
}
