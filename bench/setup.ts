/**
 * On-demand preparation for `npm run bench`: installs the benchmark-only
 * packages (autocannon into bench/, Verdaccio into bench/verdaccio/) when
 * their node_modules are missing, and compiles the daemon into
 * bench/.work/dist so the run measures the current source, built exactly as
 * `npm run build` builds it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** `npm install --prefix <dir>` unless `<dir>/node_modules` exists. */
export async function ensureInstalled(dir: string, log: (line: string) => void): Promise<void> {
  if (existsSync(join(dir, 'node_modules'))) return;
  log(`installing benchmark packages into ${dir} …`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await execFileAsync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir, timeout: 600_000, maxBuffer: 16 * 1024 * 1024,
  });
}

/**
 * Compiles daemon/ with tsconfig.build.json into `outDir` and returns the
 * path of the CLI. Type errors elsewhere in the tree do not stop the build
 * (tsc still emits); a missing CLI does.
 */
export async function buildDaemon(root: string, outDir: string, log: (line: string) => void): Promise<string> {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await execFileAsync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
      cwd: root, timeout: 300_000, maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    log(`warning: tsc reported errors (building anyway):\n${out.split('\n').slice(0, 10).join('\n')}`);
  }
  const cli = join(outDir, 'daemon', 'cli.js');
  if (!existsSync(cli)) throw new Error(`build produced no ${cli}`);
  return cli;
}

/** `version` from a package.json, or 'unknown'. */
export async function packageVersion(file: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Version of the npm client on PATH. */
export async function npmVersion(): Promise<string> {
  const { stdout } = await execFileAsync('npm', ['--version'], { timeout: 30_000 });
  return stdout.trim();
}
