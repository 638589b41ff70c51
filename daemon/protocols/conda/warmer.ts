/**
 * Pre-warming and pinning for Conda: `conda:<remote>/<subdir>/<file>` finds
 * the package's record in the subdir's repodata.json (a streaming scan) and
 * fetches the package through the adapter's blob cache path, verified
 * against the record's sha256 before commit. A lockfile's own sha256
 * (`expect`) must match the record's, else nothing is fetched.
 */
import { LarderError } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { CondaAdapter } from './adapter.js';
import type { CondaRef } from './ref.js';

export class CondaWarmer implements Warmer {
  readonly protocol = 'conda' as const;

  constructor(private readonly conda: CondaAdapter) {}

  async resolve(ref: Ref): Promise<string> {
    const r = ref as CondaRef;
    const rec = await this.conda.record(this.conda.remoteFor(r.remote), r.subdir, r.file);
    return rec.sha256 ? `sha256:${rec.sha256}` : r.file;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as CondaRef;
    const rec = await this.conda.record(this.conda.remoteFor(r.remote), r.subdir, r.file);
    const want = (opts.expect ?? []).filter((e) => e.algo === 'sha256').map((e) => e.hex.toLowerCase());
    if (want.length > 0 && (!rec.sha256 || !want.includes(rec.sha256))) {
      throw new LarderError(
        'E_INTEGRITY',
        `${r.raw}: hash mismatch: repodata lists sha256:${rec.sha256 ?? '(none)'}, expected ${want.join(' or ')}; nothing was fetched`,
      );
    }
    const key = this.conda.packageKey(r.remote, r.subdir, r.file);
    const served = await this.conda.packageBlob(r.remote, r.subdir, r.file);
    refuseBypass(served, r.file);
    let bytes = served.size ?? 0;
    let fetched = 0;
    if (served.state === 'MISS') {
      bytes = await consume(served.open(), (n) => {
        fetched += n;
        opts.onBytes(n);
      });
      await committed(served);
      if (!this.conda.isCached(key)) throw new LarderError('E_STORAGE', `${r.raw}: verified but could not be stored`);
    }
    return {
      resolved: rec.sha256 ? `sha256:${rec.sha256}` : r.file,
      keys: [this.conda.repodataKey(r.remote, r.subdir), key],
      bytes,
      fetched,
      children: [],
    };
  }
}
