/**
 * Reads of committed entries: the one place a cached body is opened, for
 * the blob cache and the HTTP cache alike. It records the access (for
 * eviction), serves small bodies from the hot cache (warming it on first
 * use), and checks that an entry's blob is really there: start-up does not
 * walk the store, so an entry whose blob went missing (a crash between
 * rename and index, a disk that was cleaned by hand) is found here, dropped
 * from the index, and reported as absent so the caller fetches it again.
 */
import type { AccessTracker, CoreDeps } from '../deps.js';
import { LarderError } from '../errors.js';
import type { Readable } from 'node:stream';
import type { ByteRange, ServedBlob } from '../served.js';
import { BlobReadStream } from './blob-stream.js';
import type { CacheState, Entry } from '../types.js';
import { bufferStream } from './in-memory.js';

export class EntryReader {
  /** Digests whose body is being read into the hot cache. */
  private readonly warming = new Set<string>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly access: AccessTracker,
  ) {}

  /**
   * The entry's body, or undefined when its blob is gone and the entry was
   * removed (the caller fetches it again). Throws E_STORAGE when the entry
   * could not be removed (a full disk refuses index writes), and the store's
   * own error when the blob cannot be looked at (e.g. out of file handles).
   */
  async open(entry: Entry, state: CacheState): Promise<ServedBlob | undefined> {
    const { blobs, hot, hotMaxBody } = this.deps;
    const small = entry.size <= hotMaxBody;
    const cached = small ? hot.get(entry.digest) : undefined;
    if (!cached) {
      const size = await blobs.stat(entry.digest);
      if (size !== entry.size) {
        await this.forget(entry);
        return undefined;
      }
      if (small) this.warm(entry);
    }
    this.access.touch(entry.digest);
    return {
      state,
      size: entry.size,
      mediaType: entry.mediaType,
      digest: entry.digest,
      open: (range) => (cached ? bufferStream(cached, range) : this.stream(entry, range)),
      done: () => Promise.resolve(undefined),
    };
  }

  /** The committed blob (positional reads that a sender can do into reused buffers, when the store offers them). */
  private stream(entry: Entry, range: ByteRange | undefined): Readable {
    const { blobs } = this.deps;
    const open = blobs.openReader?.bind(blobs);
    if (!open) return blobs.createReadStream(entry.digest, range);
    return new BlobReadStream(() => open(entry.digest), range?.start ?? 0, range?.end ?? entry.size - 1);
  }

  /** Removes an entry whose blob is missing or of the wrong size (the blob's row goes with garbage collection). */
  private async forget(entry: Entry): Promise<void> {
    const { index, events } = this.deps;
    events.blobMissing?.(entry.key);
    if (index.getEntry(entry.key)?.digest !== entry.digest) return;
    await index.deleteEntry(entry.key).catch((err: unknown) => {
      throw new LarderError('E_STORAGE', `${entry.key}: its blob is missing and the entry cannot be removed now`, { cause: err });
    });
  }

  private warm(entry: Entry): void {
    const { blobs, hot } = this.deps;
    if (this.warming.has(entry.digest)) return;
    this.warming.add(entry.digest);
    blobs
      .readAll(entry.digest)
      .then((b) => b.length === entry.size && hot.set(entry.digest, b))
      .catch(() => undefined)
      .finally(() => this.warming.delete(entry.digest));
  }
}
