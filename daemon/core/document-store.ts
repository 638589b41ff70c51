/**
 * The storage side of DocumentCache: a document's bodies (the raw upstream
 * document and its derived variants) written behind the answer, served from
 * memory until written, held in memory when the disk is full, and read back
 * (once for concurrent readers) with missing ones remembered.
 */
import { LarderError } from './errors.js';
import { sha256Hex } from './digest.js';
import { HeldBodies, LiveBodies } from './held-bodies.js';
import { writeLater } from './write-behind.js';
import { StorageGuard, isBlobMissing, isNoSpace, storageFullError } from './storage-guard.js';
import type { AccessTracker, CoreDeps } from './deps.js';
import type { BlobMeta, Derived, Entry, Validators, VariantRef } from './types.js';

/** Bodies being written to disk, and their size (held against the memory budget until written). */
export interface Written {
  done: Promise<void>;
  bytes: number;
}

export class DocumentStore {
  private readonly guard: StorageGuard;
  /** Documents that could not be stored (disk full), answered from memory. */
  private readonly held: HeldBodies;
  /** Entries whose bodies are still being written (served from `unwritten` meanwhile), by key. */
  private readonly writing = new Map<string, { entry: Entry; done: Promise<void> }>();
  private readonly unwritten = new Map<string, Buffer>();
  /** Bodies read from disk that are still referenced somewhere (being sent), by digest. */
  private readonly live = new LiveBodies();
  /** Digests found missing on disk when read (their entries are fetched anew on next use). */
  private readonly missing = new Set<string>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly access: AccessTracker,
  ) {
    this.guard = deps.guard ?? new StorageGuard(deps, { minFree: 0 });
    this.held = new HeldBodies(deps.clock);
  }

  /** The newest entry of `key`: one answered and still being written, else the indexed one. */
  lookup(key: string): Entry | undefined {
    return this.writing.get(key)?.entry ?? this.deps.index.getEntry(key);
  }

  /**
   * Reads a variant body: the hot cache first, then a body some client is
   * still being sent (documents too large for the hot cache, such as a
   * packument of tens of MB, are shared, never read once per client), then
   * the disk (one read for concurrent requests).
   */
  async variant(ref: VariantRef): Promise<Buffer> {
    this.access.touch(ref.digest);
    const hit = this.deps.hot.get(ref.digest) ?? this.unwritten.get(ref.digest) ?? this.held.get(ref.digest) ?? this.live.get(ref.digest);
    if (hit) return hit;
    const body = await this.live.read(ref.digest, () => this.readStored(ref.digest));
    if (body.length <= this.deps.hotMaxBody) this.deps.hot.set(ref.digest, body);
    return body;
  }

  /** The stored raw upstream document. */
  async raw(entry: Entry): Promise<Buffer> {
    return this.unwritten.get(entry.digest) ?? this.held.get(entry.digest) ?? this.readStored(entry.digest);
  }

  /** Reads a stored body; a missing one marks its entry damaged (start-up does not walk the store). */
  private async readStored(digest: string): Promise<Buffer> {
    try {
      return await this.deps.blobs.readAll(digest);
    } catch (err) {
      if (!isBlobMissing(err)) throw err;
      this.missing.add(digest);
      throw new LarderError('E_STORAGE', 'a cached document is missing from the disk; it is fetched again on the next request', {
        cause: err,
      });
    }
  }

  /** Whether a body of `entry` was found missing on disk. */
  damaged(entry: Entry): boolean {
    return this.missing.size > 0 && bodiesOf(entry).some((d) => this.missing.has(d));
  }

  /**
   * Deletes a damaged entry so that it is fetched anew, as if never cached.
   * Its bodies are marked healthy again only once the entry is gone (a full
   * disk may refuse the delete).
   */
  async drop(key: string, entry: Entry): Promise<void> {
    const dropped = await this.deps.index.deleteEntry(key).then(
      () => true,
      () => false,
    );
    if (dropped) for (const d of bodiesOf(entry)) this.missing.delete(d);
  }

  /**
   * Starts writing the raw document and its derived variants, then their
   * index entry (see `write`); the entry is answered from memory meanwhile.
   * When the disk is full the entry is returned unstored, its bodies held in
   * memory (E_STORAGE_FULL when they do not fit there either).
   */
  async save(
    doc: { key: string; deriveTag: string },
    derived: Derived,
    raw: Buffer,
    validators: Validators,
    fetchedAt: number,
    expiresAt: number,
  ): Promise<{ entry: Entry; stored: boolean; written?: Written }> {
    const { hot } = this.deps;
    const rawDigest = `sha256:${sha256Hex(raw)}`;
    const rows: Array<[string, BlobMeta]> = [[rawDigest, { size: raw.length, createdAt: fetchedAt, lastAccess: fetchedAt }]];
    const bodies: Array<[string, Buffer]> = [[rawDigest, raw]];
    const variants: Record<string, VariantRef> = {};
    for (const [name, v] of Object.entries(derived.variants)) {
      const hex = sha256Hex(v.body);
      const digest = `sha256:${hex}`;
      bodies.push([digest, v.body]);
      if (v.body.length <= this.deps.hotMaxBody) hot.set(digest, v.body);
      variants[name] = { digest, size: v.body.length, mediaType: v.mediaType, etag: `"${hex.slice(0, 40)}"` };
      rows.push([digest, { size: v.body.length, createdAt: fetchedAt, lastAccess: fetchedAt }]);
    }
    const entry: Entry = {
      key: doc.key,
      digest: rawDigest,
      size: raw.length,
      validators,
      fetchedAt,
      expiresAt,
      immutable: false,
      variants,
      deriveTag: doc.deriveTag,
      meta: derived.meta,
    };
    const bytes = bodies.reduce((n, [, b]) => n + b.length, 0);
    if (await this.guard.room(bytes)) {
      return { entry, stored: true, written: { done: this.write(entry, bodies, rows), bytes } };
    }
    this.guard.report(doc.key);
    if (!this.held.hold(bodies)) throw storageFullError(doc.key);
    return { entry, stored: false };
  }

  /**
   * Writes the bodies (each through the commit protocol; they overlap) and
   * then the index entry, after any earlier write of the same key. The
   * client that caused the fetch does not wait for the disk: a mutable
   * document lost to a crash before this ends is simply fetched again. A
   * failed write leaves the bodies held in memory for requests that already
   * have the entry; the next request fetches the document anew.
   */
  private write(entry: Entry, bodies: Array<[string, Buffer]>, rows: Array<[string, BlobMeta]>): Promise<void> {
    const { blobs, index } = this.deps;
    const before = this.writing.get(entry.key)?.done;
    for (const [digest, body] of bodies) this.unwritten.set(digest, body);
    const slot = { entry, done: Promise.resolve() };
    this.writing.set(entry.key, slot);
    const persist = async (): Promise<void> => {
      await Promise.all(bodies.map(([digest, body]) => blobs.writeAll(digest, body)));
      await index.putEntry(entry, rows);
    };
    slot.done = (async () => {
      try {
        await before;
        await writeLater(
          this.deps.later,
          bodies.reduce((n, [, b]) => n + b.length, 0),
          persist,
        );
      } catch (err) {
        this.held.hold(bodies);
        if (isNoSpace(err)) {
          this.guard.markFull();
          this.guard.report(entry.key);
        }
      } finally {
        for (const [digest] of bodies) this.unwritten.delete(digest);
        if (this.writing.get(entry.key) === slot) this.writing.delete(entry.key);
      }
    })();
    return slot.done;
  }

  /** Waits until every document write in flight has ended (shutdown, tests). */
  async drain(): Promise<void> {
    await this.deps.later?.flush();
    await Promise.all([...this.writing.values()].map((w) => w.done));
  }
}

/** The digests of an entry's stored bodies (the raw document and its variants). */
function bodiesOf(entry: Entry): string[] {
  return [entry.digest, ...Object.values(entry.variants ?? {}).map((v) => v.digest)];
}
