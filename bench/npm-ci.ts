/**
 * `npm ci` wall time through a registry: the real npm client installs the
 * fixture app (lockfile made against the upstream) into a fresh directory
 * with a fresh npm cache every time. `--replace-registry-host=always` makes
 * npm fetch the lockfile's tarballs from the registry under test rather than
 * from the upstream the lockfile names, as it does for a lockfile made
 * against the public registry.
 */
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeProject, runNpm, type PackageLock } from '../test/helpers/npm-fixture/project.js';
import type { RegistryFixture } from '../test/helpers/npm-fixture/types.js';

/** npm flags used for every timed `npm ci`. */
export const NPM_CI_ARGS = ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=warn', '--replace-registry-host=always'];

/** The app project every `npm ci` installs. */
export interface AppProject {
  dir: string;
  /** Installed package entries in the lockfile. */
  packages: number;
  /** Sum of tarball bytes npm downloads on a cold install. */
  tarballBytes: number;
}

/** Creates the app's package.json and lockfile against the upstream (once per run); the fixture's app dependencies unless given. */
export async function prepareApp(
  workDir: string,
  fixture: RegistryFixture,
  upstreamUrl: string,
  dependencies: RegistryFixture['appDependencies'] = fixture.appDependencies,
): Promise<AppProject> {
  const dir = join(workDir, 'app');
  await rm(dir, { recursive: true, force: true });
  const result = await makeProject(dir, fixture, upstreamUrl, { dependencies });
  const sizes = new Map(fixture.packages.flatMap((p) => p.tarballs.map((t) => [`${t.name}@${t.version}`, t.size] as const)));
  let tarballBytes = 0;
  for (const [path, entry] of result.installed) {
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    tarballBytes += sizes.get(`${name}@${entry.version ?? ''}`) ?? 0;
  }
  return { dir, packages: result.installed.length, tarballBytes };
}

let runCounter = 0;

/**
 * Runs one timed `npm ci` of the app through `registry` in a fresh directory
 * with a fresh npm cache, checks that every locked package landed in
 * node_modules, and returns the wall time in milliseconds.
 */
export async function timeNpmCi(app: AppProject, workDir: string, registry: string): Promise<number> {
  runCounter += 1;
  const dir = join(workDir, `ci-${runCounter}`);
  const cacheDir = join(workDir, `npm-cache-${runCounter}`);
  await rm(dir, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(join(app.dir, 'package.json'), join(dir, 'package.json'));
  await cp(join(app.dir, 'package-lock.json'), join(dir, 'package-lock.json'));
  try {
    const run = await runNpm(NPM_CI_ARGS, { cwd: dir, registry, cacheDir, timeoutMs: 300_000 });
    await checkInstalled(dir, app.packages);
    return run.durationMs;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/** Throws unless node_modules holds every package of the lockfile (a broken install is no measurement). */
async function checkInstalled(dir: string, expected: number): Promise<void> {
  const hidden = JSON.parse(await readFile(join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as PackageLock;
  const installed = Object.keys(hidden.packages).filter((p) => p !== '');
  const missing: string[] = [];
  for (const p of installed) {
    const entries: string[] = await readdir(join(dir, p)).catch(() => []);
    if (!entries.includes('package.json')) missing.push(p);
  }
  if (installed.length !== expected || missing.length > 0) {
    throw new Error(`npm ci in ${dir}: ${installed.length}/${expected} packages installed, missing: ${missing.join(', ')}`);
  }
}
