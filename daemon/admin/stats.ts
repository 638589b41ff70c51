/**
 * Request and upstream statistics for the admin API, the dashboard and the
 * tray: counters by cache result, bytes from cache vs upstream, per-remote
 * health, and a one-hour history in 10-second steps.
 */
import type { CacheState } from '../core/types.js';
import type { Health, RemoteStats, StatsPoint } from './contract.js';
import { redactCredentials } from '../core/redact.js';

interface RemoteHealth {
  lastSuccessAt?: number;
  lastFailureAt?: number;
  lastError?: string;
  consecutiveFailures: number;
  staleServes: number;
}

const STEP_MS = 10_000;
const HISTORY = 360;

export class StatsTracker {
  readonly startedAt = Date.now();
  readonly requests = { total: 0, hit: 0, miss: 0, revalidated: 0, stale: 0, bypass: 0 };
  readonly bytes = { cache: 0, upstream: 0 };
  integrityFailures = 0;
  private savedToday = 0;
  private today = new Date().toDateString();
  private readonly health = new Map<string, RemoteHealth>();
  private readonly history: StatsPoint[] = [];
  private current: StatsPoint = { t: 0, hits: 0, misses: 0, hitRate: 0, bytesCache: 0, bytesUpstream: 0 };

  /** Records one answered request. */
  record(cache: CacheState | undefined, bytes: number, fromCache: boolean): void {
    this.requests.total++;
    if (cache) this.requests[cache.toLowerCase() as keyof typeof this.requests]++;
    this.roll();
    if (fromCache) {
      this.bytes.cache += bytes;
      this.savedToday += bytes;
      this.current.bytesCache += bytes;
    } else {
      this.bytes.upstream += bytes;
      this.current.bytesUpstream += bytes;
    }
    if (cache === 'HIT' || cache === 'REVALIDATED' || cache === 'STALE') this.current.hits++;
    else if (cache === 'MISS') this.current.misses++;
  }

  get hitRate(): number {
    const r = this.requests;
    const hits = r.hit + r.revalidated + r.stale;
    const touched = hits + r.miss;
    return touched === 0 ? 0 : hits / touched;
  }

  get bytesSavedToday(): number {
    this.roll();
    return this.savedToday;
  }

  private roll(now = Date.now()): void {
    const t = Math.floor(now / STEP_MS) * STEP_MS;
    if (this.current.t !== t) {
      if (this.current.t !== 0) {
        const c = this.current;
        c.hitRate = c.hits + c.misses === 0 ? 0 : c.hits / (c.hits + c.misses);
        this.history.push(c);
        if (this.history.length > HISTORY) this.history.shift();
      }
      this.current = { t, hits: 0, misses: 0, hitRate: 0, bytesCache: 0, bytesUpstream: 0 };
      // A local day starts on a step (time zones are whole quarter hours): its date is read once a step, not per request.
      const day = new Date(now).toDateString();
      if (day !== this.today) {
        this.today = day;
        this.savedToday = 0;
      }
    }
  }

  points(): StatsPoint[] {
    this.roll();
    const c = this.current;
    const live = { ...c, hitRate: c.hits + c.misses === 0 ? 0 : c.hits / (c.hits + c.misses) };
    return [...this.history, live];
  }

  observeRemote(name: string, ok: boolean, detail: string): void {
    const h = this.remote(name);
    if (ok) {
      h.lastSuccessAt = Date.now();
      h.consecutiveFailures = 0;
    } else {
      h.lastFailureAt = Date.now();
      h.lastError = redactCredentials(detail).slice(0, 300);
      h.consecutiveFailures++;
    }
  }

  staleServed(remote: string | undefined): void {
    if (remote) this.remote(remote).staleServes++;
  }

  private remote(name: string): RemoteHealth {
    let h = this.health.get(name);
    if (!h) {
      h = { consecutiveFailures: 0, staleServes: 0 };
      this.health.set(name, h);
    }
    return h;
  }

  remoteStats(name: string, type: string, url: string, offline: boolean): RemoteStats {
    const h = this.remote(name);
    let health: Health = 'ok';
    if (offline) health = 'offline';
    else if (h.consecutiveFailures >= 3) health = 'down';
    else if (h.consecutiveFailures > 0) health = 'degraded';
    const out: RemoteStats = { name, type, url: redactCredentials(url), offline, health, staleServes: h.staleServes };
    if (h.lastError !== undefined) out.lastError = h.lastError;
    if (h.lastSuccessAt !== undefined) out.lastSuccessAt = h.lastSuccessAt;
    if (h.lastFailureAt !== undefined) out.lastFailureAt = h.lastFailureAt;
    return out;
  }
}
