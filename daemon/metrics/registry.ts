/**
 * Every Prometheus metric Larder exports, on an injected registry (no
 * globals). Labels are bounded: protocol names, cache states, status classes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheEvents } from '../core/ports.js';

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

  constructor(inflight: () => number) {
    new Gauge({
      name: 'larder_inflight_fetches',
      help: 'Upstream fetches in flight (single-flight fills and revalidations)',
      registers: [this.registry],
      collect() {
        this.set(inflight());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'larder_process_' });
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
    };
  }
}
