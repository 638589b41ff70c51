/**
 * The last steps of the commit protocol, shared by every fill: the verified
 * temp file is renamed into the CAS (the store fsyncs it first), then
 * indexed (entry + blob row in one transaction). If indexing fails, a blob
 * no other entry uses is removed again, so a failure never leaves an
 * unindexed file behind. Nothing is indexed before its bytes are committed.
 */
import type { FillResult } from './verify.js';
import type { BlobStore, Clock, IndexStore, TempBlob } from '../ports.js';
import type { Entry } from '../types.js';

export type EntryFields = Omit<Entry, 'digest' | 'size' | 'verified'>;

export interface CommitDeps {
  blobs: BlobStore;
  index: IndexStore;
  clock: Clock;
}

/** Renames a verified temp file into the CAS and indexes it. */
export async function commitTemp(d: CommitDeps, temp: TempBlob, r: FillResult, fields: EntryFields, usedAt?: number): Promise<Entry> {
  await temp.commit(r.digest);
  // Created when it was fetched; last used when it was last answered (a write-behind commit can come seconds later).
  const at = Math.min(fields.fetchedAt, d.clock.now());
  const used = Math.max(at, Math.min(usedAt ?? at, d.clock.now()));
  const entry: Entry = { ...fields, digest: r.digest, size: r.size, verified: r.digests };
  try {
    await d.index.putEntry(entry, [[r.digest, { size: r.size, createdAt: at, lastAccess: used }]]);
  } catch (err) {
    if (!d.index.getBlob(r.digest)) await d.blobs.delete(r.digest).catch(() => undefined);
    throw err;
  }
  return entry;
}

/** Commits a verified body held in memory: written to `temp`, then as `commitTemp`. The temp file is always released. */
export async function commitBuffer(
  d: CommitDeps,
  temp: TempBlob,
  body: Buffer,
  r: FillResult,
  fields: EntryFields,
  usedAt?: number,
): Promise<Entry> {
  try {
    await temp.write(body);
    return await commitTemp(d, temp, r, fields, usedAt);
  } finally {
    await temp.abort();
    await temp.release();
  }
}
