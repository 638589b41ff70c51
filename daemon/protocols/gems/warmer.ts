/**
 * Pre-warming and pinning for RubyGems: `gems:<name>@<version>` reads the
 * gem's `/info` file of the default gems remote and fetches the `.gem` of
 * that version (the plain `ruby` one when listed, else every platform of
 * it; `@<version>-<platform>` names one) through the adapter's own blob
 * path, each verified against its `checksum:` before commit, plus its
 * `quick/Marshal.4.8` gemspec (`gem install` reads it) and the remote's
 * `/versions` (Bundler reads it first), so both clients work offline after.
 *
 * With `deps`, each runtime dependency is reported as a child reference at
 * the highest version its `/info` lists that meets the requirement.
 *
 * With `expect` (a Gemfile.lock's CHECKSUMS sha256) the `/info` checksum
 * must be that one: else the item fails with E_INTEGRITY and nothing is
 * fetched.
 */
import { LarderError, notFound, toLarderError } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { GemsAdapter } from './adapter.js';
import type { InfoLine } from './compact.js';
import type { GemsRef } from './ref.js';
import { bestVersion } from './requirement.js';

export class GemsWarmer implements Warmer {
  readonly protocol = 'gems' as const;

  constructor(private readonly gems: GemsAdapter) {}

  /** The `/info` lines of the version, refreshing the info file once when it is not listed. */
  private async pick(ref: GemsRef, refresh: boolean): Promise<InfoLine[]> {
    const remote = this.gems.remoteFor(undefined);
    for (const force of refresh ? [true] : [false, true]) {
      const { served, lines } = await this.gems.docs.infoLines(remote, ref.name, force);
      const exact = lines.filter((l) => l.full === ref.version);
      const picked = exact.length > 0 ? exact : lines.filter((l) => l.version === ref.version);
      if (picked.length > 0) return picked;
      if (served.state !== 'HIT') break;
    }
    throw notFound(`${ref.raw}: version ${ref.version} is not listed in /info/${ref.name}`);
  }

  async resolve(ref: Ref): Promise<string> {
    const r = ref as GemsRef;
    await this.pick(r, true);
    return r.version;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as GemsRef;
    const remote = this.gems.remoteFor(undefined);
    const lines = await this.pick(r, false);
    const want = (opts.expect ?? []).filter((e) => e.algo === 'sha256').map((e) => e.hex.toLowerCase());
    if (want.length > 0) {
      const listed = lines.map((l) => `${r.name}-${l.full}.gem sha256:${l.checksum ?? '(not listed)'}`);
      if (!lines.some((l) => l.checksum !== undefined && want.includes(l.checksum))) {
        throw new LarderError(
          'E_INTEGRITY',
          `${r.raw}: checksum mismatch: the lockfile records sha256 ${want.join(', ')}, the upstream's /info lists ${listed.join(', ')}; nothing was fetched`,
          { details: { expected: want, upstream: listed } },
        );
      }
    }
    const chosen = want.length > 0 ? lines.filter((l) => l.checksum !== undefined && want.includes(l.checksum)) : lines;
    // Bundler reads /versions before anything else, also with a complete lockfile: warmed (once while fresh) beside the gem.
    const keys = [this.gems.docs.key(remote, 'info', r.name)];
    if (await listed(this.gems.docs.get(remote, 'versions'))) keys.push(this.gems.docs.key(remote, 'versions'));
    let bytes = 0;
    let fetched = 0;
    for (const line of chosen) {
      if (opts.signal.aborted) throw new LarderError('E_SHUTTING_DOWN', `${r.raw}: cancelled`);
      const stem = `${r.name}-${line.full}`;
      const got = await this.fetchGem(r, stem, (n) => {
        fetched += n;
        opts.onBytes(n);
      });
      bytes += got;
      keys.push(this.gems.gemKey(stem));
      // The gemspec `gem install` reads; an upstream without the full index has none.
      if (await listed(this.gems.docs.get(remote, 'quick', stem))) keys.push(this.gems.docs.key(remote, 'quick', stem));
    }
    return { resolved: r.version, keys, bytes, fetched, children: opts.deps ? await this.children(chosen) : [] };
  }

  /** `gems:<dep>@<version>` for each runtime dependency: the highest version its `/info` lists that meets the requirement. */
  private async children(lines: InfoLine[]): Promise<string[]> {
    const remote = this.gems.remoteFor(undefined);
    const out = new Set<string>();
    for (const dep of lines.flatMap((l) => l.deps)) {
      const { lines: listed } = await this.gems.docs.infoLines(remote, dep.name);
      const best = bestVersion([...new Set(listed.map((l) => l.version))], dep.requirement);
      if (best !== undefined) out.add(`gems:${dep.name}@${best}`);
    }
    return [...out];
  }

  /** Fetches one `.gem` through the cache (nothing when it is a HIT) and checks it was committed; its size. */
  private async fetchGem(ref: GemsRef, stem: string, onBytes: (n: number) => void): Promise<number> {
    try {
      const served = await this.gems.gemBlob(stem);
      refuseBypass(served, `${stem}.gem`);
      if (served.state !== 'MISS') return served.size ?? 0;
      const bytes = await consume(served.open(), onBytes);
      await committed(served);
      if (!this.gems.isCached(this.gems.gemKey(stem)))
        throw new LarderError('E_STORAGE', `${ref.raw}: ${stem}.gem verified but could not be stored`);
      return bytes;
    } catch (err) {
      const e = toLarderError(err);
      if (e.code !== 'E_INTEGRITY') throw e;
      throw new LarderError(
        'E_INTEGRITY',
        `${ref.raw}: ${stem}.gem does not match the checksum its /info line lists (${e.message}); nothing was stored`,
        {
          cause: e,
          details: e.details,
        },
      );
    }
  }
}

/** Whether an optional document exists upstream (false on a 404; other failures are thrown). */
async function listed(doc: Promise<unknown>): Promise<boolean> {
  try {
    await doc;
    return true;
  } catch (err) {
    if (toLarderError(err).code === 'E_NOT_FOUND') return false;
    throw err;
  }
}
