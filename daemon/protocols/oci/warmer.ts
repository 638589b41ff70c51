/**
 * Pre-warming and pinning for images: `oci:<host>/<repo>:<tag>[ platform]`
 * or `oci:<host>/<repo>@<digest>` is expanded with {@link expandImage}
 * (index → platform manifests → config and layers, manifests fetched and
 * stored on the way) and every blob is fetched through the adapter's own
 * verified fill, so a later pull is served without the upstream. `resolve`
 * revalidates a tag upstream (one HEAD) so pins notice a moved tag.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { OciAdapter } from './adapter.js';
import { BlobService } from './blobs.js';

import type { OciRef } from './ref.js';

/** Blobs fetched at once for one image. */
const BLOB_CONCURRENCY = 4;

export class OciWarmer implements Warmer {
  readonly protocol = 'oci' as const;

  constructor(private readonly oci: OciAdapter) {}

  /** The image reference in {@link expandImage}'s grammar. */
  private image(r: OciRef): string {
    return `${r.host}/${r.repo}${r.digest ? `@${r.digest}` : `:${r.tag ?? 'latest'}`}`;
  }

  /** The digest a reference points at now (a tag is revalidated upstream). */
  async resolve(ref: Ref): Promise<string> {
    const r = ref as OciRef;
    if (r.digest) return r.digest;
    const { remote, name } = this.oci.locate(r.host, r.repo);
    return (await this.oci.resolveTag(remote, name, r.tag ?? 'latest', true)).digest;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as OciRef;
    const closure = await this.oci.expandImage(this.image(r), r.platform ? { platform: r.platform } : {});
    if (opts.expect && opts.expect.length > 0 && !opts.expect.some((e) => `${e.algo}:${e.hex}` === closure.digest)) {
      throw new LarderError('E_INTEGRITY', `${r.raw}: resolved to ${closure.digest}, not the expected digest`, {
        details: { actual: closure.digest },
      });
    }
    let fetched = 0;
    const queue = [...closure.blobs];
    const worker = async (): Promise<void> => {
      for (let b = queue.shift(); b; b = queue.shift()) {
        if (opts.signal.aborted) throw new LarderError('E_SHUTTING_DOWN', `${r.raw}: cancelled`);
        const served = await this.oci.fetchBlob(closure.remote, closure.name, b.digest);
        refuseBypass(served, b.digest);
        fetched += await this.drain(r, BlobService.key(closure.remote, b.digest), served, opts.onBytes);
      }
    };
    await Promise.all(Array.from({ length: Math.min(BLOB_CONCURRENCY, queue.length) }, worker));
    return {
      resolved: closure.digest,
      keys: this.oci.keysOf(closure, r.digest ? undefined : (r.tag ?? 'latest')),
      bytes: closure.totalBytes,
      fetched,
      children: [],
    };
  }

  /** Reads a MISS to its end (the fill commits it) and checks it was stored; a HIT costs nothing. */
  private async drain(ref: OciRef, key: string, served: ServedBlob, onBytes: (n: number) => void): Promise<number> {
    if (served.state !== 'MISS') return 0;
    let fetched = 0;
    await consume(served.open(), (n) => {
      fetched += n;
      onBytes(n);
    });
    await committed(served);
    if (!this.oci.isCached(key)) throw new LarderError('E_STORAGE', `${ref.raw}: a blob was read but could not be stored`);
    return fetched;
  }
}
