/**
 * A young-generation collection after every MiB of upstream body, for
 * `larder serve`.
 *
 * Each chunk node's HTTP client reads from an upstream socket lands in two
 * buffers outside V8's heap: the 64 KiB socket read buffer and the parser's
 * copy of the body bytes. Their JS handles are tiny, so a fill that streams
 * megabytes allocates almost nothing V8 counts toward its next scavenge, and
 * V8 collects for external memory only once some 64 MB of it piled up. Until
 * then the dead buffers sit in glibc's heap; freed later in a different
 * order, that heap stays fragmented at its high-water mark for the life of
 * the process.
 *
 * Measured with bench/memory.ts (full phases, 3 alternating rounds):
 * peak RSS 107.3 MB average without, 100.0 MB with a scavenge per MiB; the
 * malloc heap's fill-time spikes (heaptrack) went from +11..+15 MB to +5.
 * `LARDER_V8_TUNING=0` turns it off with the rest of the V8 tuning.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Upstream body bytes between two young-generation collections. */
export const YOUNG_GC_EVERY_BYTES = 1024 * 1024;

type MinorGc = () => void;

/** Counts upstream body bytes and runs `collect` once every `everyBytes` of them. */
export class YoungGcPacer {
  private pending = 0;
  collections = 0;

  constructor(
    private readonly collect: MinorGc,
    private readonly everyBytes = YOUNG_GC_EVERY_BYTES,
  ) {}

  readonly account = (bytes: number): void => {
    this.pending += bytes;
    if (this.pending < this.everyBytes) return;
    this.pending = 0;
    this.collections++;
    this.collect();
  };
}

/**
 * V8's `gc()` asking for a scavenge only. `--expose-gc` set at run time
 * shows `gc` in contexts created afterwards, so a fresh vm context hands it
 * over; this process's global gets no `gc`.
 */
function minorGc(): MinorGc {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (opts: { type: 'minor' }) => void;
  setFlagsFromString('--no-expose-gc');
  return () => gc({ type: 'minor' });
}

/** The pacer's byte counter for the upstream client, or undefined when `LARDER_V8_TUNING=0`. */
export function youngGcOnUpstreamBytes(env: NodeJS.ProcessEnv = process.env): ((bytes: number) => void) | undefined {
  if (env.LARDER_V8_TUNING === '0') return undefined;
  return new YoungGcPacer(minorGc()).account;
}
