/**
 * Part of the composition root: cluster mode (`cluster:` in the config,
 * with `storage.s3`). The node's index becomes a local cache of the shared
 * index in S3, cold misses take turns through etcd leases, the pin set
 * and its change feed (read by child daemons) live in etcd, the node elected through etcd evicts the S3 tier (with
 * `storage.s3.maxSize`), and etcd's health and this node's role feed
 * /readyz, /metrics and GET /cluster. Absent `cluster:`, nothing is built.
 */
import type { ClusterPorts } from '../core/cluster.js';
import type { BlobStore, IndexStore, TableStore } from '../core/ports.js';
import type { ClusterReport, ClusterSummary } from '../admin/contract.js';
import type { LoadedConfig } from '../config/load.js';
import { EvictionElection } from '../cluster/etcd-election.js';
import { EvictionNotices } from '../cluster/etcd-evicted.js';
import { EtcdFills } from '../cluster/etcd-fills.js';
import { EtcdFeedStore } from '../cluster/etcd-feed.js';
import { EtcdPinTable } from '../cluster/etcd-pins.js';
import { EtcdSession } from '../cluster/etcd-session.js';
import { clusterReport, roleOf } from '../cluster/report.js';
import { S3Eviction } from '../cluster/s3-eviction.js';
import { SharedIndexStore } from '../cluster/shared-index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { FeedEvent, FeedStore } from '../replication/feed-store.js';
import { pinnedKeys, type PinStore, type StoredPin } from '../pins/manager.js';
import { S3EntryStore } from '../storage/s3-entries.js';
import { S3Inventory } from '../storage/s3-inventory.js';
import { TieredBlobStore } from '../storage/tiered-blob-store.js';

export interface ClusterParts {
  /** The index the core uses: this node's, publishing to and adopting from the shared one. */
  index: IndexStore;
  ports: ClusterPorts;
  /** The cluster's pin set (etcd), mirrored in this node's pin table. */
  pins: PinStore;
  /** The cluster's pin change feed (etcd), and the id its pages carry. */
  feed: { store: FeedStore; id: string };
  report(): Promise<ClusterReport>;
  summary(): ClusterSummary;
  /** Drops this node's copies of a blob the cluster evicted from S3 and of its entries (set once the admin side exists). */
  dropLocal: ((digest: string, keys: string[]) => Promise<void>) | undefined;
  /** Whether this node is the elected one (it alone re-resolves pins and evicts the S3 tier). */
  leads(): boolean;
  /** Why the node is not ready because of etcd, or undefined. */
  reason(): string | undefined;
  /** Registers this node (its URL), follows the pin set, campaigns for S3 eviction and starts the health probe. */
  start(url: string): void;
  stop(): Promise<void>;
}

const SKIPPED = {
  etcd: 'S3-tier eviction skipped: etcd cannot confirm the leader or give the pin set',
  warming: "S3-tier eviction skipped: a pin's closure is being warmed",
  pins: 'S3-tier eviction stopped: a pin was written during the pass (the next pass reads the pin set again)',
  unreadable: 'S3-tier eviction skipped: an entry object of the shared index cannot be read (delete or fix it)',
} as const;

export function clusterSetup(
  cfg: LoadedConfig,
  d: { blobs: BlobStore; index: IndexStore & TableStore; daemonId: string; metrics: Metrics; log: Logger; s3Up(): boolean },
): ClusterParts | undefined {
  const c = cfg.cluster;
  const s3cfg = cfg.storage.s3;
  if (!c || !s3cfg) return undefined;
  if (!(d.blobs instanceof TieredBlobStore)) throw new Error('cluster mode needs the S3 blob tier');
  const { log, metrics } = d;
  const name = c.name;
  let url = '';
  const session = new EtcdSession({
    hosts: c.etcd,
    prefix: `/larder/${c.name}/`,
    node: d.daemonId,
    leaseTtlSec: Math.max(1, Math.round(c.leaseTtl / 1000)),
    describe: () => ({ url, s3: d.s3Up() ? 'up' : 'down' }),
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
  const pins = new EtcdPinTable(session, d.index.table<StoredPin>('pins'), {
    failed: (err) => log.warn({ err: (err as Error).message }, "cluster pin set: etcd read failed; this node's last copy stays in force"),
  });
  const feed = new EtcdFeedStore(session, {
    failed: (err) =>
      log.warn({ err: (err as Error).message }, "cluster pin feed: etcd read failed; children are served this node's last copy"),
  });
  const election = new EvictionElection(session, {
    onChange: (leader) =>
      log.info({ cluster: c.name, node: d.daemonId }, leader ? 'elected to evict the S3 tier' : 'no longer the S3 eviction leader'),
  });
  const parts: ClusterParts = {
    index,
    ports: { index, fills },
    pins,
    feed: { store: feed, id: `cluster:${c.name}` },
    dropLocal: undefined,
    report: () => clusterReport({ name: c.name, session, election, url: () => url, s3Up: d.s3Up, s3Budget }),
    summary: () => ({ name: c.name, role: roleOf(session, election), nodes: session.nodeCount, etcdUp: session.up, s3Up: d.s3Up() }),
    leads: () => election.elected,
    reason: () => session.reason(),
    start,
    stop,
  };
  const notices = new EvictionNotices(session, async (digest, keys) => {
    index.evicted(digest);
    await parts.dropLocal?.(digest, keys);
  });
  const inventory = new S3Inventory(d.blobs.remote.client, d.blobs.remote.bucket);
  const eviction =
    s3cfg.maxSize === undefined
      ? undefined
      : new S3Eviction({
          bucket: inventory,
          budget: { maxBytes: s3cfg.maxSize, high: cfg.storage.highWatermark, low: cfg.storage.lowWatermark },
          confirm: () => election.confirm(),
          leading: () => election.elected,
          confirmEveryMs: c.leaseTtl / 3,
          warming: () => pins.anyWarming(),
          pinnedKeys: async () => {
            const revision = await pins.sync();
            return { keys: pinnedKeys(pins.range()), revision };
          },
          pinsWrittenSince: (revision) => pins.writtenSince(revision),
          localAccess: (digest) => d.index.getBlob(digest)?.lastAccess,
          evicted: (digest, keys) => notices.publish(digest, keys),
          graceMs: s3cfg.evictionGrace ?? 60_000,
        });
  const s3Budget = eviction && s3cfg.maxSize !== undefined ? { maxBytes: s3cfg.maxSize, usedBytes: () => eviction.usedBytes } : undefined;
  metrics.cluster = () => ({ etcdUp: session.up, role: roleOf(session, election), nodes: session.nodeCount });

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let skipping: string | undefined;
  const evictOnce = async (): Promise<void> => {
    if (!eviction) return;
    try {
      const r = await eviction.pass();
      if (r.skipped && r.skipped !== 'member') {
        metrics.s3EvictionSkipped.inc();
        if (skipping !== r.skipped) log.warn({ cluster: c.name, unreadable: r.unreadable?.slice(0, 5) }, SKIPPED[r.skipped]);
      }
      skipping = r.skipped;
      if (r.removed) {
        metrics.s3Evicted.inc(r.removed);
        metrics.s3EvictedBytes.inc(r.bytes);
        log.info({ removed: r.removed, bytes: r.bytes, usedBytes: r.usedBytes }, 'S3 tier budget enforced for the cluster');
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, 'S3-tier eviction failed');
    }
  };

  function start(u: string): void {
    url = u;
    session.start();
    // Once the pin set is read (and seeded), a new cluster's feed starts with the pins it has.
    void Promise.all([pins.start(), feed.start()])
      .then(() => feed.seed(seedEvents(pins.range())))
      .then((n) => n && log.info({ pins: n }, 'cluster pin feed started with the pins the cluster has'))
      .catch((err: Error) => log.warn({ err: err.message }, 'cluster pin feed: cannot record the existing pins'));
    notices.start();
    election.start();
    if (eviction) {
      const tick = (): void => {
        if (running) return;
        running = evictOnce().finally(() => {
          running = undefined;
        });
      };
      timer = setInterval(tick, cfg.storage.checkInterval);
      timer.unref();
    }
    log.info({ cluster: name, node: d.daemonId }, 'cluster mode: joined');
  }

  async function stop(): Promise<void> {
    clearInterval(timer);
    await running;
    await election.stop();
    await Promise.all([pins.stop(), feed.stop(), notices.stop()]);
    await session.stop();
  }

  return parts;
}

function* seedEvents(pins: Iterable<[string, StoredPin]>): Iterable<FeedEvent> {
  for (const [, p] of pins) yield { kind: 'add', ref: p.ref, ...(p.resolved !== undefined ? { resolved: p.resolved } : {}) };
}
