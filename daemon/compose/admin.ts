/**
 * Part of the composition root: builds the operator side (admin API, audit,
 * live events, stats, pins, pre-warm jobs, budget enforcement, scrub) from
 * the concrete storage and the protocol warmers.
 */
import { dirname, join } from 'node:path';
import { AdminAuth, type AuthState } from '../admin/auth.js';
import { type StoredToken, TokenStore } from '../admin/tokens.js';
import { AuditLog } from '../admin/audit.js';
import type { AuditRecord, ClusterReport, ClusterSummary, FeedRecord, PeersReport, PeersSummary } from '../admin/contract.js';
import { EventBus } from '../admin/events.js';
import type { PolicyAdmin } from '../admin/policy.js';
import { AdminService } from '../admin/service.js';
import { StatsTracker } from '../admin/stats.js';
import type { Budget } from '../core/eviction.js';
import type { BlobStore, HotCache } from '../core/ports.js';
import type { Entry } from '../core/types.js';
import type { Warmer } from '../core/warm.js';
import type { LoadedConfig } from '../config/load.js';
import { adminRoutes } from '../http/admin-routes.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { localPinStore, PinManager, type PinStore, type StoredPin } from '../pins/manager.js';
import { PrewarmRunner } from '../prewarm/runner.js';
import { watchLockfiles, watchPinFile, type Watcher } from '../prewarm/watch.js';
import type { LmdbIndex } from '../storage/lmdb-index.js';
import type { DataPaths } from '../storage/paths.js';
import { PinFeed } from '../replication/feed.js';
import type { FeedStore } from '../replication/feed-store.js';
import { buildEdge, type EdgeOptions } from './edge.js';
import { buildUpkeep } from './upkeep.js';
import { redactDeep } from '../core/redact.js';

export interface AdminParts {
  cfg: LoadedConfig;
  paths: DataPaths;
  index: LmdbIndex;
  blobs: BlobStore;
  hot: HotCache;
  metrics: Metrics;
  log: Logger;
  warmers: Map<string, Warmer>;
  remotes: Array<{ name: string; type: string; url: string; offline(): boolean }>;
  /** Re-fetches an entry (scrub repair); resolves true when repaired. */
  repair(entry: Entry): Promise<boolean>;
  /** Writes batched access times now (before eviction picks the least recently used). */
  flushAccess?(): Promise<void>;
  /** Does the writes put off behind answers now (core/write-behind.ts), so that the index lists what was answered. */
  settleWrites?(): Promise<void>;
  isOffline(): boolean;
  setOffline(v: boolean): void;
  publicUrl(): string;
  /** Mirror hierarchy and bundles (daemon id, parent feed). */
  edge: EdgeOptions;
  /** The policy endpoints (status, explain). */
  policy?: PolicyAdmin;
  /** LAN peers: GET /peers and the peers line of /stats. */
  peers?: { report(): PeersReport; summary(): PeersSummary | undefined };
  /**
   * Cluster mode: the pin set and the pin feed shared by the nodes (etcd), whether this node leads
   * (it alone re-checks pins), GET /cluster and its /stats line.
   */
  cluster?: {
    pins: PinStore;
    feed: { store: FeedStore; id: string };
    leads(): boolean;
    report(): Promise<ClusterReport>;
    summary(): ClusterSummary;
  };
}

const SECRET_KEYS = new Set(['password', 'token', 'accessKey', 'secretKey']);

/** The config as the admin API's /config shows it: every secret replaced by `[redacted]`. */
export function redact(cfg: LoadedConfig): unknown {
  return redactDeep(
    JSON.parse(JSON.stringify(cfg, (k, v: unknown) => (SECRET_KEYS.has(k) && typeof v === 'string' ? '[redacted]' : v))) as unknown,
  );
}

export async function buildAdmin(p: AdminParts) {
  const { cfg, index, metrics, log } = p;
  const stats = new StatsTracker();
  const events = new EventBus();
  const audit = new AuditLog(index.table<AuditRecord>('audit'));
  const tokens = new TokenStore(index.table<StoredToken>('tokens'));
  const auth = new AdminAuth(p.paths.adminToken, cfg.admin.token, tokens, index.table<AuthState>('auth-state'));
  await auth.init();
  if (auth.configTokenSuperseded)
    log.warn(
      { tokenFile: p.paths.adminToken },
      'admin.token in the config was rotated; the rotated token (in the token file) stays in force',
    );
  const budget: Budget = { maxBytes: cfg.storage.maxSize, high: cfg.storage.highWatermark, low: cfg.storage.lowWatermark };

  // Cluster mode: one feed for all nodes, in etcd; a change is appended by the node that made it.
  const feed = new PinFeed(p.cluster?.feed.store ?? index.table<FeedRecord>('feed'));
  const pins = new PinManager({
    onEvent: (e) =>
      void feed.append(e).catch((err: Error) => log.error({ err: err.message, kind: e.kind, ref: e.ref }, 'pin feed append failed')),
    table: p.cluster?.pins ?? localPinStore(index.table<StoredPin>('pins')),
    ...(p.cluster ? { checks: p.cluster.leads } : {}),
    warmers: p.warmers,
    intervalMs: cfg.pins.interval,
    onChange: (pin) => {
      if ('removed' in pin) events.publish({ type: 'pin-removed', data: { id: pin.id } });
      else events.publish({ type: 'pin', data: pin });
      metrics.setPinLag(pins.lag().all);
    },
    onAudit: async (action, target, actor) => void (await audit.append({ action, target, actor: actor ?? 'daemon' })),
  });
  metrics.setPinLagSource(() => pins.lag().all);
  const edge = buildEdge({
    ...p.edge,
    ...(p.cluster ? { feedId: p.cluster.feed.id } : {}),
    index,
    blobs: p.blobs,
    warmers: p.warmers,
    feed,
    pins,
    audit,
    log,
    metrics,
    publicUrl: p.publicUrl,
    ...(p.settleWrites ? { settleWrites: p.settleWrites } : {}),
  });
  const { maintenance, keeper, scrubber, enforce, enforcing } = buildUpkeep({
    cfg,
    index,
    blobs: p.blobs,
    hot: p.hot,
    metrics,
    log,
    audit,
    events,
    pins,
    budget,
    repair: p.repair,
    flushAccess: p.flushAccess,
    evicted: (bytes) => {
      service.evictions = { count: service.evictions.count + 1, bytes: service.evictions.bytes + bytes };
    },
  });
  const runner = new PrewarmRunner({
    warmers: p.warmers,
    concurrency: cfg.prewarm.concurrency,
    retries: cfg.prewarm.retries,
    backoffMs: 500,
    onUpdate: (job) => events.publish({ type: 'job', data: job }),
  });
  const service = new AdminService({
    index,
    stats,
    events,
    audit,
    auth,
    pins,
    runner,
    maintenance,
    scrubber,
    budget,
    lagThresholdSeconds: cfg.pins.lagThreshold / 1000,
    remotes: p.remotes,
    isOffline: p.isOffline,
    setOffline: p.setOffline,
    redactedConfig: () => redact(cfg),
    loginUrl: (s) => `${p.publicUrl()}/_/ui/login?t=${s}`,
    edge: edge.service,
    ...(p.peers ? { peers: p.peers.summary } : {}),
    ...(p.cluster ? { cluster: p.cluster.summary } : {}),
  });
  const routes = adminRoutes({
    auth,
    tokens,
    service,
    events,
    audit,
    pins,
    runner,
    scrubber,
    maintenance,
    redactedConfig: () => redact(cfg),
    setOffline: p.setOffline,
    isOffline: p.isOffline,
    loginUrl: (s) => `${p.publicUrl()}/_/ui/login?t=${s}`,
    more: edge.routes,
    ...(p.policy ? { policy: p.policy } : {}),
    ...(p.peers ? { peers: p.peers.report } : {}),
    ...(p.cluster ? { cluster: p.cluster.report } : {}),
  });

  const timers: NodeJS.Timeout[] = [];
  const watchers: Watcher[] = [];

  return {
    routes,
    tokens,
    stats,
    events,
    audit,
    auth,
    pins,
    runner,
    service,
    maintenance,
    scrubber,
    enforce,
    keeper,
    edge,
    start(): void {
      pins.start();
      edge.start();
      timers.push(setInterval(() => void enforce(), cfg.storage.checkInterval));
      timers.push(
        setInterval(() => {
          events.publish({ type: 'stats', data: service.stats() });
          metrics.setPinLag(pins.lag().all);
        }, 2_000),
      );
      if (cfg.storage.scrubInterval > 0)
        timers.push(setInterval(() => void scrubber.run().catch(() => undefined), cfg.storage.scrubInterval));
      for (const t of timers) t.unref();
      if (cfg.prewarm.watch.length) {
        const warm = (name: string, content: string): void =>
          void service
            .startJob({ files: [{ name, content }], deps: false }, 'watch')
            .catch((err: Error) => log.warn({ path: name, err: err.message }, 'cannot pre-warm watched file'));
        watchers.push(watchLockfiles(cfg.prewarm.watch, warm, log));
      }
      const pinFile =
        cfg.pins.file ?? (cfg.source.endsWith('.yaml') || cfg.source.endsWith('.yml') ? join(dirname(cfg.source), 'pins.txt') : undefined);
      if (pinFile) watchers.push(watchPinFile(pinFile, (refs) => pins.syncFile(refs), log));
      void enforce();
    },
    /** Stops timers and watchers, cancels jobs, and waits for maintenance in flight (before the index closes). */
    async stop(): Promise<void> {
      for (const t of timers) clearInterval(t);
      for (const job of runner.list()) if (job.state === 'running' || job.state === 'queued') runner.cancel(job.id);
      await Promise.all([pins.stop(), scrubber.stop(), enforcing(), keeper.stop(), edge.stop(), ...watchers.map((w) => w.close())]);
    },
  };
}

export type Admin = Awaited<ReturnType<typeof buildAdmin>>;
