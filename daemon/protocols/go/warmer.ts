/**
 * Pre-warming and pinning for Go modules: `go:<module>@<version>` (a
 * canonical version, as go.sum records) is the module's `.info`, `.mod` and
 * `.zip` from the default Go remote, fetched through the adapter's own blob
 * cache path, so `go mod download` is then served without the upstream.
 * Versions never move, so `resolve` only checks the reference.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { GoAdapter, GoArtifact } from './adapter.js';
import { isCanonicalVersion, isModulePath } from './module-path.js';

import type { GoRef } from './ref.js';

/** Fetched in this order: the small files first, so a missing version fails fast. */
const KINDS: readonly GoArtifact[] = ['info', 'mod', 'zip'];

export class GoWarmer implements Warmer {
  readonly protocol = 'go' as const;

  constructor(private readonly go: GoAdapter) {}

  private check(ref: GoRef): void {
    if (!isModulePath(ref.module))
      throw new LarderError('E_BAD_REQUEST', `${ref.raw}: "${ref.module}" is not a module path go would ask for`);
    if (!isCanonicalVersion(ref.version)) {
      throw new LarderError(
        'E_BAD_REQUEST',
        `${ref.raw}: "${ref.version}" is not a canonical version (vMAJOR.MINOR.PATCH[-pre][+incompatible])`,
      );
    }
  }

  /** The version itself: module versions are immutable. */
  async resolve(ref: Ref): Promise<string> {
    const r = ref as GoRef;
    this.check(r);
    return r.version;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as GoRef;
    this.check(r);
    const keys: string[] = [];
    let bytes = 0;
    let fetched = 0;
    for (const kind of KINDS) {
      if (opts.signal.aborted) throw new LarderError('E_SHUTTING_DOWN', `${r.raw}: cancelled`);
      const key = this.go.artifactKey(r.module, r.version, kind);
      const served = await this.go.artifactBlob(r.module, r.version, kind);
      refuseBypass(served, `${r.module}@${r.version}.${kind}`);
      const got = await this.drain(r, kind, key, served, opts.onBytes);
      keys.push(key);
      bytes += got.bytes;
      fetched += got.fetched;
    }
    return { resolved: r.version, keys, bytes, fetched, children: [] };
  }

  /** Reads a MISS to its end (the fill commits it) and checks it was stored; a HIT costs nothing. */
  private async drain(
    ref: GoRef,
    kind: GoArtifact,
    key: string,
    served: ServedBlob,
    onBytes: (n: number) => void,
  ): Promise<{ bytes: number; fetched: number }> {
    if (served.state !== 'MISS') return { bytes: served.size ?? 0, fetched: 0 };
    let fetched = 0;
    const bytes = await consume(served.open(), (n) => {
      fetched += n;
      onBytes(n);
    });
    await committed(served);
    if (!this.go.isCached(key)) throw new LarderError('E_STORAGE', `${ref.raw}: the .${kind} file was read but could not be stored`);
    return { bytes, fetched };
  }
}
