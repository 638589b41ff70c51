/**
 * On import, every npm tarball must match the integrity its packument
 * gives for it (the `dist` form of the packument entry: file → {u, i, s}),
 * taken from the bundle when it carries the packument, else from this
 * daemon's store. A tarball that does not match, that its packument does not
 * list, or that has no packument to check against refuses the whole bundle
 * (E_INTEGRITY): a signed bundle is only as good as its signer, and a
 * tarball npm would refuse must not become servable.
 *
 * The needs are known from the manifest before any blob streams: tarball
 * blobs are hashed with every algorithm a packument may name, and only the
 * `dist` blobs of the bundle's packuments are read whole (they are small).
 */
import { findMismatch, parseSri } from '../core/digest.js';
import { LarderError } from '../core/errors.js';
import type { BlobStore, IndexStore } from '../core/ports.js';
import type { ExpectedDigest, HashAlgo } from '../core/types.js';
import type { BundleManifest } from './manifest.js';

const TGZ = /^npm:([^:]+):tgz:(.+)\/([^/]+)$/;
/** The largest `dist` form read whole. */
const MAX_DIST_BYTES = 64 * 1024 * 1024;

interface DistInfo {
  i?: string;
  s?: string;
}

interface Tarball {
  key: string;
  digest: string;
  docKey: string;
  file: string;
}

const fail = (why: string): LarderError => new LarderError('E_INTEGRITY', `${why}; nothing was imported`);

export class NpmIntegrity {
  private readonly tarballs: Tarball[] = [];
  private readonly tarballDigests = new Set<string>();
  /** dist blob digest → packument keys whose dist form it is. */
  private readonly distBlobs = new Map<string, string[]>();
  /** packument key → file → what the packument says. */
  private readonly dists = new Map<string, Map<string, DistInfo>>();
  private readonly wanted = new Map<string, Set<string>>();

  constructor(m: BundleManifest) {
    for (const e of m.entries) {
      const t = TGZ.exec(e.key);
      if (!t) continue;
      const docKey = `npm:${t[1]}:doc:${t[2]}`;
      this.tarballs.push({ key: e.key, digest: e.digest, docKey, file: t[3]! });
      this.tarballDigests.add(e.digest);
      const files = this.wanted.get(docKey) ?? new Set<string>();
      files.add(t[3]!);
      this.wanted.set(docKey, files);
    }
    for (const e of m.entries) {
      const dist = e.variants?.dist;
      if (!dist || !this.wanted.has(e.key)) continue;
      this.distBlobs.set(dist.digest, [...(this.distBlobs.get(dist.digest) ?? []), e.key]);
    }
  }

  /** Extra algorithms to hash a blob with. */
  algosFor(digest: string): HashAlgo[] {
    return this.tarballDigests.has(digest) ? ['sha512', 'sha1'] : [];
  }

  /** Whether the blob's bytes are needed (a packument's dist form). */
  wantsBody(digest: string): boolean {
    return this.distBlobs.has(digest);
  }

  /** A dist form from the bundle, already checked against its digest. */
  addDist(digest: string, body: Buffer): void {
    for (const docKey of this.distBlobs.get(digest) ?? []) this.keep(docKey, body);
  }

  private keep(docKey: string, body: Buffer): void {
    let map: Record<string, DistInfo>;
    try {
      map = JSON.parse(body.toString('utf8')) as Record<string, DistInfo>;
    } catch {
      throw fail(`the packument ${docKey} in the bundle is not readable`);
    }
    const out = new Map<string, DistInfo>();
    for (const file of this.wanted.get(docKey) ?? []) {
      const info = Object.hasOwn(map, file) ? map[file] : undefined;
      if (info)
        out.set(file, { ...(typeof info.i === 'string' ? { i: info.i } : {}), ...(typeof info.s === 'string' ? { s: info.s } : {}) });
    }
    this.dists.set(docKey, out);
  }

  /** Packuments the bundle does not carry, from the store. */
  private async fromStore(docKey: string, index: IndexStore, blobs: BlobStore): Promise<void> {
    const ref = index.getEntry(docKey)?.variants?.dist;
    if (!ref || ref.size > MAX_DIST_BYTES) return;
    const chunks: Buffer[] = [];
    try {
      for await (const c of blobs.createReadStream(ref.digest) as AsyncIterable<Buffer>) chunks.push(c);
    } catch {
      return;
    }
    this.keep(docKey, Buffer.concat(chunks));
  }

  /** Checks every tarball against its packument; `got` holds the digests computed while each blob streamed in. */
  async check(got: ReadonlyMap<string, Partial<Record<HashAlgo, string>>>, index: IndexStore, blobs: BlobStore): Promise<void> {
    for (const docKey of this.wanted.keys()) if (!this.dists.has(docKey)) await this.fromStore(docKey, index, blobs);
    for (const t of this.tarballs) {
      const dist = this.dists.get(t.docKey);
      if (!dist) throw fail(`the npm tarball ${t.key} has no packument (${t.docKey}) in the bundle or the store to check it against`);
      const info = dist.get(t.file);
      if (!info) throw fail(`the npm tarball ${t.key} is not listed in its packument ${t.docKey}`);
      const expected: ExpectedDigest[] = info.i
        ? parseSri(info.i)
        : info.s && /^[0-9a-f]{40}$/.test(info.s)
          ? [{ algo: 'sha1', hex: info.s }]
          : [];
      const digests = got.get(t.digest);
      if (!digests) continue; // not in the bundle's blobs: already refused as missing
      const wrong = findMismatch(expected, digests);
      if (wrong) throw fail(`the npm tarball ${t.key} does not match the ${wrong.algo} integrity of its packument`);
    }
  }
}

export { MAX_DIST_BYTES };
