/**
 * Part of the composition root: the mirror-hierarchy and air-gap side of a
 * daemon (pin change feed, children, replication from a parent, bundle
 * export and import), wired to the pins, the store and the warmers.
 */
import type { AuditLog } from '../admin/audit.js';
import { hopName } from '../core/hops.js';
import type { BlobStore, UpstreamClient } from '../core/ports.js';
import type { Warmer } from '../core/warm.js';
import { edgeRoutes } from '../http/edge-routes.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { PinManager } from '../pins/manager.js';
import { ChildRegistry } from '../replication/children.js';
import type { PinFeed } from '../replication/feed.js';
import { ReplicationSync, type FeedSource, type SyncState } from '../replication/sync.js';
import type { LmdbIndex } from '../storage/lmdb-index.js';
import type { LoadedConfig } from '../config/load.js';
import { loadDaemonId } from '../storage/daemon-id.js';
import type { DataPaths } from '../storage/paths.js';
import { ParentFeedClient } from '../upstream/parent-feed.js';
import type { ParentLink } from '../upstream/parent-route.js';
import { PROTOCOLS } from '../protocols/registry.js';

/** The document TTL of a remote without `ttl` (as main.ts uses), and of keys of unknown remotes in a bundle. */
const DEFAULT_DOC_TTL_MS = 5 * 60_000;

/** What main.ts supplies for the hierarchy. */
export interface EdgeOptions {
  daemonId: string;
  /** Set when the config has a parent. */
  parent?: { url: string; feed: FeedSource };
  /** Names of the configured remotes (bundle import reports others). */
  remoteNames: string[];
  /** Bundle signing: the data dir (its key), trusted keys, and each remote's document TTL (ms) for clamping imports. */
  bundles?: { dataDir: string; trustedKeys: string[]; ttls: Record<string, number> };
}

export interface EdgeParts extends EdgeOptions {
  /** Whose feed it is (the pages' `daemon`): this daemon's id, or `cluster:<name>`. */
  feedId?: string;
  index: LmdbIndex;
  blobs: BlobStore;
  warmers: Map<string, Warmer>;
  feed: PinFeed;
  pins: PinManager;
  audit: AuditLog;
  log: Logger;
  metrics: Metrics;
  publicUrl(): string;
  /** Does the writes put off behind answers now (an export reads the index right after warming). */
  settleWrites?(): Promise<void>;
}

/**
 * The daemon id (created at first start), its `Via` name, the parent link
 * every remote resolves through, and the options of {@link buildEdge}.
 */
export async function edgeSetup(
  cfg: LoadedConfig,
  paths: DataPaths,
  client: UpstreamClient,
): Promise<{ hop: string; parentLink?: ParentLink; options: EdgeOptions }> {
  const daemonId = await loadDaemonId(paths);
  const hop = hopName(daemonId);
  const ttls = Object.fromEntries(Object.entries(cfg.remotes).map(([name, r]) => [name, r.ttl ?? DEFAULT_DOC_TTL_MS]));
  const bundles = { dataDir: cfg.dataDir, trustedKeys: cfg.bundles.trustedKeys, ttls };
  const options: EdgeOptions = { daemonId, remoteNames: Object.keys(cfg.remotes), bundles };
  if (!cfg.parent) return { hop, options };
  const base = new URL(cfg.parent.url.endsWith('/') ? cfg.parent.url : `${cfg.parent.url}/`);
  const authorization = cfg.parent.token ? `Bearer ${cfg.parent.token}` : undefined;
  const kinds = PROTOCOLS.flatMap((p) => p.remotes);
  const parentLink: ParentLink = { base, fallback: cfg.parent.fallback, kinds, ...(authorization ? { authorization } : {}) };
  const feed = new ParentFeedClient({
    client,
    parent: base,
    hop,
    child: cfg.parent.id ?? daemonId,
    ...(authorization ? { authorization } : {}),
  });
  options.parent = { url: base.toString(), feed };
  return { hop, parentLink, options };
}

export function buildEdge(p: EdgeParts) {
  const { index, feed, pins, log } = p;
  const children = new ChildRegistry(index.table('children'), feed);
  const sync = p.parent
    ? new ReplicationSync({
        parentUrl: p.parent.url,
        feed: p.parent.feed,
        pins,
        state: index.table<SyncState>('replication'),
        log,
      })
    : undefined;
  const b = p.bundles;
  const exportDeps = {
    index,
    blobs: p.blobs,
    warmers: p.warmers,
    pins,
    daemonId: p.daemonId,
    publicUrl: p.publicUrl,
    ...(p.settleWrites ? { settle: p.settleWrites } : {}),
    signingKey: async () => {
      const { loadSigningKey } = await import('../bundle/signing.js');
      if (!b) throw new Error('bundle signing is not configured');
      return (await loadSigningKey(b.dataDir, true))!;
    },
  };
  const routes = edgeRoutes({
    daemonId: p.daemonId,
    feedId: p.feedId ?? p.daemonId,
    feed,
    children,
    audit: p.audit,
    // Bundles (and the lockfile parsers export uses) load on the first export or import.
    exportBundle: async (req, signal) => {
      const { planExport, writeBundle } = await import('../bundle/export.js');
      const plan = await planExport(exportDeps, req, signal);
      return { stream: writeBundle(exportDeps, plan), length: plan.length, blobs: plan.manifest.blobs.length };
    },
    bundleKey: async () => (await exportDeps.signingKey()).publicKey,
    importBundle: async (source, opts) => {
      const { importBundle } = await import('../bundle/import.js');
      const ttlOf = (remote: string): number => b?.ttls[remote] ?? DEFAULT_DOC_TTL_MS;
      const check = { trustedKeys: b?.trustedKeys ?? [], allowUnsigned: opts.allowUnsigned };
      return importBundle({ index, blobs: p.blobs, pins, remotes: new Set(p.remoteNames), ttlOf }, source, check);
    },
  });
  p.metrics.setEdgeSource(() => {
    const r = sync?.status();
    const kids = children.list();
    return {
      ...(r ? { lagSeconds: r.lagSeconds, appliedSeq: r.appliedSeq, parentSeq: r.parentSeq, connected: r.connected } : {}),
      feedSeq: feed.head,
      children: kids.length,
      childrenMaxLag: Math.max(0, ...kids.map((k) => k.lagSeconds)),
    };
  });
  return {
    children,
    sync,
    routes,
    service: { replication: () => sync?.status(), children: () => children.list(), feedSeq: () => feed.head },
    start(): void {
      sync?.start();
      if (p.parent) log.info({ parent: p.parent.url }, 'replicating pins from the parent');
    },
    async stop(): Promise<void> {
      feed.close();
      // A closure being fetched is not waited for: the record stays unapplied and is retried after a restart.
      await Promise.race([sync?.stop(), new Promise((r) => setTimeout(r, 2_000).unref())]);
    },
  };
}

export type Edge = ReturnType<typeof buildEdge>;
