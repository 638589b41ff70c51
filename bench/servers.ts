/**
 * The processes under test, each a child of the benchmark: the fixture
 * upstream, Larder (the built CLI, `node <dist>/daemon/cli.js serve`) and
 * Verdaccio (from bench/verdaccio/). Both proxies get a fresh data directory,
 * the same upstream, log level `warn`, and a metadata lifetime (Larder
 * `ttl`, Verdaccio uplink `maxage`) far longer than the run, so warm hits
 * never revalidate while they are measured.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RegistryFixture } from '../test/helpers/npm-fixture/types.js';
import { freePort, MemoryMonitor, stopChild, track, waitForHttp } from './proc.js';
import type { UpstreamReady } from './upstream-child.js';

/** Metadata lifetime given to both proxies. */
export const METADATA_TTL = '1h';
/** Log level given to both proxies. */
export const LOG_LEVEL = 'warn';

export type ServerName = 'larder' | 'verdaccio';
/** Every process a load run can target: the two proxies, and the bare node:http floor. */
export type SideName = ServerName | 'node-floor' | 'koa-floor' | 'pass-through';

/** A proxy under test. */
export interface BenchServer {
  name: SideName;
  /** Origin without trailing slash, e.g. http://127.0.0.1:40000. */
  origin: string;
  /** Registry URL for npm (trailing slash). */
  registry: string;
  /** Path prefix of the npm API on this server ('' or '/npm'). */
  prefix: string;
  /** Its working directory (a Larder's data directory is `data/` in it). */
  dir: string;
  child: ChildProcess;
  memory: MemoryMonitor;
  /** Recent output, for error messages. */
  output(): string;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

/** The upstream child process. */
export interface UpstreamProcess {
  url: string;
  fixture: RegistryFixture;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Forks bench/upstream-child.ts (through tsx) and waits for its URL. */
export async function startUpstream(benchDir: string, fixtureDir: string): Promise<UpstreamProcess> {
  const child = track(
    fork(join(benchDir, 'upstream-child.ts'), [fixtureDir], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const ready = await new Promise<UpstreamReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as UpstreamReady));
    child.once('exit', (code) => reject(new Error(`bench upstream exited with ${code}`)));
  });
  return {
    url: ready.url,
    fixture: ready.fixture,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

function collect(child: ChildProcess): () => string {
  let out = '';
  const add = (c: Buffer): void => {
    out = (out + c.toString()).slice(-20_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

async function launch(name: SideName, dir: string, argv: string[], port: number, prefix: string, readyPath: string): Promise<BenchServer> {
  const child = track(spawn(process.execPath, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
  const output = collect(child);
  // LARDER_BENCH_TEE=FILE appends every server's stdout to FILE (e.g. with a `--trace-gc` node flag).
  if (process.env.LARDER_BENCH_TEE) child.stdout?.pipe(createWriteStream(process.env.LARDER_BENCH_TEE, { flags: 'a' }));
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(origin + readyPath, child, output);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  const memory = new MemoryMonitor(child.pid ?? 0);
  return {
    name,
    origin,
    registry: `${origin}${prefix}/`,
    prefix,
    dir,
    child,
    memory,
    output,
    stop: async () => {
      memory.stop();
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Larder remotes as written in larder.yaml. */
export type LarderRemotes = Record<string, Record<string, unknown>>;

/**
 * Starts Larder's built CLI with a fresh data dir and the upstream as its
 * only npm remote; `nodeArgs` go to node itself (e.g. `--cpu-prof`).
 */
export function startLarder(cliJs: string, workDir: string, upstreamUrl: string, nodeArgs: string[] = []): Promise<BenchServer> {
  const remotes = { fixture: { type: 'npm', url: upstreamUrl, ttl: METADATA_TTL } };
  return startLarderWith(cliJs, workDir, remotes, { npm: { default: 'fixture' } }, nodeArgs);
}

/** The node flags `npm start` runs the daemon with (package.json's start script), so the bench measures what users run. */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as {
    scripts: { start: string };
  };
  return pkg.scripts.start.split(/\s+/).filter((a) => a.startsWith('--'));
}

/**
 * Starts Larder's built CLI with a fresh data dir and the given remotes (plus
 * top-level config `extra`), with the node flags of `npm start` and then
 * `nodeArgs` (profiling flags, or a flag under test).
 */
export async function startLarderWith(
  cliJs: string,
  workDir: string,
  remotes: LarderRemotes,
  extra: Record<string, unknown> = {},
  nodeArgs: string[] = [],
): Promise<BenchServer> {
  const dir = join(workDir, `larder-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = { remotes, ...extra, log: { level: LOG_LEVEL } };
  await writeFile(join(dir, 'larder.yaml'), stringify(config));
  const argv = [
    ...startFlags(),
    ...nodeArgs,
    cliJs,
    'serve',
    '--config',
    join(dir, 'larder.yaml'),
    '--listen',
    `127.0.0.1:${port}`,
    '--data-dir',
    join(dir, 'data'),
  ];
  return launch('larder', dir, argv, port, '/npm', '/readyz');
}

/** Starts Verdaccio with fresh storage, one uplink (the upstream) and every package proxied. */
export async function startVerdaccio(verdaccioBin: string, workDir: string, upstreamUrl: string): Promise<BenchServer> {
  const dir = join(workDir, `verdaccio-${Date.now().toString(36)}`);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const pkg = { access: '$all', publish: '$authenticated', unpublish: '$authenticated', proxy: 'upstream' };
  const config = {
    storage: join(dir, 'storage'),
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
    uplinks: { upstream: { url: upstreamUrl, maxage: METADATA_TTL, cache: true, timeout: '30s' } },
    packages: { '@*/*': pkg, '**': pkg },
    server: { keepAliveTimeout: 60 },
    max_body_size: '100mb',
    middlewares: { audit: { enabled: true } },
    log: { type: 'stdout', format: 'json', level: LOG_LEVEL },
  };
  await writeFile(join(dir, 'config.yaml'), stringify(config));
  const argv = [verdaccioBin, '--config', join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`];
  return launch('verdaccio', dir, argv, port, '', '/-/ping');
}

/**
 * Starts bench/node-floor-child.ts: a bare node:http server answering the
 * given packument paths with the bytes a primed server (`source`) serves
 * (`framework` koa: through a one-middleware Koa application).
 */
export async function startNodeFloor(
  benchDir: string,
  workDir: string,
  source: BenchServer,
  paths: string[],
  nodeArgs: string[] = [],
  framework: 'node' | 'koa' = 'node',
): Promise<BenchServer> {
  const dir = join(workDir, `${framework}-floor-${Date.now().toString(36)}`);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  await writeFile(join(dir, 'paths.json'), JSON.stringify(paths));
  const argv = [
    ...nodeArgs,
    '--import',
    import.meta.resolve('tsx'),
    join(benchDir, 'node-floor-child.ts'),
    String(port),
    source.origin + source.prefix,
    join(dir, 'paths.json'),
    framework,
  ];
  return launch(framework === 'koa' ? 'koa-floor' : 'node-floor', dir, argv, port, '', '/readyz');
}

/**
 * Starts bench/pass-through-child.ts: a bare node:http proxy forwarding to
 * `upstreamUrl` (`verify`: also hashing each body and writing it to a temp
 * file), the Node.js floor of a cold pull.
 */
export async function startPassThrough(
  benchDir: string,
  workDir: string,
  upstreamUrl: string,
  mode: 'pipe' | 'verify',
): Promise<BenchServer> {
  const dir = join(workDir, `pass-through-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const argv = ['--import', import.meta.resolve('tsx'), join(benchDir, 'pass-through-child.ts'), String(port), upstreamUrl, dir, mode];
  return launch('pass-through', dir, argv, port, '', '/readyz');
}
