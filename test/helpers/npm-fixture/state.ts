/**
 * In-memory, mutable view of a fixture as served by the upstream: packuments
 * with the real base URL substituted, prebuilt full + abbreviated bodies and
 * ETags, tarball buffers, and runtime `publish`. Used by `server.ts`.
 */
import { readFile } from 'node:fs/promises';
import semver from 'semver';
import { buildVersion, type AuthoredManifest } from './generate.js';
import { sha1Hex } from './tarball.js';
import {
  BASE_PLACEHOLDER,
  NpmFixtureError,
  tarballUrlPath,
  type DepMap,
  type NpmAbbreviatedPackument,
  type NpmPackument,
  type NpmVersionDoc,
  type RegistryFixture,
} from './types.js';

/** A prebuilt response body with its validators. */
export interface RenderedDoc {
  body: Buffer;
  etag: string;
  lastModified: string;
}

/** Served state of one package. */
export interface PackageEntry {
  packument: NpmPackument;
  full: RenderedDoc;
  abbreviated: RenderedDoc;
}

/** A served tarball. */
export interface TarballEntry {
  body: Buffer;
  etag: string;
}

/** Options of a runtime publish. */
export interface PublishOptions {
  /** Dist-tag to point at the new version (default: `latest` if it is the highest stable, `next` for prereleases). */
  tag?: string;
  /** Dependencies of the new version (default: copied from the current `latest`). */
  dependencies?: DepMap;
}

const ABBREVIATED_FIELDS = [
  'name',
  'version',
  'deprecated',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'bundleDependencies',
  'bin',
  'directories',
  'dist',
  'engines',
  '_hasShrinkwrap',
  'hasInstallScript',
  'os',
  'cpu',
] as const satisfies readonly (keyof NpmVersionDoc)[];

/** The abbreviated ("corgi") form of a full packument, as the public registry serves it. */
export function abbreviate(p: NpmPackument): NpmAbbreviatedPackument {
  const versions: NpmAbbreviatedPackument['versions'] = {};
  for (const [v, doc] of Object.entries(p.versions)) {
    const out: Partial<NpmVersionDoc> = {};
    for (const key of ABBREVIATED_FIELDS) {
      if (doc[key] !== undefined) Object.assign(out, { [key]: doc[key] });
    }
    versions[v] = { ...out, name: doc.name, version: doc.version, dist: doc.dist };
  }
  return { name: p.name, modified: p.modified, 'dist-tags': p['dist-tags'], versions };
}

/** Mutable served registry state. */
export class UpstreamState {
  private readonly entries = new Map<string, PackageEntry>();
  private readonly tarballs = new Map<string, TarballEntry>();

  /** `base` is the server origin without trailing slash; `scratchDir` is used by `publish`. */
  constructor(
    readonly base: string,
    private readonly seed: number,
    private readonly scratchDir: string,
  ) {}

  /** Reads a fixture's packuments and tarballs into memory and prerenders everything. */
  static async load(fixture: RegistryFixture, base: string, scratchDir: string): Promise<UpstreamState> {
    const state = new UpstreamState(base, fixture.seed, scratchDir);
    for (const pkg of fixture.packages) {
      state.setPackument(JSON.parse(await readFile(pkg.packumentFile, 'utf8')) as NpmPackument);
      for (const t of pkg.tarballs) state.tarballs.set(t.urlPath, { body: await readFile(t.file), etag: `"${t.shasum}"` });
    }
    return state;
  }

  /** Served state of a package, if it exists. */
  get(name: string): PackageEntry | undefined {
    return this.entries.get(name);
  }

  /** Served tarball by upstream path (`/@scope/name/-/name-1.0.0.tgz`), if it exists. */
  tarball(urlPath: string): TarballEntry | undefined {
    return this.tarballs.get(urlPath);
  }

  /** All package names, sorted. */
  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** One version document (by version or dist-tag) with real URLs, as JSON bytes. */
  versionBody(name: string, spec: string): Buffer | undefined {
    const p = this.entries.get(name)?.packument;
    const doc = p?.versions[p['dist-tags'][spec] ?? spec];
    return doc ? this.render(doc) : undefined;
  }

  private render(value: unknown): Buffer {
    return Buffer.from(JSON.stringify(value).split(BASE_PLACEHOLDER).join(this.base));
  }

  private setPackument(p: NpmPackument): void {
    const lastModified = new Date(p.modified).toUTCString();
    const full = this.render(p);
    const abbreviated = this.render(abbreviate(p));
    this.entries.set(p.name, {
      packument: p,
      full: { body: full, etag: `"${sha1Hex(full)}"`, lastModified },
      abbreviated: { body: abbreviated, etag: `"${sha1Hex(abbreviated)}"`, lastModified },
    });
  }

  /**
   * Adds `name@version` (creating the package if needed): builds a tarball,
   * bumps `modified`/`time`/`_rev`/dist-tags and re-renders bodies and ETags.
   */
  async publish(name: string, version: string, opts: PublishOptions = {}): Promise<NpmVersionDoc> {
    if (semver.valid(version) === null) throw new NpmFixtureError('EFIXTURE', `invalid version ${version}`);
    const prev = this.entries.get(name)?.packument;
    if (prev?.versions[version]) throw new NpmFixtureError('EVERSIONEXISTS', `${name}@${version} already exists`);
    const latest = prev ? prev.versions[prev['dist-tags'].latest ?? ''] : undefined;
    let manifest: AuthoredManifest = { name, version, description: `Fixture package ${name}`, main: 'index.js', license: 'MIT' };
    if (latest) {
      const {
        _id,
        dist,
        _nodeVersion,
        _npmVersion,
        _npmUser,
        maintainers,
        _hasShrinkwrap,
        hasInstallScript,
        directories,
        deprecated,
        ...rest
      } = latest;
      manifest = { ...rest, version };
    }
    if (opts.dependencies) manifest.dependencies = opts.dependencies;
    const built = await buildVersion(this.scratchDir, manifest, { seed: this.seed });
    const prevModified = prev ? Date.parse(prev.modified) : 0;
    const now = new Date(Math.max(Date.now(), prevModified + 1000)).toISOString();
    const p: NpmPackument = prev
      ? structuredClone(prev)
      : {
          _id: name,
          _rev: '0-0',
          name,
          description: manifest.description ?? '',
          'dist-tags': {},
          versions: {},
          time: { created: now },
          modified: now,
          maintainers: built.doc.maintainers ?? [],
          license: 'MIT',
          readme: `# ${name}\n`,
          readmeFilename: 'README.md',
        };
    p.versions[version] = built.doc;
    p.time[version] = now;
    p.time.modified = now;
    p.modified = now;
    p._rev = `${Number.parseInt(p._rev, 10) + 1}-${sha1Hex(Buffer.from(`${name}@${version}:${now}`)).slice(0, 32)}`;
    const current = p['dist-tags'].latest;
    const isPre = semver.prerelease(version) !== null;
    const tag = opts.tag ?? (isPre ? 'next' : current === undefined || semver.gt(version, current) ? 'latest' : undefined);
    if (tag !== undefined) p['dist-tags'][tag] = version;
    const urlPath = tarballUrlPath(name, version);
    this.tarballs.set(urlPath, { body: built.tarball.buffer, etag: `"${built.tarball.shasum}"` });
    this.setPackument(p);
    return built.doc;
  }

  /** Minimal `/-/v1/search` result: substring match on name, description and keywords. */
  search(text: string, size: number, from: number): { objects: unknown[]; total: number; time: string } {
    const needle = text.toLowerCase();
    const hits = [...this.entries.values()]
      .map((e) => e.packument)
      .filter((p) => [p.name, p.description, ...(p.keywords ?? [])].some((s) => s.toLowerCase().includes(needle)));
    const objects = hits.slice(from, from + size).map((p) => ({
      package: {
        name: p.name,
        scope: p.name.startsWith('@') ? p.name.slice(1, p.name.indexOf('/')) : 'unscoped',
        version: p['dist-tags'].latest,
        description: p.description,
        keywords: p.keywords ?? [],
        date: p.modified,
        links: { npm: `${this.base}/${p.name}` },
        publisher: p.maintainers[0],
        maintainers: p.maintainers,
      },
      score: { final: 1, detail: { quality: 1, popularity: 1, maintenance: 1 } },
      searchScore: 1,
    }));
    return { objects, total: hits.length, time: new Date().toUTCString() };
  }
}
