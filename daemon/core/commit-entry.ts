/**
 * The last steps of the commit protocol, shared by every fill: rename the
 * verified temp file into the CAS, then index it (entry + blob row in one
 * transaction). If indexing fails, a blob no other entry uses is removed
 * again, so a failure never leaves an unindexed file behind.
 */
import type { FillResult } from './fill.js';
import type { BlobStore, Clock, IndexStore, TempBlob } from './ports.js';
import type { Entry } from './types.js';

export type EntryFields = Omit<Entry, 'digest' | 'size' | 'verified'>;

export async function commitFilled(
  d: { blobs: BlobStore; index: IndexStore; clock: Clock },
  temp: TempBlob,
  r: FillResult,
  fields: EntryFields,
): Promise<Entry> {
  await temp.commit(r.digest);
  // Last used when it was fetched and answered (a write-behind commit can come seconds later).
  const at = Math.min(fields.fetchedAt, d.clock.now());
  const entry: Entry = { ...fields, digest: r.digest, size: r.size, verified: r.digests };
  try {
    await d.index.putEntry(entry, [[r.digest, { size: r.size, createdAt: at, lastAccess: at }]]);
  } catch (err) {
    if (!d.index.getBlob(r.digest)) await d.blobs.delete(r.digest).catch(() => undefined);
    throw err;
  }
  return entry;
}
