/**
 * Generates the local npm upstream fixture on disk, deterministically and
 * without network: real npm tarballs under `<dir>/tarballs/<upstream path>`,
 * full packuments (tarball URLs templated with BASE_PLACEHOLDER) under
 * `<dir>/packuments/`, and a `fixture.json` description.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { planRegistry, type PlannedPackage } from './plan.js';
import { mapLimit, packFiles, Rng, seededBytes, sha1Hex, type PackageFiles, type PackedTarball } from './tarball.js';
import {
  BASE_PLACEHOLDER,
  NpmFixtureError,
  tarballUrlPath,
  type FixturePackage,
  type NpmPackument,
  type NpmPerson,
  type NpmVersionDoc,
  type RegistryFixture,
} from './types.js';

/** Options of {@link generateRegistry}. */
export interface GenerateOptions {
  /** Number of packages (default 40, minimum 12). */
  packages?: number;
  /** Size of the random payload inside the big package's tarballs (default 6 MiB). */
  bigTarballBytes?: number;
  /** PRNG seed (default 1). */
  seed?: number;
}

/** The authored package.json of a version, before the registry adds `_id`, `dist`, ... */
export type AuthoredManifest = Omit<
  NpmVersionDoc,
  | '_id'
  | 'dist'
  | '_nodeVersion'
  | '_npmVersion'
  | '_npmUser'
  | 'maintainers'
  | '_hasShrinkwrap'
  | 'hasInstallScript'
  | 'directories'
  | 'deprecated'
>;

/** A built version: its registry document (templated tarball URL) and tarball bytes. */
export interface BuiltVersion {
  doc: NpmVersionDoc;
  tarball: PackedTarball;
}

const FIXTURE_FILE = 'fixture.json';
const MAINTAINER: NpmPerson = { name: 'fixture-bot', email: 'fixture-bot@example.invalid' };
const MIT = 'MIT License\n\nCopyright (c) Larder fixture\n\nPermission is hereby granted, free of charge, ...\n';

/** Default source files of a version: index.js, a filler lib/util.js, README.md, LICENSE. */
function defaultFiles(manifest: AuthoredManifest, seed: number): PackageFiles {
  const rng = new Rng(Number.parseInt(sha1Hex(Buffer.from(`${seed}:${manifest.name}@${manifest.version}`)).slice(0, 8), 16));
  const lines: string[] = ["'use strict';"];
  for (let i = rng.int(10, 300); i > 0; i--) lines.push(`exports.f${i} = (x) => x * ${rng.int(2, 99)} + ${rng.int(0, 999)};`);
  return {
    'index.js': `'use strict';\nmodule.exports = { name: ${JSON.stringify(manifest.name)}, version: ${JSON.stringify(manifest.version)}, util: require('./lib/util.js') };\n`,
    'lib/util.js': `${lines.join('\n')}\n`,
    'README.md': `# ${manifest.name}\n\n${manifest.description ?? ''}\n\n\`\`\`sh\nnpm install ${manifest.name}\n\`\`\`\n`,
    LICENSE: MIT,
  };
}

/**
 * Packs one version (package.json + default files + `extraFiles`) and returns
 * its registry document. `oldStyle` documents only carry `dist.shasum`.
 */
export async function buildVersion(
  scratchDir: string,
  manifest: AuthoredManifest,
  opts: { seed: number; extraFiles?: PackageFiles; oldStyle?: boolean; deprecated?: string },
): Promise<BuiltVersion> {
  const files: PackageFiles = {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    ...defaultFiles(manifest, opts.seed),
    ...opts.extraFiles,
  };
  const tarball = await packFiles(scratchDir, files);
  const installScript = ['preinstall', 'install', 'postinstall'].some((s) => manifest.scripts?.[s] !== undefined);
  const doc: NpmVersionDoc = {
    ...manifest,
    _id: `${manifest.name}@${manifest.version}`,
    _nodeVersion: opts.oldStyle ? '0.10.48' : '20.11.1',
    _npmVersion: opts.oldStyle ? '1.4.28' : '10.2.4',
    _npmUser: MAINTAINER,
    maintainers: [MAINTAINER],
    directories: {},
    _hasShrinkwrap: false,
    ...(installScript ? { hasInstallScript: true } : {}),
    ...(opts.deprecated !== undefined ? { deprecated: opts.deprecated } : {}),
    dist: opts.oldStyle
      ? { shasum: tarball.shasum, tarball: BASE_PLACEHOLDER + tarballUrlPath(manifest.name, manifest.version) }
      : {
          integrity: tarball.integrity,
          shasum: tarball.shasum,
          tarball: BASE_PLACEHOLDER + tarballUrlPath(manifest.name, manifest.version),
          fileCount: tarball.fileCount,
          unpackedSize: tarball.unpackedSize,
        },
  };
  return { doc, tarball };
}

function manifestFor(p: PlannedPackage, version: string): AuthoredManifest {
  const m: AuthoredManifest = {
    name: p.name,
    version,
    description: p.description,
    main: 'index.js',
    license: 'MIT',
    keywords: p.keywords,
  };
  if (p.role === 'bin') m.bin = { toolbox: 'bin/toolbox.js' };
  if (p.role === 'install') m.scripts = { install: 'node install.js' };
  if (p.role !== 'old') m.engines = { node: '>=14' };
  for (const d of p.deps) {
    m[d.kind] = { ...m[d.kind], [d.name]: d.range };
    if (d.optionalPeer) m.peerDependenciesMeta = { ...m.peerDependenciesMeta, [d.name]: { optional: true } };
  }
  return m;
}

function extraFilesFor(p: PlannedPackage, version: string, seed: number, bigBytes: number): PackageFiles {
  switch (p.role) {
    case 'big':
      return { 'data/blob.bin': seededBytes(`${seed}:${p.name}@${version}`, bigBytes) };
    case 'bin':
      return { 'bin/toolbox.js': `#!/usr/bin/env node\nconsole.log('toolbox ${version}');\n` };
    case 'install':
      return { 'install.js': '// fixture install script: intentionally a no-op\n' };
    default:
      return {};
  }
}

/** Deterministically generates the fixture registry into `dir` (created/emptied as needed). */
export async function generateRegistry(dir: string, opts: GenerateOptions = {}): Promise<RegistryFixture> {
  const seed = opts.seed ?? 1;
  const bigTarballBytes = opts.bigTarballBytes ?? 6 * 1024 * 1024;
  const plan = planRegistry(opts.packages ?? 40, seed);
  await rm(join(dir, 'tarballs'), { recursive: true, force: true });
  await rm(join(dir, 'packuments'), { recursive: true, force: true });
  await mkdir(join(dir, 'packuments'), { recursive: true });
  const scratch = join(dir, '.scratch');
  const jobs = plan.packages.flatMap((p) => p.versions.map((version) => ({ p, version })));
  const built = await mapLimit(jobs, 8, async ({ p, version }) => {
    const result = await buildVersion(scratch, manifestFor(p, version), {
      seed,
      extraFiles: extraFilesFor(p, version, seed, bigTarballBytes),
      oldStyle: p.role === 'old',
      ...(p.deprecatedVersion === version ? { deprecated: 'This version has a known bug, please upgrade' } : {}),
    });
    const urlPath = tarballUrlPath(p.name, version);
    const file = join(dir, 'tarballs', urlPath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, result.tarball.buffer);
    const { shasum, integrity } = result.tarball;
    return { ...result, entry: { name: p.name, version, urlPath, file, size: result.tarball.buffer.length, shasum, integrity } };
  });
  await rm(scratch, { recursive: true, force: true });

  const packages: FixturePackage[] = [];
  for (const p of plan.packages) {
    const mine = built.filter((b) => b.doc.name === p.name);
    const packument: NpmPackument = {
      _id: p.name,
      _rev: `${p.versions.length}-${sha1Hex(Buffer.from(`${seed}:${p.name}`)).slice(0, 32)}`,
      name: p.name,
      description: p.description,
      'dist-tags': p.distTags,
      versions: Object.fromEntries(mine.map((b) => [b.doc.version, b.doc])),
      time: p.time,
      modified: p.time.modified ?? '',
      maintainers: [MAINTAINER],
      license: 'MIT',
      readme: `# ${p.name}\n\n${p.description}\n`,
      readmeFilename: 'README.md',
      keywords: p.keywords,
    };
    const packumentFile = join(dir, 'packuments', `${encodeURIComponent(p.name)}.json`);
    await writeFile(packumentFile, JSON.stringify(packument));
    packages.push({ name: p.name, versions: p.versions, distTags: p.distTags, packumentFile, tarballs: mine.map((b) => b.entry) });
  }
  const nameOf = (role: PlannedPackage['role']): string => plan.packages.find((p) => p.role === role)?.name ?? '';
  const dep = plan.packages.find((p) => p.deprecatedVersion !== undefined);
  const fixture: RegistryFixture = {
    dir,
    seed,
    packages,
    appDependencies: plan.appDependencies,
    reachable: plan.reachable,
    scopedPackages: plan.packages.filter((p) => p.name.startsWith('@')).map((p) => p.name),
    bigPackage: nameOf('big'),
    bigTarballBytes,
    oldStylePackage: nameOf('old'),
    binPackage: nameOf('bin'),
    installScriptPackage: nameOf('install'),
    deprecated: { name: dep?.name ?? '', version: dep?.deprecatedVersion ?? '' },
  };
  await writeFile(join(dir, FIXTURE_FILE), `${JSON.stringify(fixture, null, 2)}\n`);
  return fixture;
}

/** Loads a fixture previously written by {@link generateRegistry} (e.g. to reuse it across benchmark runs). */
export async function loadRegistry(dir: string): Promise<RegistryFixture> {
  try {
    return JSON.parse(await readFile(join(dir, FIXTURE_FILE), 'utf8')) as RegistryFixture;
  } catch (err) {
    throw new NpmFixtureError('EFIXTURE', `no fixture in ${dir}`, { cause: err });
  }
}
