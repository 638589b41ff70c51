/**
 * Which committed immutable blob answers a peer's digest: `sha256:<hex>` of
 * the CAS address, or `sha512:<hex>` of an npm integrity the fill verified.
 * Built from the index on first use, then kept current by the core's
 * `blobCommitted` event; an entry evicted since is found out at lookup (its
 * blob row is gone) and forgotten. Only immutable entries are listed, so a
 * peer never gets a mutable document (packument, index page) this way.
 */
import type { IndexStore } from '../core/ports.js';
import type { Entry, HashAlgo } from '../core/types.js';

export type PeerAlgo = Extract<HashAlgo, 'sha256' | 'sha512'>;

export class PeerDigestIndex {
  /** `algo:hex` → the CAS digest (`sha256:<hex>`). */
  private readonly byDigest = new Map<string, string>();
  private built = false;

  constructor(private readonly index: IndexStore) {}

  /** Records a committed immutable entry (the core's `blobCommitted` event). */
  add(entry: Entry): void {
    if (!entry.immutable || !entry.digest.startsWith('sha256:')) return;
    this.byDigest.set(entry.digest, entry.digest);
    const sha512 = entry.verified?.sha512;
    if (sha512) this.byDigest.set(`sha512:${sha512}`, entry.digest);
  }

  /** The CAS digest of a committed, still indexed immutable blob with this digest, if any. */
  lookup(algo: PeerAlgo, hex: string): string | undefined {
    if (!this.built) this.build();
    const key = `${algo}:${hex}`;
    const digest = this.byDigest.get(key);
    if (digest === undefined) return undefined;
    if (this.index.getBlob(digest)) return digest;
    this.byDigest.delete(key);
    return undefined;
  }

  private build(): void {
    this.built = true;
    for (const entry of this.index.entries()) this.add(entry);
  }
}
