/**
 * The pre-warm seam: each protocol adapter offers a Warmer that resolves a
 * reference and fetches its whole closure through the same fetch → verify →
 * commit path a client request takes.
 */
import { LarderError } from './errors.js';
import type { Ref } from './refs.js';
import type { ServedBlob } from './served.js';
import type { ExpectedDigest } from './types.js';

export interface Closure {
  /** What the reference resolved to (a version or a digest). */
  resolved: string;
  /** Index keys of every entry in the closure (pins protect these). */
  keys: string[];
  /** Total size of the closure's artifacts. */
  bytes: number;
  /** Bytes that had to be fetched now (0 when everything was cached). */
  fetched: number;
  /** References found along the way that the caller may warm too (npm dependencies). */
  children: string[];
}

export interface WarmOptions {
  signal: AbortSignal;
  /** Called with byte counts as artifacts stream in. */
  onBytes(n: number): void;
  /** A digest the artifact must have (a lockfile's own hash), checked before commit. */
  expect?: ExpectedDigest[];
  /** Report dependency references as children (npm). */
  deps: boolean;
}

export interface Warmer {
  /** The reference scheme it warms ("npm"). */
  readonly protocol: string;
  /** Resolves the reference upstream (fresh) without fetching artifacts. */
  resolve(ref: Ref): Promise<string>;
  /** Fetches the closure into the cache. */
  warm(ref: Ref, opts: WarmOptions): Promise<Closure>;
}

/** Reads a stream to its end, counting bytes; rejects on failure. */
export async function consume(stream: AsyncIterable<unknown>, onBytes: (n: number) => void): Promise<number> {
  let n = 0;
  for await (const chunk of stream) {
    const len = (chunk as Buffer).length;
    n += len;
    onBytes(len);
  }
  return n;
}

/**
 * Waits until a fetched artifact is committed and indexed. A pre-warm job
 * checks what it stored (waiting asks a commit put off while clients are
 * busy to happen now).
 */
export async function committed(served: { done(): Promise<unknown> }): Promise<void> {
  await served.done();
}

/**
 * A pre-warm must store what it fetches: a pass-through answer (the disk is
 * full) is refused with E_STORAGE_FULL instead of being reported as warmed.
 */
export function refuseBypass(served: { state: string; open(): { destroy(): void } }, what: string): void {
  if (served.state !== 'BYPASS') return;
  served.open().destroy();
  throw new LarderError('E_STORAGE_FULL', `${what}: the cache disk is full; nothing can be pre-warmed`);
}

/**
 * Scrub repair of one artifact: reads a fresh fetch of it to its end (the
 * fill verifies and commits it) and says whether its entry is indexed again.
 * Nothing can be repaired while the disk is full (a pass-through answer).
 */
export async function refill(served: Pick<ServedBlob, 'state' | 'open' | 'done'>, indexed: () => boolean): Promise<boolean> {
  if (served.state === 'BYPASS') {
    served.open().destroy(); // the disk is full: nothing can be repaired now
    return false;
  }
  await consume(served.open(), () => undefined);
  await served.done();
  return indexed();
}
