/** The cache as the overview and storage views see it: stats, their history, cached entries and the maintenance requests (evict, scrub, gc). */

import type { ClusterSummary, PeersSummary } from './peers-cluster.js';
import type { ChildStatus, ReplicationStatus } from './pins.js';

/** Progress of the background scrub (the scrubber's status has this shape). */
export interface ScrubStatus {
  running: boolean;
  lastRunAt?: number;
  lastFinishedAt?: number;
  checked: number;
  corrupt: number;
  repaired: number;
  bytesPerSecond: number;
}

export type Health = 'ok' | 'degraded' | 'down' | 'offline';

export interface RemoteStats {
  name: string;
  type: string;
  url: string;
  offline: boolean;
  health: Health;
  lastError?: string;
  lastSuccessAt?: number;
  lastFailureAt?: number;
  staleServes: number;
}

export interface Stats {
  startedAt: number;
  now: number;
  offline: boolean;
  requests: { total: number; hit: number; miss: number; revalidated: number; stale: number; bypass: number };
  /** (hit + revalidated + stale) / cache-touching requests, 0..1. */
  hitRate: number;
  bytesServed: { cache: number; upstream: number };
  /** Bytes served from cache that did not have to come from an upstream. */
  bytesSaved: number;
  bytesSavedToday: number;
  storage: { usedBytes: number; maxBytes: number; highWatermark: number; lowWatermark: number; blobs: number; entries: number };
  remotes: RemoteStats[];
  /** `lagging` counts pins whose lag exceeds `lagThresholdSeconds` (config pins.lagThreshold). */
  pins: { count: number; lagging: number; maxLagSeconds: number; lagThresholdSeconds: number };
  integrityFailures: number;
  evictions: { count: number; bytes: number };
  scrub: ScrubStatus;
  jobs: { running: number; queued: number };
  /** Set when this daemon has a parent (mirror hierarchy). */
  replication?: ReplicationStatus;
  /** Daemons that replicate this one's pins (mirror hierarchy), when any has polled. */
  children?: ChildStatus[];
  /** Sequence number of the newest record of this daemon's pin change feed. */
  feedSeq?: number;
  /** Set when LAN peers are enabled. */
  peers?: PeersSummary;
  /** Set in cluster mode. */
  cluster?: ClusterSummary;
}

export interface StatsPoint {
  t: number;
  hits: number;
  misses: number;
  hitRate: number;
  bytesCache: number;
  bytesUpstream: number;
}

export interface Page<T> {
  items: T[];
  next?: string;
}

export interface EntrySummary {
  key: string;
  protocol: string;
  remote?: string;
  name?: string;
  digest: string;
  size: number;
  mediaType?: string;
  fetchedAt: number;
  expiresAt: number;
  immutable: boolean;
  pinned: boolean;
}

/** Query of GET /entries. */
export interface EntryQuery {
  protocol?: string;
  remote?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export interface EvictRequest {
  key?: string;
  digest?: string;
  /** Evict until usage is under the low watermark (default when nothing else is given). */
  toLowWatermark?: boolean;
}

/** Body of POST /scrub: `now` waits for the pass to finish. */
export interface ScrubRequest {
  now?: boolean;
}

/** Answer of POST /evict and POST /gc. */
export interface RemovedBlobs {
  removed: number;
  bytes: number;
}
