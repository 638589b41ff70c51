/**
 * The gauges Larder computes at scrape time (pin lag, storage, fetches in
 * flight, S3 and etcd health, the mirror hierarchy) and the process metrics,
 * on the Metrics registry. They read their values through `GaugeSources`,
 * which the Metrics class fills from what the composition root sets.
 */
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

/** Mirror-hierarchy values for the gauges; replication fields only on a child. */
export interface EdgeGauges {
  lagSeconds?: number;
  appliedSeq?: number;
  parentSeq?: number;
  connected?: boolean;
  feedSeq: number;
  children: number;
  childrenMaxLag: number;
}

/** What the scrape-time gauges read; undefined leaves a gauge absent. */
export interface GaugeSources {
  pinLags(): { max: number; lagging: number };
  storageUsed(): number;
  inflight(): number;
  s3Up(): boolean | undefined;
  cluster(): { etcdUp: boolean; role: string; nodes: number } | undefined;
  edge(): EdgeGauges | undefined;
}

export function registerGauges(registry: Registry, read: GaugeSources): void {
  new Gauge({
    name: 'larder_pin_lag_seconds_max',
    help: 'Largest replication lag of any pin',
    registers: [registry],
    collect() {
      this.set(read.pinLags().max);
    },
  });
  new Gauge({
    name: 'larder_pins_lagging',
    help: 'Pins whose upstream moved and that are not yet mirrored',
    registers: [registry],
    collect() {
      this.set(read.pinLags().lagging);
    },
  });
  new Gauge({
    name: 'larder_storage_used_bytes',
    help: 'Bytes of cached content on disk',
    registers: [registry],
    collect() {
      this.set(read.storageUsed());
    },
  });
  new Gauge({
    name: 'larder_inflight_fetches',
    help: 'Upstream fetches in flight (single-flight fills and revalidations)',
    registers: [registry],
    collect() {
      this.set(read.inflight());
    },
  });
  new Gauge({
    name: 'larder_s3_up',
    help: '1 when the shared S3 tier answered its last health probe (absent without storage.s3)',
    registers: [registry],
    collect() {
      const up = read.s3Up();
      if (up !== undefined) this.set(up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'larder_etcd_up',
    help: '1 when etcd answered its last health probe (absent without cluster)',
    registers: [registry],
    collect() {
      const c = read.cluster();
      if (c) this.set(c.etcdUp ? 1 : 0);
    },
  });
  new Gauge({
    name: 'larder_cluster_role',
    help: "This node's role in the cluster: leader (runs S3 eviction), member, or alone (etcd unreachable); 1 for the current one, absent without cluster",
    labelNames: ['role'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const c = read.cluster();
      if (c) this.set({ role: c.role }, 1);
    },
  });
  new Gauge({
    name: 'larder_cluster_nodes',
    help: 'Nodes registered in etcd at the last probe (absent without cluster)',
    registers: [registry],
    collect() {
      const c = read.cluster();
      if (c) this.set(c.nodes);
    },
  });
  const edgeGauge = (name: string, help: string, pick: (g: EdgeGauges) => number | undefined): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const e = read.edge();
        const v = e ? pick(e) : undefined;
        if (v !== undefined) this.set(v);
      },
    });
  };
  edgeGauge(
    'larder_replication_lag_seconds',
    'Seconds since the oldest parent pin change not yet applied here (0 = caught up)',
    (g) => g.lagSeconds,
  );
  edgeGauge('larder_replication_applied_seq', 'Last parent feed record applied here', (g) => g.appliedSeq);
  edgeGauge('larder_replication_parent_seq', 'Newest parent feed record known here', (g) => g.parentSeq);
  edgeGauge('larder_replication_connected', '1 when the last exchange with the parent feed succeeded', (g) =>
    g.connected === undefined ? undefined : g.connected ? 1 : 0,
  );
  edgeGauge('larder_feed_seq', "Sequence number of this daemon's newest pin change feed record", (g) => g.feedSeq);
  edgeGauge('larder_children', "Child daemons that poll this daemon's feed", (g) => g.children);
  edgeGauge('larder_children_max_lag_seconds', 'Largest replication lag of any child daemon', (g) => g.childrenMaxLag);
  collectDefaultMetrics({ register: registry, prefix: 'larder_process_' });
}
