/**
 * The in-memory way of filling: a small body is read whole and verified
 * before it is answered, served from memory, and committed behind the
 * answer (when the clients pause, see write-behind.ts).
 */
import type { Readable } from 'node:stream';
import { BufferStream } from './blob-stream.js';
import { toLarderError } from '../errors.js';
import { isNoSpace, type StorageGuard } from '../storage-guard.js';
import { writeLater } from '../write-behind.js';
import type { CoreDeps } from '../deps.js';
import type { ByteRange } from '../served.js';
import { commitBuffer } from './commit.js';
import { commitFill, fillReporter, type ActiveFill, type FillJob } from './fill-job.js';
import { readVerified, type FillResult } from './verify.js';

/** Reads and verifies the whole (small) body before answering; committed behind the answer. */
export async function inMemoryFill(deps: CoreDeps, guard: StorageGuard, job: FillJob): Promise<ActiveFill> {
  const report = fillReporter(deps, job.spec.key);
  let read: { body: Buffer; result: FillResult };
  try {
    read = await readVerified(job.res.body, job.spec);
  } catch (err) {
    const e = toLarderError(err);
    report.failed(e);
    throw e;
  }
  const { body, result } = read;
  let usedAt = deps.clock.now();
  const commit = async (): Promise<void> => {
    const temp = guard.guardTemp(await deps.blobs.createTemp(), job.spec.key);
    await commitFill(deps, job, (fields) => commitBuffer(deps, temp, body, result, fields, usedAt));
  };
  const committed = writeLater(deps.later, body.length, commit).then(
    () => report.ok(result.size),
    // Verified bytes are answered from memory all the same; only the commit failed.
    (err: unknown) => {
      if (isNoSpace(err)) {
        guard.markFull();
        guard.report(job.spec.key);
      }
      return report.failed(toLarderError(err));
    },
  );
  return {
    state: 'verified',
    shared: true,
    committed,
    serve: (served) => {
      usedAt = deps.clock.now();
      return {
        state: served,
        size: result.size,
        mediaType: job.fields.mediaType,
        digest: result.digest,
        open: (range) => bufferStream(body, range),
        done: () => {
          deps.later?.urgent();
          return committed;
        },
      };
    },
  };
}

/** A body held in memory as a stream (or a range of it). */
export function bufferStream(body: Buffer, range?: ByteRange): Readable {
  return new BufferStream(range ? body.subarray(range.start, range.end + 1) : body);
}
