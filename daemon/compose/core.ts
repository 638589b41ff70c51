/**
 * Part of the composition root: the cache core. Wires the core's ports (the
 * store, the index, the hot cache, disk-full handling, write-behind and the
 * memory budget) and its events (metrics, LAN peers, the admin's stats and
 * activity feed), then builds the three caches that share them.
 */
import type { LoadedConfig } from '../config/load.js';
import { BlobCache } from '../core/blob-cache.js';
import type { ClusterPorts } from '../core/cluster.js';
import { AccessTracker, type CoreDeps } from '../core/deps.js';
import { DocumentCache } from '../core/document-cache.js';
import { HttpCache } from '../core/http-cache.js';
import { MemoryBudget } from '../core/memory-budget.js';
import type { BlobStore, Clock, IndexStore } from '../core/ports.js';
import { StorageGuard } from '../core/storage-guard.js';
import { WriteBehind } from '../core/write-behind.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { LruHotCache } from '../storage/hot-cache.js';
import type { Admin } from './admin.js';
import type { PeerParts } from './peers.js';

export interface CoreParts {
  deps: CoreDeps;
  access: AccessTracker;
  blobCache: BlobCache;
  documents: DocumentCache;
  httpCache: HttpCache;
}

export function buildCore(
  cfg: LoadedConfig,
  d: {
    blobs: BlobStore;
    index: IndexStore;
    cluster: ClusterPorts | undefined;
    peers: PeerParts;
    metrics: Metrics;
    clock: Clock;
    log: Logger;
    /** Built after the core (it needs the caches): undefined until then. */
    admin(): Admin | undefined;
  },
): CoreParts {
  const { peers, log } = d;
  const metricEvents = d.metrics.cacheEvents();
  const deps: CoreDeps = {
    blobs: d.blobs,
    index: d.index,
    cluster: d.cluster,
    peers: peers.source,
    hot: new LruHotCache(cfg.storage.memoryCache),
    clock: d.clock,
    events: {
      fillFinished: (key, outcome, bytes, ms) => {
        metricEvents.fillFinished?.(key, outcome, bytes, ms);
        if (outcome === 'ok') peers.filled();
        const admin = d.admin();
        if (outcome === 'integrity' && admin) {
          admin.stats.integrityFailures++;
          admin.events.activity('integrity', `integrity failure: ${key.slice(0, 200)} did not match its digest; nothing was stored`);
        }
      },
      staleServed: (key, reason) => {
        metricEvents.staleServed?.(key, reason);
        d.admin()?.stats.staleServed(key.split(':')[1]);
        d.admin()?.events.activity('stale', `served stale ${key.slice(0, 200)} (${reason})`);
      },
      upstreamBytes: (n) => metricEvents.upstreamBytes?.(n),
      blobCommitted: (entry) => peers.committed(entry),
      storageFull: (key) => {
        metricEvents.storageFull?.(key);
        log.warn(
          { key: key.slice(0, 200) },
          'disk full: not stored (streamed through, or the transfer failed); free space or lower storage.maxSize',
        );
        d.admin()?.events.activity('error', `disk full: ${key.slice(0, 200)} was not stored`);
      },
    },
    hotMaxBody: Math.min(4 * 1024 * 1024, Math.floor(cfg.storage.memoryCache / 8)),
    later: new WriteBehind(d.clock),
    memory: new MemoryBudget({ maxBytes: cfg.limits.memory, maxFills: cfg.limits.fills, waitMs: cfg.limits.queueTimeout }),
  };
  deps.guard = new StorageGuard(deps, {
    minFree: cfg.storage.minFree,
    reclaim: (need, extra) => d.admin()?.keeper.reclaim(need, extra) ?? Promise.resolve(0),
  });
  const access = new AccessTracker(deps);
  return {
    deps,
    access,
    blobCache: new BlobCache(deps, access),
    documents: new DocumentCache(deps, access),
    httpCache: new HttpCache(deps, access),
  };
}
