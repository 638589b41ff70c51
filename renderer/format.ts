/**
 * Formatting helpers for the dashboard: byte sizes, percentages, durations,
 * relative times and digests. Pure functions, no DOM.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; exact bytes below 1 KiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

/** 0.8734 → "87.3%". */
export function formatPercent(ratio: number, digits = 1): string {
  if (!Number.isFinite(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)}%`;
}

/** 12345 → "12,345". */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

/** Seconds → "0s", "45s", "12m 3s", "5h 2m", "3d 4h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A past epoch-ms time relative to `now`: "just now", "5m ago", "never". */
export function formatAgo(at: number | undefined, now: number = Date.now()): string {
  if (at === undefined || !Number.isFinite(at) || at <= 0) return 'never';
  const secs = Math.max(0, (now - at) / 1000);
  if (secs < 5) return 'just now';
  return `${formatDuration(secs).split(' ')[0]} ago`;
}

/** Epoch ms → local "HH:MM:SS". */
export function formatClock(at: number): string {
  const d = new Date(at);
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Epoch ms → local ISO-like "YYYY-MM-DD HH:MM:SS". */
export function formatDateTime(at: number | undefined): string {
  if (at === undefined || !Number.isFinite(at) || at <= 0) return '—';
  const d = new Date(at);
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${formatClock(at)}`;
}

/** "sha256:abcdef…" shortened to algorithm + first 12 hex digits; versions pass through. */
export function shortDigest(d: string | undefined): string {
  if (!d) return '—';
  const m = /^([a-z0-9]+):([0-9a-f]{16,})$/i.exec(d);
  if (!m) return d.length > 40 ? `${d.slice(0, 38)}…` : d;
  return `${m[1]}:${m[2]!.slice(0, 12)}`;
}

/** How bad a replication lag is against the threshold (seconds). */
export type LagLevel = 'ok' | 'warn' | 'bad';

/** 0 → ok; below the threshold → warn; at or past it → bad. */
export function lagLevel(lagSeconds: number, thresholdSeconds: number): LagLevel {
  if (lagSeconds <= 0) return 'ok';
  return lagSeconds >= thresholdSeconds ? 'bad' : 'warn';
}
