/**
 * Builds an "app" project against the fixture upstream with the REAL npm
 * client, isolated from the user's npm configuration, so tests get a
 * `package-lock.json` whose `resolved` URLs point at the upstream.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NpmFixtureError, type DepMap, type RegistryFixture } from './types.js';

const execFileAsync = promisify(execFile);

/** Options of {@link runNpm}. */
export interface RunNpmOptions {
  cwd: string;
  /** Registry URL passed as `--registry` / `npm_config_registry`. */
  registry: string;
  /** npm cache dir; empty user and global npmrc files (`.npmrc-user`, `.npmrc-global`) are written inside it. */
  cacheDir: string;
  /** Kill npm after this many ms (default 120 000). */
  timeoutMs?: number;
  /** npm executable (default `npm` from PATH). */
  npmBin?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Output of an npm run. */
export interface NpmRun {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs `npm <args>` with an isolated configuration: inherited `npm_*`
 * variables are dropped, user and global npmrc point at an empty file, the
 * cache and registry are explicit and the update notifier is off.
 */
export async function runNpm(args: readonly string[], opts: RunNpmOptions): Promise<NpmRun> {
  await mkdir(opts.cacheDir, { recursive: true });
  // npm refuses to load one file as both user and global config, hence two empty files.
  const userRc = join(opts.cacheDir, '.npmrc-user');
  const globalRc = join(opts.cacheDir, '.npmrc-global');
  await writeFile(userRc, '');
  await writeFile(globalRc, '');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.toLowerCase().startsWith('npm_')) env[k] = v;
  }
  Object.assign(env, {
    npm_config_userconfig: userRc,
    npm_config_globalconfig: globalRc,
    npm_config_cache: opts.cacheDir,
    npm_config_registry: opts.registry,
    npm_config_update_notifier: 'false',
    NO_UPDATE_NOTIFIER: '1',
    ...opts.env,
  });
  const fullArgs = [...args, '--registry', opts.registry, '--cache', opts.cacheDir];
  const started = Date.now();
  try {
    const { stdout, stderr } = await execFileAsync(opts.npmBin ?? 'npm', fullArgs, {
      cwd: opts.cwd,
      env,
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 32 * 1024 * 1024,
      encoding: 'utf8',
    });
    return { stdout, stderr, durationMs: Date.now() - started };
  } catch (err) {
    const e = err as { stderr?: string; code?: unknown; signal?: unknown };
    throw new NpmFixtureError(
      'ENPM',
      `npm ${args.join(' ')} failed (code ${String(e.code)}, signal ${String(e.signal)}): ${e.stderr ?? ''}`,
      { cause: err },
    );
  }
}

/** The parts of a lockfile v3 package entry the tests care about. */
export interface LockPackage {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: DepMap;
}

/** A parsed `package-lock.json` (lockfileVersion 3). */
export interface PackageLock {
  name: string;
  lockfileVersion: number;
  packages: Record<string, LockPackage>;
}

/** Reads and parses `<dir>/package-lock.json`. */
export async function readLockfile(dir: string): Promise<PackageLock> {
  try {
    return JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as PackageLock;
  } catch (err) {
    throw new NpmFixtureError('ELOCKFILE', `cannot read package-lock.json in ${dir}`, { cause: err });
  }
}

/** Options of {@link makeProject}. */
export interface MakeProjectOptions {
  /** `'lockfile'` (default): `npm install --package-lock-only`; `'install'`: also populate node_modules. */
  mode?: 'lockfile' | 'install';
  /** Root dependencies (default: `fixture.appDependencies`). */
  dependencies?: DepMap;
  /** npm cache dir to use and keep (default: a fresh temp dir, removed afterwards). */
  cacheDir?: string;
  timeoutMs?: number;
  npmBin?: string;
  /** Extra npm CLI arguments. */
  extraArgs?: string[];
}

/** Result of {@link makeProject}. */
export interface ProjectResult {
  dir: string;
  lockfile: PackageLock;
  /** Lockfile entries other than the root (`""`). */
  installed: [path: string, entry: LockPackage][];
  npm: NpmRun;
}

/**
 * Writes `<dir>/package.json` depending on the fixture's app dependencies and
 * runs the real npm client against `upstreamUrl` to produce `package-lock.json`.
 * Throws `ELOCKFILE` if any `resolved` URL is not on the upstream.
 */
export async function makeProject(
  dir: string,
  fixture: RegistryFixture,
  upstreamUrl: string,
  opts: MakeProjectOptions = {},
): Promise<ProjectResult> {
  await mkdir(dir, { recursive: true });
  const pkg = {
    name: 'larder-fixture-app',
    version: '1.0.0',
    private: true,
    license: 'UNLICENSED',
    description: 'App project generated by the Larder npm fixture',
    dependencies: opts.dependencies ?? fixture.appDependencies,
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const cacheDir = opts.cacheDir ?? (await mkdtemp(join(tmpdir(), 'larder-npm-cache-')));
  const args = [
    'install',
    ...(opts.mode === 'install' ? [] : ['--package-lock-only']),
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--prefer-online',
    '--no-update-notifier',
    '--loglevel=warn',
    ...(opts.extraArgs ?? []),
  ];
  try {
    const npm = await runNpm(args, {
      cwd: dir,
      registry: upstreamUrl,
      cacheDir,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.npmBin !== undefined ? { npmBin: opts.npmBin } : {}),
    });
    const lockfile = await readLockfile(dir);
    const installed = Object.entries(lockfile.packages).filter(([path]) => path !== '');
    const origin = new URL(upstreamUrl).origin;
    const foreign = installed.filter(([, e]) => e.resolved !== undefined && !e.resolved.startsWith(`${origin}/`));
    if (foreign.length > 0) {
      throw new NpmFixtureError('ELOCKFILE', `resolved URLs not on ${origin}: ${foreign.map(([p]) => p).join(', ')}`);
    }
    return { dir, lockfile, installed, npm };
  } finally {
    if (opts.cacheDir === undefined) await rm(cacheDir, { recursive: true, force: true });
  }
}
