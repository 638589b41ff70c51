/**
 * The one fill pipeline: an opened upstream body → hash → verify → commit,
 * for every artifact the caches store (immutable blobs and HTTP-cache
 * files alike). Three choices are made here, and only here:
 *
 * - **memory or temp file**: a body announced at most SMALL_BODY bytes is
 *   read whole, verified and answered from memory (a streaming fill would
 *   hold back that many bytes until verification anyway); anything else
 *   streams through a temp file that readers follow while it grows;
 * - **store or pass-through**: when the disk has no room (StorageGuard) the
 *   body is streamed to one client, verified on the fly, and not stored;
 * - **commit at once or behind the answer**: a streamed body is committed
 *   as soon as it verified; a body answered from memory is committed when
 *   the clients pause (write-behind.ts).
 *
 * Every path verifies with the same Verifier and commits with the same
 * commit protocol (commit.ts). Events for metrics are reported here.
 */
import type { Readable } from 'node:stream';
import { type LarderError, toLarderError } from '../errors.js';
import { isNoSpace, type StorageGuard } from '../storage-guard.js';
import { writeLater } from '../write-behind.js';
import type { CoreDeps } from '../deps.js';
import type { TempBlob, UpstreamResponse } from '../ports.js';
import type { ByteRange, ServedBlob } from '../served.js';
import type { CacheState, Entry } from '../types.js';
import { commitBuffer, commitTemp, type EntryFields } from './commit.js';
import { BufferStream } from './blob-stream.js';
import { bypassBlob } from './pass-through.js';
import { StreamFill } from './stream-fill.js';
import { HOLDBACK, readVerified, type FillResult, type FillSpec } from './verify.js';

/** Largest announced size that is read whole into memory (the streaming fill's holdback). */
export const SMALL_BODY = HOLDBACK;

export interface FillJob {
  spec: FillSpec;
  /** The upstream's 200 response; its body is consumed or destroyed by the fill. */
  res: UpstreamResponse;
  /** What the index entry says besides digest, size and verified digests. */
  fields: EntryFields;
  /** Runs after the commit (before the fill is forgotten); a failure here does not undo the commit. */
  onCommitted?(entry: Entry): Promise<void> | void;
  /** False: stream it through verified, never store it (a second client of a pass-through). */
  store?: boolean;
}

export type FillState = 'running' | 'verified' | 'failed';

/** A fill in progress, joined by every request for its key until it is committed. */
export interface ActiveFill {
  readonly state: FillState;
  /** Whether followers may read this fill (a pass-through body goes to one client only). */
  readonly shared: boolean;
  /** A view of the body for one client; undefined once a pass-through body was taken. */
  serve(state: CacheState): ServedBlob | undefined;
  /** Settles (never rejects) once the body is committed and indexed (undefined), or failed (the error). */
  readonly committed: Promise<LarderError | undefined>;
}

export class FillPipeline {
  constructor(
    private readonly deps: CoreDeps,
    private readonly guard: StorageGuard,
  ) {}

  /** Starts the fill of an opened body, choosing memory or temp file, store or pass-through. */
  async start(job: FillJob): Promise<ActiveFill> {
    const size = job.spec.expectedSize;
    if (job.store === false || !(await this.guard.room(size))) return this.passThrough(job);
    if (size !== undefined && size <= SMALL_BODY) return this.inMemory(job);
    let temp: TempBlob;
    try {
      temp = this.guard.guardTemp(await this.deps.blobs.createTemp(), job.spec.key);
    } catch (err) {
      if (isNoSpace(err)) {
        this.guard.markFull();
        return this.passThrough(job);
      }
      job.res.body.destroy();
      throw toLarderError(err);
    }
    return this.streamed(job, temp);
  }

  /**
   * A body that already verified in a temp file (from LAN peers): committed
   * now, then answered from the CAS. The temp file is always released.
   */
  async adopt(job: Omit<FillJob, 'res' | 'store'>, temp: TempBlob, result: FillResult): Promise<ActiveFill> {
    const report = this.reporter(job.spec.key);
    const usedAt = this.deps.clock.now();
    try {
      await this.commit(job, (fields) => commitTemp(this.deps, temp, result, fields, usedAt));
    } catch (err) {
      const e = toLarderError(err);
      if (isNoSpace(err)) {
        this.guard.markFull();
        this.guard.report(job.spec.key);
      }
      report.failed(e);
      throw e;
    } finally {
      await temp.abort().catch(() => undefined);
      await temp.release().catch(() => undefined);
    }
    const committed = Promise.resolve(report.ok(result.size));
    const { blobs } = this.deps;
    return {
      state: 'verified',
      shared: true,
      committed,
      serve: (state) => ({
        state,
        size: result.size,
        mediaType: job.fields.mediaType,
        digest: result.digest,
        open: (range) => blobs.createReadStream(result.digest, range),
        done: () => committed,
      }),
    };
  }

  /** Streams the body through a temp file; committed as soon as it verified. */
  private streamed(job: FillJob, temp: TempBlob): ActiveFill {
    const { blobs, clock } = this.deps;
    const report = this.reporter(job.spec.key);
    const fill = new StreamFill(job.spec, temp);
    /** When a client was last given this body (its last use, for eviction). */
    let usedAt = clock.now();
    const committed = fill
      .run(job.res.body, async (r) => this.commit(job, (fields) => commitTemp(this.deps, temp, r, fields, usedAt)))
      .then(
        (r) => report.ok(r.size),
        (err: LarderError) => {
          job.res.body.destroy();
          if (isNoSpace(err)) {
            this.guard.markFull();
            this.guard.report(job.spec.key);
          }
          return report.failed(err);
        },
      );
    return {
      get state() {
        return fill.state;
      },
      shared: true,
      committed,
      serve: (state) => {
        usedAt = clock.now();
        return {
          state,
          size: fill.knownSize,
          mediaType: job.fields.mediaType,
          digest: fill.result?.digest,
          // A fill that finished before this body was opened has closed its temp file: read the committed blob.
          open: (range) =>
            fill.released && fill.stored ? blobs.createReadStream(fill.stored, range) : fill.reader(range?.start ?? 0, range?.end),
          done: () => committed,
        };
      },
    };
  }

  /** Reads and verifies the whole (small) body before answering; committed behind the answer. */
  private async inMemory(job: FillJob): Promise<ActiveFill> {
    const report = this.reporter(job.spec.key);
    let read: { body: Buffer; result: FillResult };
    try {
      read = await readVerified(job.res.body, job.spec);
    } catch (err) {
      const e = toLarderError(err);
      report.failed(e);
      throw e;
    }
    const { body, result } = read;
    let usedAt = this.deps.clock.now();
    const commit = async (): Promise<void> => {
      const temp = this.guard.guardTemp(await this.deps.blobs.createTemp(), job.spec.key);
      await this.commit(job, (fields) => commitBuffer(this.deps, temp, body, result, fields, usedAt));
    };
    const committed = writeLater(this.deps.later, body.length, commit).then(
      () => report.ok(result.size),
      // Verified bytes are answered from memory all the same; only the commit failed.
      (err: unknown) => {
        if (isNoSpace(err)) {
          this.guard.markFull();
          this.guard.report(job.spec.key);
        }
        return report.failed(toLarderError(err));
      },
    );
    return {
      state: 'verified',
      shared: true,
      committed,
      serve: (served) => {
        usedAt = this.deps.clock.now();
        return {
          state: served,
          size: result.size,
          mediaType: job.fields.mediaType,
          digest: result.digest,
          open: (range) => bufferStream(body, range),
          done: () => {
            this.deps.later?.urgent();
            return committed;
          },
        };
      },
    };
  }

  /** The disk is full: the body goes to the first client, verified on the fly, and is not stored. */
  private passThrough(job: FillJob): ActiveFill {
    const { events, clock } = this.deps;
    const started = clock.now();
    this.guard.report(job.spec.key);
    let blob: ServedBlob | undefined = bypassBlob(job.res, {
      spec: job.spec,
      mediaType: job.fields.mediaType,
      onDone: (o) => {
        if (o.ok) events.upstreamBytes?.(o.result.size);
        else if (o.error.code === 'E_INTEGRITY') events.fillFinished?.(job.spec.key, 'integrity', 0, clock.now() - started);
      },
    });
    const committed = blob.done();
    return {
      state: 'running',
      shared: false,
      committed,
      serve: () => {
        const first = blob;
        blob = undefined;
        return first;
      },
    };
  }

  /** Indexes through `write`, then runs the job's hook. */
  private async commit(job: Pick<FillJob, 'onCommitted' | 'fields'>, write: (fields: EntryFields) => Promise<Entry>): Promise<void> {
    const entry = await write(job.fields);
    if (entry.immutable) this.deps.events.blobCommitted?.(entry);
    try {
      await job.onCommitted?.(entry);
    } catch {
      // A failing hook must not undo a verified, committed body.
    }
  }

  /** Reports a fill's start now and its end later (metrics, admin activity). */
  private reporter(key: string): { ok(size: number): undefined; failed(err: LarderError): LarderError } {
    const { events, clock } = this.deps;
    const started = clock.now();
    events.fillStarted?.(key);
    return {
      ok: (size) => {
        events.fillFinished?.(key, 'ok', size, clock.now() - started);
        return undefined;
      },
      failed: (err) => {
        events.fillFinished?.(key, err.code === 'E_INTEGRITY' ? 'integrity' : 'error', 0, clock.now() - started);
        return err;
      },
    };
  }
}

/** A body held in memory as a stream (or a range of it). */
export function bufferStream(body: Buffer, range?: ByteRange): Readable {
  return new BufferStream(range ? body.subarray(range.start, range.end + 1) : body);
}
