/**
 * A young-generation collection after every MiB of upstream body, for
 * `larder serve`.
 *
 * Each chunk node's HTTP client reads from an upstream socket lands in
 * buffers outside V8's heap: the 64 KiB socket read buffer, the parser's copy
 * of the body bytes and, for a compressed response, zlib's output. Their JS
 * handles are tiny, so a fill that streams megabytes allocates almost nothing
 * V8 counts toward its next scavenge; streaming 24 MiB without this, the
 * dead buffers reached 31-37 MiB before a collection freed them
 * (test/unit/young-gc.test.ts). Until then they sit in glibc's heap, and
 * freed later in a different order, that heap stays fragmented at its
 * high-water mark for the life of the process.
 *
 * Measured (bench/memory.ts, all phases, 3 alternating rounds each, peak RSS
 * in MiB): with a 4 MB semi-space 109.4/107.4/109.6 without and
 * 102.1/104.4/102.1 with this; heaptrack saw the malloc heap's fill-time
 * spikes go from +11..15 to about +5 MiB. One scavenge takes ~0.16 ms, so
 * an upstream streaming 120 MiB/s costs ~2 % of a core. The bytes counted
 * are those handed out, after got decoded any content-encoding.
 * `LARDER_V8_TUNING=0` turns it off with the rest of the V8 tuning.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { v8TuningDisabled } from './heap.js';

/** Upstream body bytes between two young-generation collections. */
export const YOUNG_GC_EVERY_BYTES = 1024 * 1024;

type MinorGc = () => void;
type GcFunction = (opts: { type: 'minor' }) => void;

/**
 * Counts body bytes and runs `collect` when `everyBytes` of them have
 * arrived since the last collection. The count then starts from zero: a
 * chunk worth several steps is one collection.
 */
export class YoungGcPacer {
  private pending = 0;

  constructor(
    private readonly collect: MinorGc,
    private readonly everyBytes = YOUNG_GC_EVERY_BYTES,
  ) {}

  readonly account = (bytes: number): void => {
    this.pending += bytes;
    if (this.pending < this.everyBytes) return;
    this.pending = 0;
    this.collect();
  };
}

/**
 * V8's `gc()`: the global one when node runs with `--expose-gc`, else the
 * one a vm context created while `--expose-gc` is briefly set shows (this
 * process's global gets none, and the flag is put back as it was).
 * Undefined when neither works.
 */
function gcFunction(): GcFunction | undefined {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as GcFunction;
  try {
    setFlagsFromString('--expose-gc');
    try {
      const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as unknown;
      return typeof gc === 'function' ? (gc as GcFunction) : undefined;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  } catch {
    return undefined;
  }
}

/**
 * The pacer's byte counter for the upstream client; undefined when
 * `LARDER_V8_TUNING=0` or when V8 offers no `gc()` (the daemon then runs
 * without pacing).
 */
export function youngGcOnUpstreamBytes(env: NodeJS.ProcessEnv = process.env): ((bytes: number) => void) | undefined {
  if (v8TuningDisabled(env)) return undefined;
  const gc = gcFunction();
  if (!gc) return undefined;
  return new YoungGcPacer(() => gc({ type: 'minor' })).account;
}
