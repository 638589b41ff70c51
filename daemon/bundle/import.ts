/**
 * Reading air-gap bundles. Nothing is committed until everything verified:
 * the manifest streams in line by line and its signature is checked against
 * `bundles.trustedKeys` before any blob is read; each blob streams into a
 * temp file of the store while its sha256 (the name), its size (the
 * manifest) and any digest an entry recorded for it (npm's sha512…) are
 * checked; npm tarballs are checked against their packuments' integrity.
 * Only when the whole bundle has been read and checked are the temps
 * committed (rename), then the index entries written (their times clamped:
 * an imported document is fresh at most for its remote's TTL from now),
 * then the pins. An interrupted import leaves temps (swept at start) or
 * blobs without entries (reconciled at start); running it again completes it.
 */
import { LarderError } from '../core/errors.js';
import { MultiHasher } from '../core/digest.js';
import { entryDigests } from '../core/eviction.js';
import type { BlobStore, IndexStore, TempBlob } from '../core/ports.js';
import type { BlobMeta, Entry, HashAlgo } from '../core/types.js';
import type { ImportReport } from '../admin/contract.js';
import {
  digestOfPath,
  MANIFEST_NAME,
  MANIFEST_V1_NAME,
  MAX_MANIFEST_BYTES,
  parseManifest,
  type BundleManifest,
  type BundlePin,
} from './manifest.js';
import { readManifestStream } from './manifest-stream.js';
import { MAX_DIST_BYTES, NpmIntegrity } from './npm-integrity.js';
import { checkSignature, MAX_SIGNATURE_BYTES, SIGNATURE_NAME, type SignatureCheck } from './signing.js';
import { type TarEntry, TarReader } from './ustar.js';

export interface ImportDeps {
  index: IndexStore;
  blobs: BlobStore;
  pins: { restore(p: BundlePin, actor?: string): Promise<boolean> };
  /** Remote names this daemon configures (keys of other remotes are imported but reported). */
  remotes: ReadonlySet<string>;
  /** Freshness lifetime (ms) of a remote's documents; imported expiry times are clamped to now + this. */
  ttlOf(remote: string): number;
  now?(): number;
}

export interface ImportOptions extends SignatureCheck {}

const bad = (why: string): LarderError => new LarderError('E_BAD_REQUEST', `not a valid bundle: ${why}`);

async function readAll(tar: TarReader, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of tar.body()) {
    n += c.length;
    if (n > max) throw bad(`${what} is too large`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

/** The manifest and the signature check; returns the first blob's header too. */
async function readHead(
  tar: TarReader,
  opts: ImportOptions,
): Promise<{ manifest: BundleManifest; signer: string; next: TarEntry | undefined }> {
  const first = await tar.next();
  if (first?.name === MANIFEST_V1_NAME) {
    // Version 1 has no signature: only with allowUnsigned.
    checkSignature(undefined, '', { ...opts, trustedKeys: [] });
    if (first.size > MAX_MANIFEST_BYTES) throw bad('the manifest is too large');
    const manifest = parseManifest((await readAll(tar, MAX_MANIFEST_BYTES, 'the manifest')).toString('utf8'));
    return { manifest, signer: 'unsigned', next: await tar.next() };
  }
  if (first?.name !== MANIFEST_NAME) throw bad(`the first file must be ${MANIFEST_NAME}`);
  const { manifest, sha256 } = await readManifestStream(tar.body());
  let next = await tar.next();
  let sig: Buffer | undefined;
  if (next?.name === SIGNATURE_NAME) {
    sig = await readAll(tar, MAX_SIGNATURE_BYTES, SIGNATURE_NAME);
    next = await tar.next();
  }
  return { manifest, signer: checkSignature(sig, sha256, opts), next };
}

/** An entry as it may be stored here: no time in the future, a document fresh at most for its remote's TTL. */
function clampTimes(e: Entry, now: number, ttlOf: (remote: string) => number): { entry: Entry; clamped: boolean } {
  const fetchedAt = Math.min(e.fetchedAt, now);
  // Documents (mutable, or carrying derived forms) are revalidated; content-addressed blobs stay immutable.
  const immutable = e.immutable && !e.variants;
  // Every expiry is clamped: an entry's `immutable` is the bundle's claim, and mutable files and documents are
  // read by their expiry (the blob cache never reads it, so a true blob loses nothing and is not counted).
  const expiresAt = Math.min(e.expiresAt, now + ttlOf(e.key.split(':')[1] ?? ''));
  const changed = fetchedAt !== e.fetchedAt || expiresAt !== e.expiresAt || immutable !== e.immutable;
  const clamped = fetchedAt !== e.fetchedAt || (expiresAt !== e.expiresAt && !immutable) || immutable !== e.immutable;
  return { entry: changed ? { ...e, fetchedAt, expiresAt, immutable } : e, clamped };
}

/** Digests entries recorded for each blob (checked as it streams in). */
function recordedDigests(m: BundleManifest): Map<string, Partial<Record<HashAlgo, string>>> {
  const out = new Map<string, Partial<Record<HashAlgo, string>>>();
  for (const e of m.entries) {
    if (!e.verified) continue;
    const cur = out.get(e.digest) ?? {};
    for (const [algo, hex] of Object.entries(e.verified) as Array<[HashAlgo, string]>) {
      if (cur[algo] !== undefined && cur[algo] !== hex) throw bad(`entries disagree on the ${algo} of ${e.digest}`);
      cur[algo] = hex;
    }
    out.set(e.digest, cur);
  }
  return out;
}

/** Imports a bundle from a byte stream; throws (having committed nothing) on any mismatch. */
export async function importBundle(d: ImportDeps, source: AsyncIterable<Buffer>, opts: ImportOptions): Promise<ImportReport> {
  const tar = new TarReader(source);
  const { manifest, signer, next } = await readHead(tar, opts);
  const sizes = new Map(manifest.blobs.map((b) => [b.digest, b.size]));
  const recorded = recordedDigests(manifest);
  const npm = new NpmIntegrity(manifest);
  const hashed = new Map<string, Partial<Record<HashAlgo, string>>>();
  const staged = new Map<string, TempBlob>();
  const present = new Set<string>();
  const seen = new Set<string>();
  let bytes = 0;
  try {
    for (let f = next; f; f = await tar.next()) {
      if (f.type === '5') continue;
      const digest = digestOfPath(f.name);
      if (!digest || !sizes.has(digest)) throw bad(`unexpected file ${JSON.stringify(f.name.slice(0, 200))}`);
      if (seen.has(digest)) throw bad(`${f.name} appears twice`);
      seen.add(digest);
      if (f.size !== sizes.get(digest)) throw bad(`${f.name} is ${f.size} bytes, the manifest says ${sizes.get(digest)}`);
      const want = recorded.get(digest) ?? {};
      const hasher = new MultiHasher([...(Object.keys(want) as HashAlgo[]), ...npm.algosFor(digest)]);
      const keep: Buffer[] | undefined = npm.wantsBody(digest) && f.size <= MAX_DIST_BYTES ? [] : undefined;
      const already = d.index.getBlob(digest) !== undefined && (await d.blobs.stat(digest)) === f.size;
      const temp = already ? undefined : await d.blobs.createTemp();
      if (temp) staged.set(digest, temp);
      for await (const chunk of tar.body()) {
        hasher.update(chunk);
        keep?.push(Buffer.from(chunk));
        if (temp) await temp.write(chunk);
      }
      const got = hasher.digests();
      if (`sha256:${got.sha256}` !== digest)
        throw new LarderError('E_INTEGRITY', `bundle blob ${digest} does not match its name (sha256 ${got.sha256}); nothing was imported`);
      for (const [algo, hex] of Object.entries(want) as Array<[HashAlgo, string]>) {
        if (got[algo] !== hex)
          throw new LarderError('E_INTEGRITY', `bundle blob ${digest} does not match the ${algo} its entry recorded; nothing was imported`);
      }
      if (npm.algosFor(digest).length) hashed.set(digest, got);
      if (keep) npm.addDist(digest, Buffer.concat(keep));
      if (already) present.add(digest);
    }
    const missing = manifest.blobs.filter((b) => !seen.has(b.digest));
    if (missing.length) throw bad(`${missing.length} blobs listed in the manifest are not in it (first: ${missing[0]!.digest})`);
    await npm.check(hashed, d.index, d.blobs);

    // Everything verified. An entry the store holds in a fresher version is kept as it is.
    const now = d.now?.() ?? Date.now();
    let clampedCount = 0;
    const writes = manifest.entries.flatMap((raw) => {
      const { entry, clamped } = clampTimes(raw, now, d.ttlOf);
      const prev = d.index.getEntry(entry.key);
      if (prev && prev.fetchedAt >= entry.fetchedAt) return [];
      if (clamped) clampedCount++;
      return [entry];
    });
    const needed = new Set(writes.flatMap(entryDigests));
    // Commit blobs, then entries, then pins.
    let committed = 0;
    for (const [digest, temp] of staged) {
      if (!needed.has(digest)) continue;
      await temp.commit(digest);
      committed++;
      bytes += sizes.get(digest)!;
    }
    let added = 0;
    let updated = 0;
    const unknown = new Set(manifest.entries.map((e) => e.key.split(':')[1] ?? '').filter((r) => r && !d.remotes.has(r)));
    for (const e of writes) {
      const prev = d.index.getEntry(e.key);
      const rows = entryDigests(e).map((dg): [string, BlobMeta] => [dg, { size: sizes.get(dg)!, createdAt: now, lastAccess: now }]);
      await d.index.putEntry(e, rows);
      if (prev) updated++;
      else added++;
    }
    let pins = 0;
    for (const p of manifest.pins) if (await d.pins.restore(p, 'import')) pins++;
    return {
      blobs: { added: committed, present: present.size },
      bytes,
      entries: { added, updated },
      pins,
      unknownRemotes: [...unknown].sort(),
      signer,
      clamped: clampedCount,
    };
  } finally {
    for (const temp of staged.values()) {
      await temp.abort().catch(() => undefined);
      await temp.release().catch(() => undefined);
    }
  }
}
