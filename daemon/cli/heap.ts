/**
 * V8 young-generation cap for `larder serve`, applied from inside the
 * process so every way of starting the daemon (`node dist/daemon/cli.js
 * serve`, `npm start`, the `larder` bin) gets it without node flags.
 *
 * By default V8 grows each of the two semi-spaces of the young generation to
 * 16 MB under load: 32 MB of resident memory for objects that mostly live
 * for one request. `--max-semi-space-size` cannot be changed once V8 runs,
 * but `--semi-space-growth-factor` can: this keeps the factor at V8's 2
 * while a semi-space is below {@link SEMI_SPACE_TARGET_MB} and sets it to 1
 * (no growth) once it reaches it, checked after every collection. GC
 * observers run on a later turn of the event loop, so one long synchronous
 * burst can still grow it a step past the cap before the check runs.
 *
 * The old generation may grow only HEAP_GROWING_PERCENT past what survived
 * the last full collection (V8's default lets it grow far more before it
 * collects request garbage that a scavenge promoted).
 *
 * Measured with bench/memory.ts (32 connections, all four warm loads):
 * growing-percent 20 took the peak from 164-167 to 127 MB at the same hits
 * and MB per server CPU-second. A 4 MB semi-space first cost ~35 % of the
 * hit rate; once a warm hit allocated less (19 instead of 23 KB, answers
 * written without Koa's setters, http/respond.ts) it cost nothing
 * measurable (2 alternating rounds: hits per server CPU-second within 3 %,
 * peak 108-109 instead of 116-122 MB). 2 MB, 3 alternating rounds each
 * (peak RSS in MiB): 108.4/104.4/107.2 against 109.7/113.6/115.6 at 4 MB;
 * with upstream bodies paced (cli/young-gc.ts) 98.5/99.9/101.1 against
 * 102.1/104.4/102.1. That gain is about the spread between runs of one
 * build (99.6-103.3 for this one), and hits per server CPU-second stayed
 * in the same range on this noisy host (a few percent lower in an earlier
 * run), so the cap is 2 MB. A synthetic churn whose live set is larger than
 * a semi-space can still grow it one step (to 2 x 4 MB) before the observer
 * runs. A 1 MB one cost ~25 % and
 * `--optimize-for-size` (peak 111 MB) more than half. The
 * growing-percent limit only became affordable once multi-MB blobs were
 * sent from reused buffers (http/send-blob.ts): before, every 64 KiB read
 * buffer counted toward it and forced full collections.
 * `LARDER_V8_TUNING=0` leaves V8 at its defaults.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Largest semi-space size (MB) the young generation grows to. */
export const SEMI_SPACE_TARGET_MB = 2;

/** How far (percent) V8 lets the old generation grow past what survived the last full collection. */
export const HEAP_GROWING_PERCENT = 20;

let observer: PerformanceObserver | undefined;

/** Whether `LARDER_V8_TUNING=0` asks for V8, ICU and GC at their defaults (every serve-time tuning checks this). */
export function v8TuningDisabled(env: NodeJS.ProcessEnv): boolean {
  return env.LARDER_V8_TUNING === '0';
}

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Caps the young generation at `targetMb` per semi-space (new space reports
 * both semi-spaces). Call it before the daemon's modules load, while the
 * young generation is still small. Returns false when disabled by
 * `LARDER_V8_TUNING=0`.
 */
export function tuneHeapForServe(env: NodeJS.ProcessEnv = process.env, targetMb = SEMI_SPACE_TARGET_MB): boolean {
  if (v8TuningDisabled(env)) return false;
  if (observer) return true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const limit = 2 * targetMb * 1024 * 1024;
  let growing = true;
  const check = (): void => {
    const grow = newSpaceBytes() < limit;
    if (grow !== growing) {
      growing = grow;
      setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
    }
  };
  observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  check();
  return true;
}
