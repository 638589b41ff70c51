/**
 * The hit-rate time series: the daemon's history (10 s buckets, last hour)
 * extended live from `stats` events. Each live snapshot's counter deltas are
 * added to the bucket it falls in, so the chart keeps the history's meaning
 * (per-bucket hit rate) without refetching.
 */
import type { Stats, StatsPoint } from '../../daemon/admin/contract.js';

/** Bucket width of /stats/history. */
export const STEP_MS = 10_000;
/** How much history the chart keeps. */
export const WINDOW_MS = 60 * 60_000;

/** Served-from-cache requests in a Stats snapshot. */
export function cachedRequests(s: Stats): number {
  return s.requests.hit + s.requests.revalidated + s.requests.stale;
}

/** Requests that had to go upstream. */
export function upstreamRequests(s: Stats): number {
  return s.requests.miss;
}

/** Points sorted by time, the window enforced. */
export function normalize(points: readonly StatsPoint[], now: number): StatsPoint[] {
  return [...points].filter((p) => p.t > now - WINDOW_MS).sort((a, b) => a.t - b.t);
}

/**
 * Adds the difference between two snapshots to the series. Returns a new
 * array (the input is not modified). Counter resets (daemon restart) count
 * the new totals as the delta.
 */
export function addSnapshot(points: readonly StatsPoint[], prev: Stats | undefined, next: Stats): StatsPoint[] {
  const d = (a: number, b: number | undefined): number => (b === undefined || a < b ? a : a - b);
  const hits = d(cachedRequests(next), prev ? cachedRequests(prev) : undefined);
  const misses = d(upstreamRequests(next), prev ? upstreamRequests(prev) : undefined);
  const bytesCache = d(next.bytesServed.cache, prev?.bytesServed.cache);
  const bytesUpstream = d(next.bytesServed.upstream, prev?.bytesServed.upstream);
  if (prev === undefined) return normalize(points, next.now);
  const t = Math.floor(next.now / STEP_MS) * STEP_MS;
  const out = normalize(points, next.now);
  const last = out[out.length - 1];
  if (last && last.t === t) {
    const h = last.hits + hits;
    const m = last.misses + misses;
    out[out.length - 1] = {
      t,
      hits: h,
      misses: m,
      hitRate: h + m > 0 ? h / (h + m) : last.hitRate,
      bytesCache: last.bytesCache + bytesCache,
      bytesUpstream: last.bytesUpstream + bytesUpstream,
    };
  } else if (!last || last.t < t) {
    out.push({ t, hits, misses, hitRate: hits + misses > 0 ? hits / (hits + misses) : next.hitRate, bytesCache, bytesUpstream });
  }
  return out;
}

/** Columns for uPlot: seconds, hit rate in percent (null for idle buckets). */
export function hitRateColumns(points: readonly StatsPoint[]): [number[], Array<number | null>] {
  return [points.map((p) => p.t / 1000), points.map((p) => (p.hits + p.misses > 0 ? Math.round(p.hitRate * 1000) / 10 : null))];
}

/** Columns for uPlot: seconds, bytes from cache, bytes from upstream. */
export function bytesColumns(points: readonly StatsPoint[]): [number[], number[], number[]] {
  return [points.map((p) => p.t / 1000), points.map((p) => p.bytesCache), points.map((p) => p.bytesUpstream)];
}
