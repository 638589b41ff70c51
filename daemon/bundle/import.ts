/**
 * Reading air-gap bundles. Nothing is committed until everything verified:
 * each blob streams into a temp file of the store while its sha256 (the
 * name), its size (the manifest) and any digest an entry recorded for it
 * (npm's sha512…) are checked; only when the whole bundle has been read and
 * checked are the temps committed (rename), then the index entries written,
 * then the pins. An interrupted import leaves temps (swept at start) or
 * blobs without entries (reconciled at start); running it again completes it.
 */
import { LarderError } from '../core/errors.js';
import { MultiHasher } from '../core/digest.js';
import { entryDigests } from '../core/eviction.js';
import type { BlobStore, IndexStore, TempBlob } from '../core/ports.js';
import type { BlobMeta, HashAlgo } from '../core/types.js';
import type { ImportReport } from '../admin/contract.js';
import { digestOfPath, MANIFEST_NAME, MAX_MANIFEST_BYTES, parseManifest, type BundleManifest, type BundlePin } from './manifest.js';
import { TarReader } from './ustar.js';

export interface ImportDeps {
  index: IndexStore;
  blobs: BlobStore;
  pins: { restore(p: BundlePin, actor?: string): Promise<boolean> };
  /** Remote names this daemon configures (keys of other remotes are imported but reported). */
  remotes: ReadonlySet<string>;
}

const bad = (why: string): LarderError => new LarderError('E_BAD_REQUEST', `not a valid bundle: ${why}`);

async function readManifest(tar: TarReader): Promise<BundleManifest> {
  const first = await tar.next();
  if (!first || first.name !== MANIFEST_NAME) throw bad(`the first file must be ${MANIFEST_NAME}`);
  if (first.size > MAX_MANIFEST_BYTES) throw bad('the manifest is too large');
  const chunks: Buffer[] = [];
  for await (const c of tar.body()) chunks.push(Buffer.from(c));
  return parseManifest(Buffer.concat(chunks).toString('utf8'));
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
export async function importBundle(d: ImportDeps, source: AsyncIterable<Buffer>): Promise<ImportReport> {
  const tar = new TarReader(source);
  const manifest = await readManifest(tar);
  const sizes = new Map(manifest.blobs.map((b) => [b.digest, b.size]));
  const recorded = recordedDigests(manifest);
  const staged = new Map<string, TempBlob>();
  const present = new Set<string>();
  const seen = new Set<string>();
  let bytes = 0;
  try {
    for (let f = await tar.next(); f; f = await tar.next()) {
      if (f.type === '5') continue;
      const digest = digestOfPath(f.name);
      if (!digest || !sizes.has(digest)) throw bad(`unexpected file ${JSON.stringify(f.name.slice(0, 200))}`);
      if (seen.has(digest)) throw bad(`${f.name} appears twice`);
      seen.add(digest);
      if (f.size !== sizes.get(digest)) throw bad(`${f.name} is ${f.size} bytes, the manifest says ${sizes.get(digest)}`);
      const want = recorded.get(digest) ?? {};
      const hasher = new MultiHasher(Object.keys(want) as HashAlgo[]);
      const already = d.index.getBlob(digest) !== undefined && (await d.blobs.stat(digest)) === f.size;
      const temp = already ? undefined : await d.blobs.createTemp();
      if (temp) staged.set(digest, temp);
      for await (const chunk of tar.body()) {
        hasher.update(chunk);
        if (temp) await temp.write(chunk);
      }
      const got = hasher.digests();
      if (`sha256:${got.sha256}` !== digest)
        throw new LarderError('E_INTEGRITY', `bundle blob ${digest} does not match its name (sha256 ${got.sha256}); nothing was imported`);
      for (const [algo, hex] of Object.entries(want) as Array<[HashAlgo, string]>) {
        if (got[algo] !== hex)
          throw new LarderError('E_INTEGRITY', `bundle blob ${digest} does not match the ${algo} its entry recorded; nothing was imported`);
      }
      if (already) present.add(digest);
    }
    const missing = manifest.blobs.filter((b) => !seen.has(b.digest));
    if (missing.length) throw bad(`${missing.length} blobs listed in the manifest are not in it (first: ${missing[0]!.digest})`);

    // Everything verified. An entry the store holds in a fresher version is kept as it is.
    const writes = manifest.entries.filter((e) => {
      const prev = d.index.getEntry(e.key);
      return !prev || prev.fetchedAt < e.fetchedAt;
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
    const now = Date.now();
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
    };
  } finally {
    for (const temp of staged.values()) {
      await temp.abort().catch(() => undefined);
      await temp.release().catch(() => undefined);
    }
  }
}
