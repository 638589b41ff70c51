/**
 * On-demand preparation for `npm run bench`: installs the benchmark-only
 * packages (autocannon into bench/, Verdaccio into bench/verdaccio/) when
 * their node_modules are missing, and compiles the daemon into
 * bench/.work/dist so the run measures the current source, built exactly as
 * `npm run build` builds it. Checks that the Debian tools the benchmark
 * runs (nginx, skopeo, docker-registry) are installed, and names the tree
 * and tool versions a result was measured with.
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
    cwd: dir,
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
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
      cwd: root,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
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

/** Debian packages the benchmark runs (binary → package). */
export const DEBIAN_TOOLS: ReadonlyArray<{ bin: string; pkg: string }> = [
  { bin: '/usr/sbin/nginx', pkg: 'nginx' },
  { bin: '/usr/bin/skopeo', pkg: 'skopeo' },
  { bin: '/usr/bin/docker-registry', pkg: 'docker-registry' },
];

/** Throws with the one install command when a Debian package the benchmark needs is missing. */
export function requireDebianTools(): void {
  const missing = DEBIAN_TOOLS.filter((t) => !existsSync(t.bin)).map((t) => t.pkg);
  if (missing.length > 0) {
    throw new Error(`the benchmark needs ${missing.join(', ')}; install with:\n  apt-get install -y ${missing.join(' ')}`);
  }
}

/** First line of a tool's version output, or 'unknown'. */
export async function toolVersion(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { timeout: 30_000 });
    return `${stdout}${stderr}`.trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `git rev-parse --short HEAD` of the tree being measured (with `+dirty` when it has changes other than results). */
export async function commitOf(root: string): Promise<string> {
  try {
    const head = (await execFileAsync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })).stdout.trim();
    const status = (
      await execFileAsync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results'], { cwd: root })
    ).stdout.trim();
    return status ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}
