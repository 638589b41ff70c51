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
 * (no growth) once it reaches it, checked after every collection.
 *
 * Measured with bench/memory.ts (32 connections, warm packuments): a 1 MB
 * semi-space (never growing) costs ~25 % more server CPU per request
 * (scavenges promote in-flight request objects), `--optimize-for-size` or a
 * small `--heap-growing-percent` cost ~40-60 % on multi-MB tarballs (every
 * 64 KiB read buffer counts toward the tighter limit and forces full
 * collections). `LARDER_V8_TUNING=0` leaves V8 at its defaults.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Largest semi-space size (MB) the young generation grows to. */
export const SEMI_SPACE_TARGET_MB = 8;

let observer: PerformanceObserver | undefined;

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
  if (env.LARDER_V8_TUNING === '0') return false;
  if (observer) return true;
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
