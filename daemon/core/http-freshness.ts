/**
 * HTTP caching rules for a shared cache (RFC 9111, RFC 5861), as pure
 * functions over response header values:
 *
 * - freshness lifetime: `s-maxage`, else `max-age`, else `Expires - Date`,
 *   else 10% of the Last-Modified age (capped), else a fallback TTL;
 * - age: the `Age` header only (the upstream's `Date` is used for intervals,
 *   never compared with our clock, so clock skew cannot age a response);
 * - storability: `no-store`, `private` and `Vary: *` are never stored (any
 *   other Vary is moot: Larder always asks the upstream with the same
 *   headers, so one representation is cached per URL);
 * - `no-cache` stores but revalidates every use;
 * - stale-serving on upstream failure: forbidden by `must-revalidate`,
 *   `proxy-revalidate`, `s-maxage` and `no-cache`, bounded by
 *   `stale-if-error=N` when given, otherwise allowed (edge policy);
 * - `stale-while-revalidate=N`: serve stale for N seconds while refreshing.
 */

/** The response directives a shared cache acts on. Durations are seconds. */
export interface CacheDirectives {
  maxAge?: number;
  sMaxAge?: number;
  noStore: boolean;
  noCache: boolean;
  private: boolean;
  mustRevalidate: boolean;
  staleWhileRevalidate?: number;
  staleIfError?: number;
}

/** The stored header values freshness is computed from. */
export interface FreshnessHeaders {
  cacheControl?: string;
  expires?: string;
  date?: string;
  lastModified?: string;
  age?: string;
  vary?: string;
}

/** Heuristic freshness is this fraction of the time since Last-Modified. */
export const HEURISTIC_FRACTION = 0.1;

function seconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.replace(/^"|"$/g, '');
  if (!/^\d+$/.test(s)) return undefined;
  return Math.min(Number(s), 2 ** 31);
}

/** Parses a Cache-Control header (case-insensitive names, quoted or bare values). */
export function parseCacheControl(value: string | undefined): CacheDirectives {
  const d: CacheDirectives = { noStore: false, noCache: false, private: false, mustRevalidate: false };
  if (!value) return d;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const arg = eq < 0 ? undefined : part.slice(eq + 1).trim();
    switch (name) {
      case 'max-age':
        d.maxAge = seconds(arg) ?? 0;
        break;
      case 's-maxage':
        d.sMaxAge = seconds(arg) ?? 0;
        break;
      case 'no-store':
        d.noStore = true;
        break;
      case 'no-cache':
        d.noCache = true;
        break;
      case 'private':
        d.private = true;
        break;
      case 'must-revalidate':
      case 'proxy-revalidate':
        d.mustRevalidate = true;
        break;
      case 'stale-while-revalidate':
        d.staleWhileRevalidate = seconds(arg);
        break;
      case 'stale-if-error':
        d.staleIfError = seconds(arg);
        break;
    }
  }
  return d;
}

/** Whether a shared cache may store the response at all. */
export function isStorable(h: FreshnessHeaders): boolean {
  const cc = parseCacheControl(h.cacheControl);
  return !cc.noStore && !cc.private && h.vary?.trim() !== '*';
}

function dateMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Freshness lifetime in ms. `fallbackMs` is used when the response gives no
 * explicit lifetime and caps the Last-Modified heuristic.
 */
export function freshnessLifetimeMs(h: FreshnessHeaders, fallbackMs: number, now: number): number {
  const cc = parseCacheControl(h.cacheControl);
  if (cc.noCache) return 0;
  if (cc.sMaxAge !== undefined) return cc.sMaxAge * 1000;
  if (cc.maxAge !== undefined) return cc.maxAge * 1000;
  if (h.expires !== undefined) {
    const expires = dateMs(h.expires);
    if (expires === undefined) return 0; // an invalid Expires means "already expired"
    const date = dateMs(h.date) ?? now;
    return Math.max(0, expires - date);
  }
  const lastModified = dateMs(h.lastModified);
  if (lastModified !== undefined) {
    const date = dateMs(h.date) ?? now;
    return Math.min(fallbackMs, Math.max(0, Math.floor((date - lastModified) * HEURISTIC_FRACTION)));
  }
  return fallbackMs;
}

/** Absolute expiry (ms) of a response received at `now`. */
export function expiresAt(h: FreshnessHeaders, fallbackMs: number, now: number): number {
  const age = (seconds(h.age) ?? 0) * 1000;
  return now - age + freshnessLifetimeMs(h, fallbackMs, now);
}

/** Whether a stale response may answer when the upstream fails (5xx, timeout, unreachable). */
export function staleOnErrorAllowed(cacheControl: string | undefined, expiredAt: number, now: number): boolean {
  const cc = parseCacheControl(cacheControl);
  if (cc.mustRevalidate || cc.noCache || cc.sMaxAge !== undefined) return false;
  if (cc.staleIfError !== undefined) return now <= expiredAt + cc.staleIfError * 1000;
  return true;
}

/** Until when (ms) a stale response may be served while it is refreshed in the background. */
export function staleWhileRevalidateUntil(cacheControl: string | undefined, expiredAt: number): number {
  const cc = parseCacheControl(cacheControl);
  if (cc.mustRevalidate || cc.noCache || cc.staleWhileRevalidate === undefined) return 0;
  return expiredAt + cc.staleWhileRevalidate * 1000;
}
