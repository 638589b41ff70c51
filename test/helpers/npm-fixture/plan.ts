/**
 * Deterministic planning of the fixture registry: package names (some scoped),
 * version sets, dist-tags, publish times and a dependency graph (a DAG with
 * regular, dev, optional and peer edges) rooted at an "app" dependency list.
 * No I/O here; `generate.ts` turns the plan into packuments and tarballs.
 */
import semver from 'semver';
import { Rng } from './tarball.js';
import { NpmFixtureError, type DepMap } from './types.js';

/** package.json dependency sections used by the fixture. */
export type DepKind = 'dependencies' | 'devDependencies' | 'optionalDependencies' | 'peerDependencies';

/** One edge of the dependency graph. */
export interface PlannedDep {
  kind: DepKind;
  name: string;
  range: string;
  /** Peer marked optional in `peerDependenciesMeta` (npm does not auto-install it). */
  optionalPeer?: boolean;
}

/** What makes a package special, if anything. */
export type PackageRole = 'plain' | 'big' | 'old' | 'bin' | 'install';

/** A planned package (no tarballs yet). */
export interface PlannedPackage {
  name: string;
  role: PackageRole;
  versions: string[];
  distTags: Record<string, string>;
  deps: PlannedDep[];
  description: string;
  keywords: string[];
  deprecatedVersion?: string;
  /** version -> ISO publish time, plus `created` and `modified`. */
  time: Record<string, string>;
}

/** The whole planned registry. */
export interface RegistryPlan {
  packages: PlannedPackage[];
  appDependencies: DepMap;
  reachable: string[];
}

const ADJECTIVES = [
  'quick',
  'lazy',
  'tiny',
  'bright',
  'silent',
  'rapid',
  'amber',
  'cobalt',
  'brisk',
  'mellow',
  'noble',
  'plain',
  'royal',
  'solid',
  'vivid',
  'witty',
  'fuzzy',
  'lunar',
  'polar',
  'swift',
];
const NOUNS = [
  'pad',
  'parser',
  'queue',
  'cache',
  'logger',
  'stream',
  'router',
  'glob',
  'color',
  'mime',
  'hash',
  'merge',
  'retry',
  'shell',
  'timer',
  'config',
  'path',
  'event',
  'buffer',
  'format',
];
const VERSION_SETS: readonly (readonly string[])[] = [
  ['1.0.0', '1.0.1', '1.1.0'],
  ['1.0.0', '1.1.0', '2.0.0'],
  ['0.1.0', '0.2.0', '1.0.0', '1.1.0', '2.0.0', '2.1.0-beta.0'],
  ['1.0.0', '2.0.0', '2.1.0', '3.0.0'],
  ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.0.1'],
];
const SPECIALS: readonly { name: string; role: PackageRole; versions: string[] }[] = [
  { name: 'mega-assets', role: 'big', versions: ['1.0.0', '1.1.0'] },
  { name: 'legacy-shasum', role: 'old', versions: ['0.9.0', '1.0.0'] },
  { name: '@corp/toolbox-cli', role: 'bin', versions: ['1.0.0', '1.2.0', '2.0.0'] },
  { name: 'node-addon-stub', role: 'install', versions: ['1.0.0', '1.0.1'] },
];
const ROOT_PLAIN = 6;
const DAY = 86_400_000;

function distTagsFor(versions: readonly string[]): Record<string, string> {
  const stable = versions.filter((v) => semver.prerelease(v) === null);
  const tags: Record<string, string> = { latest: semver.maxSatisfying(stable, '*') ?? stable[0] ?? '1.0.0' };
  const pre = versions.filter((v) => semver.prerelease(v) !== null);
  if (pre.length > 0) tags.next = pre[pre.length - 1] ?? '';
  return tags;
}

/** A range on `target` picking one of its stable majors, e.g. `^2.0.0` or `~1.1.0`. */
function rangeFor(rng: Rng, target: PlannedPackage): string {
  const stable = target.versions.filter((v) => semver.prerelease(v) === null);
  const majors = [...new Set(stable.map((v) => semver.major(v)))];
  const major = rng.pick(majors);
  const inMajor = stable.filter((v) => semver.major(v) === major);
  const first = inMajor[0] ?? '1.0.0';
  return rng.chance(0.2) ? `~${inMajor[inMajor.length - 1] ?? first}` : `^${first}`;
}

function planTimes(rng: Rng, versions: readonly string[]): Record<string, string> {
  let t = Date.UTC(2019, 0, 1) + rng.int(0, 700) * DAY + rng.int(0, 86_399) * 1000;
  const time: Record<string, string> = { created: new Date(t).toISOString() };
  for (const v of versions) {
    t += rng.int(3, 60) * DAY + rng.int(0, 86_399) * 1000;
    time[v] = new Date(t).toISOString();
  }
  time.modified = new Date(t + rng.int(1, 600) * 1000).toISOString();
  return time;
}

/** Builds the deterministic plan for `count` packages (at least 12) from `seed`. */
export function planRegistry(count: number, seed: number): RegistryPlan {
  if (!Number.isInteger(count) || count < 12) {
    throw new NpmFixtureError('EFIXTURE', `planRegistry: need at least 12 packages, got ${count}`);
  }
  const rng = new Rng(seed);
  const used = new Set(SPECIALS.map((s) => s.name));
  const generated: string[] = [];
  for (let i = 0; generated.length < count - SPECIALS.length; i++) {
    const base = `${rng.pick(ADJECTIVES)}-${rng.pick(NOUNS)}`;
    const scope = i % 6 === 2 ? '@corp/' : i % 6 === 4 ? '@acme/' : '';
    const name = used.has(scope + base) ? `${scope}${base}-${i}` : scope + base;
    used.add(name);
    generated.push(name);
  }
  const make = (name: string, role: PackageRole, versions: readonly string[]): PlannedPackage => ({
    name,
    role,
    versions: [...versions],
    distTags: distTagsFor(versions),
    deps: [],
    description: `Fixture package ${name} (${role})`,
    keywords: ['fixture', name.replace(/^@[^/]+\//, '').split('-')[1] ?? 'misc'],
    time: planTimes(rng, versions),
  });
  const order: PlannedPackage[] = [
    ...generated.slice(0, ROOT_PLAIN).map((n) => make(n, 'plain', rng.pick(VERSION_SETS))),
    ...SPECIALS.map((s) => make(s.name, s.role, s.versions)),
    ...generated.slice(ROOT_PLAIN).map((n) => make(n, 'plain', rng.pick(VERSION_SETS))),
  ];
  const rootCount = ROOT_PLAIN + SPECIALS.length;
  const addDep = (from: PlannedPackage, to: PlannedPackage, kind: DepKind): void => {
    if (from === to || from.deps.some((d) => d.name === to.name)) return;
    if (kind === 'peerDependencies') {
      from.deps.push({ kind, name: to.name, range: '>=1.0.0', optionalPeer: rng.chance(0.3) });
    } else {
      from.deps.push({ kind, name: to.name, range: rangeFor(rng, to) });
    }
  };
  // Tree edges guarantee every non-root package is reachable; extra edges add sharing/dupes.
  for (let j = rootCount; j < order.length; j++) {
    let parent = order[rng.int(0, j - 1)];
    while (parent === undefined || parent.role === 'big') parent = order[rng.int(0, j - 1)];
    addDep(parent, order[j] as PlannedPackage, 'dependencies');
  }
  for (let i = 0; i < order.length - 1; i++) {
    const from = order[i] as PlannedPackage;
    if (from.role === 'big') continue;
    for (let k = rng.int(0, 2); k > 0; k--) {
      const to = order[rng.int(i + 1, order.length - 1)] as PlannedPackage;
      const r = rng.next();
      addDep(from, to, r < 0.55 ? 'dependencies' : r < 0.75 ? 'devDependencies' : r < 0.87 ? 'optionalDependencies' : 'peerDependencies');
    }
  }
  const deprecatedHost = order.find((p) => p.role === 'plain' && p.versions.length > 3);
  if (deprecatedHost) deprecatedHost.deprecatedVersion = deprecatedHost.versions[0];

  const appDependencies: DepMap = {};
  for (const p of order.slice(0, rootCount)) appDependencies[p.name] = `^${p.distTags.latest ?? '1.0.0'}`;
  const byName = new Map(order.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const queue = Object.keys(appDependencies);
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const d of byName.get(name)?.deps ?? []) {
      if (d.kind !== 'devDependencies' && !d.optionalPeer) queue.push(d.name);
    }
  }
  const packages = [...order].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { packages, appDependencies, reachable: [...seen].sort() };
}
