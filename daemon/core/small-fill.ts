/**
 * Small artifacts (an announced size up to SMALL_BODY) skip the streaming
 * fill: the body is read whole, verified, and answered from memory, and the
 * commit protocol (temp file, fsync, rename, directory fsync, index) runs
 * after the answer went out.
 *
 * Nothing is lost by not streaming them: a streaming fill holds back its
 * last HOLDBACK bytes until every digest verified, so a client of a body
 * this small receives nothing before verification either way. What is
 * saved is the per-chunk temp-file round trip, the readers and their
 * streams: most of the CPU a cold miss of a small tarball costs. A body that
 * does not verify is refused before any byte is sent (E_INTEGRITY), and one
 * larger than announced fails the same way.
 */
import { MultiHasher } from './digest.js';
import { LarderError, toLarderError } from './errors.js';
import { commitFilled, type EntryFields } from './commit-entry.js';
import { HOLDBACK, verifyFill, type FillResult, type FillSpec } from './fill.js';
import { isNoSpace, type StorageGuard } from './storage-guard.js';
import type { CoreDeps } from './deps.js';
import { writeLater } from './write-behind.js';
import type { BlobStore, Clock, IndexStore, TempBlob, UpstreamResponse } from './ports.js';
import type { Entry } from './types.js';

/** Largest announced size that takes the in-memory path (the streaming fill's holdback). */
export const SMALL_BODY = HOLDBACK;

/** A small body, read whole and verified. */
export interface SmallBody {
  body: Buffer;
  result: FillResult;
}

/** Reads the whole (small) body and verifies it against `spec`. */
export async function readSmall(res: UpstreamResponse, spec: FillSpec): Promise<SmallBody> {
  const hasher = new MultiHasher(spec.expected.map((e) => e.algo));
  const limit = Math.min(spec.expectedSize ?? SMALL_BODY, spec.maxBytes ?? Infinity);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      hasher.update(chunk);
      if (hasher.bytes > limit) {
        const code = hasher.bytes > (spec.maxBytes ?? Infinity) ? 'E_UPSTREAM' : 'E_INTEGRITY';
        throw new LarderError(code, `${spec.key}: upstream body exceeds ${limit} bytes`, { details: { expectedSize: spec.expectedSize } });
      }
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    throw toLarderError(err);
  }
  const result = verifyFill(spec, hasher);
  return { body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, hasher.bytes), result };
}

/** Commits a verified small body through the one commit protocol (temp → fsync → rename → index). */
export async function commitSmall(
  deps: { blobs: BlobStore; index: IndexStore; clock: Clock },
  temp: TempBlob,
  small: SmallBody,
  fields: EntryFields,
): Promise<Entry> {
  try {
    await temp.write(small.body);
    return await commitFilled(deps, temp, small.result, fields);
  } finally {
    await temp.abort();
    await temp.release();
  }
}

/**
 * One small fill: reads and verifies the body (rejecting with E_INTEGRITY
 * or E_UPSTREAM), then commits it in the background through a guarded temp
 * file. `hooks.verified` runs once the body is good, `hooks.settled` once
 * the commit ended either way; fill events are reported as for a streaming
 * fill, and a full disk enters the guard's full state.
 */
export async function fillSmall(
  deps: CoreDeps,
  guard: StorageGuard,
  res: UpstreamResponse,
  spec: FillSpec,
  fields: EntryFields,
  hooks: { verified(): void; settled(): void },
): Promise<{ small: SmallBody; committed: Promise<void> }> {
  const { clock, events } = deps;
  const started = clock.now();
  events.fillStarted?.(spec.key);
  let small: SmallBody;
  try {
    small = await readSmall(res, spec);
  } catch (err) {
    const e = toLarderError(err);
    events.fillFinished?.(spec.key, e.code === 'E_INTEGRITY' ? 'integrity' : 'error', 0, clock.now() - started);
    throw e;
  }
  hooks.verified();
  const commit = async (): Promise<void> => {
    const temp = guard.guardTemp(await deps.blobs.createTemp(), spec.key);
    await commitSmall(deps, temp, small, fields);
  };
  const committed = (async () => {
    try {
      // Answered from memory already: the commit may wait for the clients to pause (write-behind.ts).
      await writeLater(deps.later, small.body.length, commit);
      events.fillFinished?.(spec.key, 'ok', small.result.size, clock.now() - started);
    } catch (err) {
      if (isNoSpace(err)) {
        guard.markFull();
        guard.report(spec.key);
      }
      events.fillFinished?.(spec.key, 'error', 0, clock.now() - started);
    } finally {
      hooks.settled();
    }
  })();
  return { small, committed };
}
