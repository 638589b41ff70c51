// The Debian packages the suites drive as real clients and upstreams (apt-get,
// skopeo, go, htpasswd, chromium…), listed one a line in .ci/apt-packages*.txt.
// `npm test` runs this file first, and test/run.mjs checks again before any
// suite runs (for `node test/run.mjs <filter>`): missing packages are
// installed when this runs as root with apt-get at hand; otherwise the run
// stops with the one command that installs them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Every package named in `<root>/.ci/apt-packages*.txt` (comments and blank lines skipped), once each. */
export function requiredPackages(root) {
  const dir = join(root, '.ci');
  const lists = readdirSync(dir)
    .filter((f) => /^apt-packages.*\.txt$/.test(f))
    .sort();
  const lines = lists.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'));
  const names = lines.map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  return [...new Set(names.flatMap((l) => l.split(/\s+/)))];
}

/** The packages dpkg does not report as installed (all of them when dpkg-query is missing). */
export function missingPackages(pkgs) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package}\t${db:Status-Abbrev}\n', ...pkgs], { encoding: 'utf8' });
  if (r.error) return [...pkgs];
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => /\tii\s*$/.test(l))
      .map((l) => l.split('\t')[0].replace(/:.*$/, '')),
  );
  return pkgs.filter((p) => !installed.has(p));
}

/** The one command that installs `pkgs` (with sudo when not root). */
export function installCommand(pkgs, root = process.getuid?.() === 0) {
  const sudo = root ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

const onPath = (cmd) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));

function aptGet(args) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt run (a second test run, unattended upgrades) holds the lock for a while: wait for it.
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], { stdio: ['ignore', 'inherit', 'inherit'], env });
  return r.status === 0;
}

/**
 * Installs what is missing, or returns a message saying how to. Returns
 * undefined when every package is there (after installing, if it had to).
 * `isRoot` and `aptUsable` default to what this process finds.
 */
export function ensureAptPackages(root, opts = {}) {
  const isRoot = opts.isRoot ?? process.getuid?.() === 0;
  const aptUsable = opts.aptUsable ?? (onPath('apt-get') && onPath('dpkg-query'));
  const log = opts.log ?? ((line) => console.error(line));
  const pkgs = requiredPackages(root);
  const missing = missingPackages(pkgs);
  if (!missing.length) return undefined;
  if (!isRoot || !aptUsable) {
    return `the tests need these Debian packages: ${missing.join(' ')}\ninstall them with:\n  ${installCommand(missing, isRoot)}`;
  }
  log(`test setup: installing Debian packages the suites need: ${missing.join(' ')}`);
  if (!aptGet(['update', '-qq']) || !aptGet(['install', '-y', '-qq', '--no-install-recommends', ...missing])) {
    return `apt-get could not install ${missing.join(' ')}\ninstall them with:\n  ${installCommand(missing, true)}`;
  }
  const still = missingPackages(pkgs);
  return still.length ? `still missing after apt-get install: ${still.join(' ')}` : undefined;
}

// `node test/setup/apt-packages.mjs`: the same check on its own (npm test runs it before the type check).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const problem = ensureAptPackages(fileURLToPath(new URL('../..', import.meta.url)));
  if (problem) {
    console.error(`test setup: ${problem}`);
    process.exit(1);
  }
}
