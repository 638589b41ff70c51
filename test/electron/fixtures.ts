/**
 * Shared builders for the Electron tests: Stats and Pin values in the shapes
 * of the admin contract, with overrides.
 */
import type { Pin, RemoteStats, Stats } from '../../daemon/admin/contract.js';

/** A healthy daemon's stats; pass overrides for the parts a test is about. */
export function makeStats(over: Partial<Stats> = {}): Stats {
  const remote: RemoteStats = { name: 'npmjs', type: 'npm', url: 'http://127.0.0.1:1/', offline: false, health: 'ok', staleServes: 0 };
  return {
    startedAt: 1,
    now: Date.now(),
    offline: false,
    requests: { total: 10, hit: 8, miss: 2, revalidated: 0, stale: 0, bypass: 0 },
    hitRate: 0.8,
    bytesServed: { cache: 8 * 1024 * 1024, upstream: 1024 },
    bytesSaved: 8 * 1024 * 1024,
    bytesSavedToday: 3 * 1024 * 1024,
    storage: { usedBytes: 100, maxBytes: 1000, highWatermark: 0.9, lowWatermark: 0.8, blobs: 3, entries: 4 },
    remotes: [remote],
    pins: { count: 0, lagging: 0, maxLagSeconds: 0, lagThresholdSeconds: 900 },
    integrityFailures: 0,
    evictions: { count: 0, bytes: 0 },
    scrub: { running: false, checked: 0, corrupt: 0, repaired: 0, bytesPerSecond: 0 },
    jobs: { running: 0, queued: 0 },
    ...over,
  };
}

/** A pin in state ok with no lag. */
export function makePin(id: string, over: Partial<Pin> = {}): Pin {
  return {
    id,
    ref: `npm:pkg-${id}@1.0.0`,
    mutable: false,
    status: 'ok',
    resolved: `sha256:${'a'.repeat(64)}`,
    size: 1000,
    items: 1,
    createdAt: 1,
    lastCheckedAt: Date.now(),
    lagSeconds: 0,
    source: 'api',
    ...over,
  };
}
