/**
 * Every Prometheus metric Larder exports, on an injected registry (no
 * globals). Labels are bounded: protocol names, cache states, status classes.
 * The counters and histograms are here; the gauges read at scrape time are
 * in gauges.ts.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { CacheEvents } from '../core/ports.js';
import { type EdgeGauges, registerGauges } from './gauges.js';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'larder_requests_total',
    help: 'Requests by protocol, cache result and status class',
    labelNames: ['protocol', 'cache', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'larder_request_duration_seconds',
    help: 'Request duration by protocol and cache result',
    labelNames: ['protocol', 'cache'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly bytesServed = new Counter({
    name: 'larder_bytes_served_total',
    help: 'Response body bytes, by where they came from (cache or upstream)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly upstreamFetch = new Histogram({
    name: 'larder_upstream_fetch_seconds',
    help: 'Duration of upstream artifact fetches by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly policyRequests = new Counter({
    name: 'larder_policy_requests_total',
    help: 'Client requests the supply-chain policy refused (held, blocked) or served with a blocklist warning (warned), by remote',
    labelNames: ['remote', 'reason'] as const,
    registers: [this.registry],
  });
  readonly integrityFailures = new Counter({
    name: 'larder_integrity_failures_total',
    help: 'Upstream bodies that failed digest or size verification',
    registers: [this.registry],
  });
  readonly staleServes = new Counter({
    name: 'larder_stale_serves_total',
    help: 'Cached content served because the upstream failed',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly upstreamBytes = new Counter({
    name: 'larder_upstream_bytes_total',
    help: 'Bytes received from upstreams',
    registers: [this.registry],
  });
  readonly peerHits = new Counter({
    name: 'larder_peer_hits_total',
    help: 'Misses filled from a LAN peer (verified) instead of the upstream',
    registers: [this.registry],
  });
  readonly peerBytes = new Counter({
    name: 'larder_peer_bytes_total',
    help: 'Verified bytes received from LAN peers (also counted in larder_upstream_bytes_total)',
    registers: [this.registry],
  });
  readonly peerFailures = new Counter({
    name: 'larder_peer_failures_total',
    help: 'LAN peers dropped for a while, by reason (integrity, transfer, slow, refused, unreachable: no connection, or silent past the budget 3 rounds running)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly peerResumes = new Counter({
    name: 'larder_peer_resumes_total',
    help: 'Peer transfers that broke off and went on from the upstream, by how (range: from the byte the peer got to; restart: from the start; retry: the Range request failed, asked again whole)',
    labelNames: ['how'] as const,
    registers: [this.registry],
  });
  readonly peerFallbackDelay = new Histogram({
    name: 'larder_peer_fallback_delay_seconds',
    help: 'What a peer transfer that broke off cost, from its last byte until the upstream answered (not the slow transfer before it), by how (range, restart, retry; one per resume)',
    labelNames: ['how'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly peerAsk = new Histogram({
    name: 'larder_peer_ask_seconds',
    help: 'HEAD rounds to the peers before a miss (at most 8 peers each; rounds a shutdown ended are not counted), by outcome (held, none, budget: the budget ran out first)',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly peerServedBytes = new Counter({
    name: 'larder_peer_served_bytes_total',
    help: 'Bytes this daemon sent to LAN peers',
    registers: [this.registry],
  });

  readonly evictions = new Counter({
    name: 'larder_evictions_total',
    help: 'Blobs removed from the cache, by reason (evict, gc, operator, scrub)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly storageFull = new Counter({
    name: 'larder_storage_full_total',
    help: 'Misses that could not be stored because the disk was full (streamed through or refused)',
    registers: [this.registry],
  });
  readonly scrubCorrupt = new Counter({
    name: 'larder_scrub_corrupt_total',
    help: 'Blobs the scrub found not matching their digest',
    registers: [this.registry],
  });
  readonly pinLag = new Histogram({
    name: 'larder_pin_lag_seconds',
    help: 'Replication lag of pins, observed at each check',
    buckets: [0, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400],
    registers: [this.registry],
  });
  readonly s3Errors = new Counter({
    name: 'larder_s3_errors_total',
    help: 'S3 requests that failed (other than "not found"), by operation',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  /** Whether S3 answered its last health probe (set by the composition root when there is an S3 tier). */
  s3Up: (() => boolean) | undefined;
  readonly clusterDegraded = new Counter({
    name: 'larder_cluster_degraded_total',
    help: 'Cold misses filled without cross-node single-flight because etcd was unreachable',
    registers: [this.registry],
  });
  readonly clusterAdopted = new Counter({
    name: 'larder_cluster_adopted_total',
    help: 'Entries this node took from the shared index instead of fetching them upstream',
    registers: [this.registry],
  });
  readonly s3Evicted = new Counter({
    name: 'larder_s3_evicted_total',
    help: "Blobs this node removed from the shared S3 tier as the cluster's eviction leader",
    registers: [this.registry],
  });
  readonly s3EvictedBytes = new Counter({
    name: 'larder_s3_evicted_bytes_total',
    help: "Bytes this node removed from the shared S3 tier as the cluster's eviction leader",
    registers: [this.registry],
  });
  readonly s3EvictionSkipped = new Counter({
    name: 'larder_s3_eviction_skipped_total',
    help: 'S3-tier eviction passes not run: etcd could not confirm the leader or read the pin set, a pin closure was being warmed, or an entry object was unreadable',
    registers: [this.registry],
  });
  /** Cluster mode: whether etcd answered, this node's role and the registered nodes (set by the composition root). */
  cluster: (() => { etcdUp: boolean; role: string; nodes: number }) | undefined;
  private pinLagMax = 0;
  private pinsLagging = 0;
  private storageUsed = 0;
  private pinLagSource: (() => number[]) | undefined;

  /** Updates the pin lag gauges and histogram. */
  setPinLag(all: number[]): void {
    this.pinLagMax = Math.max(0, ...all);
    this.pinsLagging = all.filter((l) => l > 0).length;
    for (const l of all) this.pinLag.observe(l);
  }

  /** Lets the lag gauges read the current lags at scrape time (lag grows between checks). */
  setPinLagSource(source: () => number[]): void {
    this.pinLagSource = source;
  }

  private currentPinLags(): { max: number; lagging: number } {
    if (this.pinLagSource) {
      const all = this.pinLagSource();
      return { max: Math.max(0, ...all), lagging: all.filter((l) => l > 0).length };
    }
    return { max: this.pinLagMax, lagging: this.pinsLagging };
  }

  setStorageUsed(bytes: number): void {
    this.storageUsed = bytes;
  }

  /** Where the mirror-hierarchy gauges read from (set once by the composition root). */
  setEdgeSource(source: () => EdgeGauges): void {
    this.edge = source;
  }
  private edge: (() => EdgeGauges) | undefined;

  constructor(inflight: () => number) {
    registerGauges(this.registry, {
      pinLags: () => this.currentPinLags(),
      storageUsed: () => this.storageUsed,
      inflight,
      s3Up: () => this.s3Up?.(),
      cluster: () => this.cluster?.(),
      edge: () => this.edge?.(),
    });
  }

  /** Hooks for the cache core. */
  cacheEvents(): CacheEvents {
    return {
      fillFinished: (_key, outcome, bytes, ms) => {
        this.upstreamFetch.observe({ outcome }, ms / 1000);
        if (outcome === 'integrity') this.integrityFailures.inc();
        if (bytes > 0) this.upstreamBytes.inc(bytes);
      },
      staleServed: (_key, reason) => this.staleServes.inc({ reason }),
      upstreamBytes: (bytes) => this.upstreamBytes.inc(bytes),
      storageFull: () => this.storageFull.inc(),
    };
  }
}
