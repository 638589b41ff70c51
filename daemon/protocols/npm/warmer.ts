/**
 * Pre-warming and pinning for npm: `npm:<name>@<version|range|tag>` resolves
 * against the packument (exact version, dist-tag, else the highest version
 * satisfying the range) and its closure is the packument plus the tarball,
 * fetched through the adapter's own cache path. Dependencies are reported
 * as children for the caller to warm.
 */
import { LarderError, notFound } from '../../core/errors.js';
import { MultiHasher, findMismatch, parseSri } from '../../core/digest.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { NpmAdapter } from './adapter.js';

import type { NpmRef } from './ref.js';

let semver: typeof import('semver') | undefined;

interface VersionInfo {
  version: string;
  file: string;
  integrity?: string;
  deps: Record<string, string>;
}

export class NpmWarmer implements Warmer {
  readonly protocol = 'npm' as const;

  constructor(private readonly npm: NpmAdapter) {}

  private async pick(ref: NpmRef, refresh: boolean): Promise<VersionInfo> {
    if (refresh) await this.npm.docs.document(ref.name, true);
    const { doc } = await this.npm.docs.fullDoc(ref.name);
    const versions = (doc.versions ?? {}) as Record<string, Record<string, unknown>>;
    const tags = (doc['dist-tags'] ?? {}) as Record<string, string>;
    let version: string | undefined;
    if (Object.hasOwn(versions, ref.spec)) version = ref.spec;
    else if (Object.hasOwn(tags, ref.spec)) version = tags[ref.spec];
    else {
      // Loaded by the first range to resolve, not at start (it would stay in the live heap for good).
      semver ??= (await import('semver')).default;
      if (!semver.validRange(ref.spec))
        throw new LarderError('E_BAD_REQUEST', `${ref.raw}: "${ref.spec}" is neither a version, a dist-tag nor a semver range`);
      const latest = tags.latest;
      version =
        latest && semver.satisfies(latest, ref.spec) ? latest : (semver.maxSatisfying(Object.keys(versions), ref.spec) ?? undefined);
    }
    const manifest = version ? versions[version] : undefined;
    if (!version || !manifest) throw notFound(`${ref.raw}: no matching version`);
    const dist = (manifest.dist ?? {}) as Record<string, unknown>;
    const tarball = typeof dist.tarball === 'string' ? dist.tarball : '';
    const file = decodeURIComponent(tarball.split('/').pop() ?? '');
    if (!file) throw new LarderError('E_UPSTREAM', `${ref.raw}: version ${version} has no tarball`);
    const deps = {
      ...((manifest.dependencies ?? {}) as Record<string, string>),
      ...((manifest.optionalDependencies ?? {}) as Record<string, string>),
    };
    const out: VersionInfo = { version, file, deps };
    if (typeof dist.integrity === 'string') out.integrity = dist.integrity;
    return out;
  }

  async resolve(ref: Ref): Promise<string> {
    return (await this.pick(ref as NpmRef, true)).version;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as NpmRef;
    const info = await this.pick(r, false);
    if (opts.expect?.length && info.integrity) {
      const upstream = parseSri(info.integrity);
      const clash = opts.expect.find((e) => upstream.some((u) => u.algo === e.algo && u.hex !== e.hex));
      if (clash) {
        throw new LarderError(
          'E_INTEGRITY',
          `${r.name}@${info.version}: the lockfile's ${clash.algo} integrity differs from the upstream's`,
          {
            details: { lockfile: clash.hex },
          },
        );
      }
    }
    const key = this.npm.tarballKey(r.name, info.file);
    const served = await this.npm.tarballBlob(r.name, info.file, opts.expect);
    let fetched = 0;
    let bytes = served.size ?? 0;
    refuseBypass(served, `${r.name}@${info.version}`);
    if (served.state === 'MISS') {
      bytes = await consume(served.open(), (n) => {
        fetched += n;
        opts.onBytes(n);
      });
      await committed(served);
      // Every byte was read, so it verified: only storing it can have failed.
      if (!this.npm.tarballKeyCached(key))
        throw new LarderError('E_STORAGE', `${r.name}@${info.version}: the tarball verified but could not be stored`);
    } else if (opts.expect?.length) {
      // Cached earlier (verified against the upstream): check it against the lockfile's own hash too.
      const hasher = new MultiHasher(opts.expect.map((e) => e.algo));
      for await (const chunk of served.open()) hasher.update(chunk as Buffer);
      const bad = findMismatch(opts.expect, hasher.digests());
      if (bad)
        throw new LarderError(
          'E_INTEGRITY',
          `${r.name}@${info.version}: the cached tarball does not match the lockfile's ${bad.algo} integrity`,
        );
    }
    const children = opts.deps ? Object.entries(info.deps).map(([n, range]) => `npm:${n}@${range}`) : [];
    return { resolved: info.version, keys: [this.npm.docs.documentKey(r.name), key], bytes, fetched, children };
  }
}
