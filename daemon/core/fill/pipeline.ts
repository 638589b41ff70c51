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
 * commit protocol (commit.ts), and reports its start and end for metrics
 * the same way (fill-job.ts).
 */
import { toLarderError, type LarderError } from '../errors.js';
import { isNoSpace, type StorageGuard } from '../storage-guard.js';
import type { CoreDeps } from '../deps.js';
import type { TempBlob } from '../ports.js';
import type { ServedBlob } from '../served.js';
import { commitTemp } from './commit.js';
import { commitFill, fillReporter, type ActiveFill, type FillJob } from './fill-job.js';
import { inMemoryFill } from './in-memory.js';
import { bypassBlob } from './pass-through.js';
import { StreamFill } from './stream-fill.js';
import { HOLDBACK, type FillResult } from './verify.js';

/** Largest announced size that is read whole into memory (the streaming fill's holdback). */
export const SMALL_BODY = HOLDBACK;

export class FillPipeline {
  constructor(
    private readonly deps: CoreDeps,
    private readonly guard: StorageGuard,
  ) {}

  /** Starts the fill of an opened body, choosing memory or temp file, store or pass-through. */
  async start(job: FillJob): Promise<ActiveFill> {
    const size = job.spec.expectedSize;
    if (job.store === false || !(await this.guard.room(size))) return this.passThrough(job);
    if (size !== undefined && size <= SMALL_BODY) return inMemoryFill(this.deps, this.guard, job);
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
    const report = fillReporter(this.deps, job.spec.key);
    const usedAt = this.deps.clock.now();
    try {
      await commitFill(this.deps, job, (fields) => commitTemp(this.deps, temp, result, fields, usedAt));
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
    const report = fillReporter(this.deps, job.spec.key);
    const fill = new StreamFill(job.spec, temp);
    /** When a client was last given this body (its last use, for eviction). */
    let usedAt = clock.now();
    const committed = fill
      .run(job.res.body, async (r) => commitFill(this.deps, job, (fields) => commitTemp(this.deps, temp, r, fields, usedAt)))
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
}
