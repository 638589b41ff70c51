/**
 * Pre-warming and pinning for Helm: `helm:<remote>/<chart>@<version>` reads
 * the remote's index (refreshed once when the version is not listed) and
 * fetches every archive URL of that chart version through the adapter's
 * blob cache path (verified against the index's digest before commit).
 * Provenance files are not warmed: an index does not say whether one exists.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import { LarderError, notFound } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { HelmAdapter } from './adapter.js';
import type { HelmRef } from './ref.js';

export class HelmWarmer implements Warmer {
  readonly protocol = 'helm' as const;

  constructor(private readonly helm: HelmAdapter) {}

  /** The file names of the chart version, from the index (refreshed once when it is missing). */
  private async files(r: HelmRef, refresh: boolean): Promise<string[]> {
    const remote = this.helm.remoteFor(r.remote);
    for (const force of refresh ? [true] : [false, true]) {
      const { map } = await this.helm.charts(remote, force);
      const versions = Object.hasOwn(map, r.chart) ? map[r.chart]! : undefined;
      if (versions && Object.hasOwn(versions, r.version)) return Object.keys(versions[r.version]!);
    }
    throw notFound(`${r.raw}: version ${r.version} of chart ${r.chart} in the index of ${r.remote}`);
  }

  async resolve(ref: Ref): Promise<string> {
    const r = ref as HelmRef;
    await this.files(r, true);
    return r.version;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as HelmRef;
    const files = await this.files(r, false);
    const keys = [this.helm.indexKey(r.remote)];
    let bytes = 0;
    let fetched = 0;
    for (const file of files) {
      if (opts.signal.aborted) throw new LarderError('E_SHUTTING_DOWN', `${r.raw}: cancelled`);
      const key = this.helm.chartKey(r.remote, r.chart, r.version, file, false);
      const served: ServedBlob = await this.helm.chartBlob(r.remote, r.chart, r.version, file, false);
      refuseBypass(served, file);
      if (served.state === 'MISS') {
        bytes += await consume(served.open(), (n) => {
          fetched += n;
          opts.onBytes(n);
        });
        await committed(served);
        if (!this.helm.isCached(key)) throw new LarderError('E_STORAGE', `${r.raw}: ${file} verified but could not be stored`);
      } else {
        bytes += served.size ?? 0;
      }
      keys.push(key);
    }
    return { resolved: r.version, keys, bytes, fetched, children: [] };
  }
}
