/**
 * Shared types and small helpers for the local npm upstream fixture.
 *
 * The fixture is a deterministic, on-disk set of npm packages (packuments +
 * real gzip'd tarballs) that `server.ts` serves like registry.npmjs.org.
 * Tarball URLs inside stored packuments use {@link BASE_PLACEHOLDER}; the
 * server substitutes its own base URL at serve time.
 */

/** Placeholder for the upstream base URL (no trailing slash) inside stored packuments. */
export const BASE_PLACEHOLDER = '{{LARDER_NPM_UPSTREAM_BASE}}';

/** Fixed mtime used for every tarball entry (same value `npm pack` uses). */
export const TARBALL_MTIME = new Date('1985-10-26T08:15:00.000Z');

/** `name -> semver range` map as found in package.json. */
export type DepMap = Record<string, string>;

/** Person record (maintainers, `_npmUser`). */
export interface NpmPerson {
  name: string;
  email: string;
}

/** `dist` block of a version document. `integrity` etc. are absent on old-style packages. */
export interface NpmDist {
  tarball: string;
  shasum: string;
  integrity?: string;
  fileCount?: number;
  unpackedSize?: number;
}

/** One entry of `packument.versions`, i.e. a published package.json plus registry fields. */
export interface NpmVersionDoc {
  name: string;
  version: string;
  description?: string;
  main?: string;
  license?: string;
  keywords?: string[];
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: DepMap;
  devDependencies?: DepMap;
  optionalDependencies?: DepMap;
  peerDependencies?: DepMap;
  peerDependenciesMeta?: Record<string, { optional: boolean }>;
  bundleDependencies?: string[];
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  directories?: Record<string, string>;
  deprecated?: string;
  hasInstallScript?: boolean;
  _hasShrinkwrap?: boolean;
  _id: string;
  _nodeVersion?: string;
  _npmVersion?: string;
  _npmUser?: NpmPerson;
  maintainers?: NpmPerson[];
  dist: NpmDist;
}

/** Full ("corgi-less") packument as served by `GET /<name>` without a special Accept header. */
export interface NpmPackument {
  _id: string;
  _rev: string;
  name: string;
  description: string;
  'dist-tags': Record<string, string>;
  versions: Record<string, NpmVersionDoc>;
  time: Record<string, string>;
  modified: string;
  maintainers: NpmPerson[];
  license: string;
  readme: string;
  readmeFilename: string;
  keywords?: string[];
}

/** Abbreviated packument (`Accept: application/vnd.npm.install-v1+json`). */
export interface NpmAbbreviatedPackument {
  name: string;
  modified: string;
  'dist-tags': Record<string, string>;
  versions: Record<string, Partial<NpmVersionDoc> & { name: string; version: string; dist: NpmDist }>;
}

/** A tarball stored on disk by the generator. */
export interface FixtureTarball {
  name: string;
  version: string;
  /** Upstream URL path, e.g. `/@corp/widget/-/widget-1.0.0.tgz`. */
  urlPath: string;
  /** Absolute path of the `.tgz` on disk. */
  file: string;
  size: number;
  shasum: string;
  integrity: string;
}

/** A package of the fixture with its on-disk packument and tarballs. */
export interface FixturePackage {
  name: string;
  versions: string[];
  distTags: Record<string, string>;
  /** Absolute path of the stored packument JSON (contains {@link BASE_PLACEHOLDER}). */
  packumentFile: string;
  tarballs: FixtureTarball[];
}

/** Description of a generated registry, returned by `generateRegistry`/`loadRegistry`. */
export interface RegistryFixture {
  dir: string;
  seed: number;
  packages: FixturePackage[];
  /** Dependencies of the root "app" project (use them in a package.json). */
  appDependencies: DepMap;
  /** Package names reachable from `appDependencies` via dependencies/optional/peer edges. */
  reachable: string[];
  scopedPackages: string[];
  bigPackage: string;
  bigTarballBytes: number;
  /** Package whose versions only carry `dist.shasum` (no `integrity`). */
  oldStylePackage: string;
  /** Package with a `bin` entry. */
  binPackage: string;
  /** Package with an `install` script (`hasInstallScript: true`). */
  installScriptPackage: string;
  /** One deprecated version. */
  deprecated: { name: string; version: string };
}

/** Error codes raised by the fixture helpers. */
export type NpmFixtureErrorCode = 'EFIXTURE' | 'ENOPACKAGE' | 'EVERSIONEXISTS' | 'ENPM' | 'ELOCKFILE';

/** Typed error thrown by the fixture helpers. */
export class NpmFixtureError extends Error {
  override readonly name = 'NpmFixtureError';
  constructor(
    readonly code: NpmFixtureErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Upstream path of a tarball: `/<name>/-/<basename>-<version>.tgz` (scope kept in the dir part only). */
export function tarballUrlPath(name: string, version: string): string {
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return `/${name}/-/${base}-${version}.tgz`;
}
