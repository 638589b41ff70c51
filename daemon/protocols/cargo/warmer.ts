/**
 * Pre-warming and pinning for Cargo: `cargo:<name>@<version>` is the
 * crate's index file and its `.crate` from the default cargo remote (plus
 * the remote's config.json, which cargo needs first), fetched through the
 * adapter's own paths, the `.crate` verified against its index line's
 * `cksum`. With `expect` (a Cargo.lock `checksum`) the index must agree
 * before anything is fetched, and the bytes must match both.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import { LarderError, toLarderError } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { ExpectedDigest } from '../../core/types.js';
import type { CargoAdapter } from './adapter.js';
import type { CargoRef } from './ref.js';

export class CargoWarmer implements Warmer {
  readonly protocol = 'cargo' as const;

  constructor(private readonly cargo: CargoAdapter) {}

  /** The version itself once the registry's index lists it (versions never move). */
  async resolve(ref: Ref): Promise<string> {
    const r = ref as CargoRef;
    const listed = await this.cargo.versions(r.name, true);
    if (!Object.hasOwn(listed.cksums, r.version)) {
      throw new LarderError('E_NOT_FOUND', `${r.raw}: the registry's index does not list ${r.version}`);
    }
    return r.version;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as CargoRef;
    if (opts.signal.aborted) throw new LarderError('E_SHUTTING_DOWN', `${r.raw}: cancelled`);
    const listed = await this.cargo.listed(r.name, r.version);
    const expect: ExpectedDigest[] = (opts.expect ?? [])
      .filter((e) => e.algo === 'sha256')
      .map((e) => ({ algo: 'sha256', hex: e.hex.toLowerCase() }));
    const disagree = expect.find((e) => e.hex !== listed.cksum);
    if (disagree) {
      throw new LarderError(
        'E_INTEGRITY',
        `${r.raw}: checksum mismatch: the lockfile has ${disagree.hex}, the registry's index lists ${listed.cksum}; nothing was fetched`,
        { details: { expected: disagree.hex, upstream: listed.cksum } },
      );
    }
    const key = this.cargo.crateKey(r.name, r.version);
    const got = await this.fetchCrate(r, key, expect, opts.onBytes);
    const keys = [this.cargo.configKey(), this.cargo.indexKey(r.name), key];
    return { resolved: r.version, keys, bytes: got.bytes, fetched: got.fetched, children: [] };
  }

  /** Reads a MISS to its end (the fill verifies and commits it) and checks it was stored; a HIT costs nothing. */
  private async fetchCrate(
    ref: CargoRef,
    key: string,
    expect: ExpectedDigest[],
    onBytes: (n: number) => void,
  ): Promise<{ bytes: number; fetched: number }> {
    let served: ServedBlob;
    let fetched = 0;
    let bytes: number;
    try {
      served = await this.cargo.crateBlob(ref.name, ref.version, undefined, expect);
      refuseBypass(served, `${ref.name} ${ref.version}`);
      if (served.state !== 'MISS') return { bytes: served.size ?? 0, fetched: 0 };
      bytes = await consume(served.open(), (n) => {
        fetched += n;
        onBytes(n);
      });
    } catch (err) {
      const e = toLarderError(err);
      if (e.code !== 'E_INTEGRITY') throw e;
      throw new LarderError('E_INTEGRITY', `${ref.raw}: the .crate does not match its checksum (${e.message}); nothing was stored`, {
        cause: e,
        details: e.details,
      });
    }
    await committed(served);
    if (!this.cargo.isCached(key)) throw new LarderError('E_STORAGE', `${ref.raw}: the .crate verified but could not be stored`);
    return { bytes, fetched };
  }
}
