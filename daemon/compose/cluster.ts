/**
 * Part of the composition root: cluster mode (`cluster:` in the config,
 * with `storage.s3`). The node's index becomes a local cache of the shared
 * index in S3, cold misses take turns through etcd leases, and etcd's
 * health feeds /readyz and /metrics. Absent `cluster:`, nothing is built.
 */
import type { ClusterPorts } from '../core/cluster.js';
import type { BlobStore, IndexStore } from '../core/ports.js';
import type { LoadedConfig } from '../config/load.js';
import { EtcdFills } from '../cluster/etcd-fills.js';
import { EtcdSession } from '../cluster/etcd-session.js';
import { SharedIndexStore } from '../cluster/shared-index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { S3EntryStore } from '../storage/s3-entries.js';
import { TieredBlobStore } from '../storage/tiered-blob-store.js';

export interface ClusterParts {
  /** The index the core uses: this node's, publishing to and adopting from the shared one. */
  index: IndexStore;
  ports: ClusterPorts;
  /** Why the node is not ready because of etcd, or undefined. */
  reason(): string | undefined;
  /** Registers this node (its URL) and starts the health probe. */
  start(url: string): void;
  stop(): Promise<void>;
}

export function clusterSetup(
  cfg: LoadedConfig,
  d: { blobs: BlobStore; index: IndexStore; daemonId: string; metrics: Metrics; log: Logger },
): ClusterParts | undefined {
  const c = cfg.cluster;
  if (!c) return undefined;
  if (!(d.blobs instanceof TieredBlobStore)) throw new Error('cluster mode needs the S3 blob tier');
  const { log, metrics } = d;
  let url = '';
  const session = new EtcdSession({
    hosts: c.etcd,
    prefix: `/larder/${c.name}/`,
    node: d.daemonId,
    leaseTtlSec: Math.max(1, Math.round(c.leaseTtl / 1000)),
    describe: () => ({ url }),
    onState: (up, reason) => {
      if (up) log.info({ cluster: c.name }, 'etcd reachable again: cross-node single-flight resumes');
      else log.warn({ cluster: c.name, reason }, 'etcd unreachable: cold misses are filled per node until it is back');
    },
  });
  const entries = new S3EntryStore(d.blobs.remote.client, d.blobs.remote.bucket);
  const index = new SharedIndexStore(d.index, entries, {
    failed: (op, err) => log.warn({ op, err: (err as Error).message }, 'shared index: S3 request failed'),
    adopted: () => metrics.clusterAdopted.inc(),
  });
  const fills = new EtcdFills(session, {
    degraded: (err) => {
      metrics.clusterDegraded.inc();
      log.debug({ err: (err as Error).message }, 'cold miss filled without cluster coordination');
    },
  });
  metrics.cluster = () => ({ etcdUp: session.up, role: session.up ? 'member' : 'alone', nodes: session.nodeCount });
  return {
    index,
    ports: { index, fills },
    reason: () => session.reason(),
    start(u: string): void {
      url = u;
      session.start();
      log.info({ cluster: c.name, node: d.daemonId }, 'cluster mode: joined');
    },
    stop: () => session.stop(),
  };
}
