/**
 * What the fill pipeline works on and hands back: a fill job (an opened
 * upstream body and how to index it), the active fill that requests join,
 * and the two steps every way of filling shares: indexing the committed body
 * (then the job's hook) and reporting the fill's start and end.
 */
import type { LarderError } from '../errors.js';
import type { CoreDeps } from '../deps.js';
import type { UpstreamResponse } from '../ports.js';
import type { ServedBlob } from '../served.js';
import type { CacheState, Entry } from '../types.js';
import type { EntryFields } from './commit.js';
import type { FillSpec } from './verify.js';

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

/** The end of one fill, reported for metrics and admin activity. */
export interface FillReport {
  ok(size: number): undefined;
  failed(err: LarderError): LarderError;
}

/** Indexes through `write`, then runs the job's hook. */
export async function commitFill(
  deps: CoreDeps,
  job: Pick<FillJob, 'onCommitted' | 'fields'>,
  write: (fields: EntryFields) => Promise<Entry>,
): Promise<void> {
  const entry = await write(job.fields);
  if (entry.immutable) deps.events.blobCommitted?.(entry);
  try {
    await job.onCommitted?.(entry);
  } catch {
    // A failing hook must not undo a verified, committed body.
  }
}

/** Reports a fill's start now and its end later (metrics, admin activity). */
export function fillReporter(deps: CoreDeps, key: string): FillReport {
  const { events, clock } = deps;
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
