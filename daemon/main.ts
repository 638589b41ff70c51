/**
 * The composition root: the only module that knows the concrete classes.
 * config → storage → cache core → upstreams → adapters → HTTP; shutdown in
 * the reverse order (HTTP, fills, index), leaving a consistent store.
 */
import { LarderError } from './core/errors.js';
import { listenAddress, type LoadedConfig } from './config/load.js';
import { isLoopback } from './config/units.js';
import { accessCheck } from './http/access.js';
import { createApp } from './http/app.js';
import { defaultUiDir, serveUi } from './http/ui-static.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics/registry.js';
import { buildAdmin, type Admin } from './compose/admin.js';
import { buildCore, type CoreParts } from './compose/core.js';
import { edgeSetup } from './compose/edge.js';
import { buildProtocols } from './compose/protocols.js';
import { peerSetup } from './compose/peers.js';
import { listen } from './compose/listen.js';
import { buildRemotes, upstreamClient } from './compose/remotes.js';
import { openStorage } from './compose/storage.js';
import { loadDaemonId } from './storage/daemon-id.js';
import { buildPolicy, buildPolicyAdmin } from './compose/policy.js';
import { watchBlocklist } from './compose/policy-watch.js';
import type { CacheState } from './core/types.js';
import { OrphanScan, type RecoveryReport } from './storage/recovery.js';

export interface DaemonOptions {
  log?: Logger;
}

export interface RunningDaemon {
  url: string;
  port: number;
  recovery: RecoveryReport;
  /** The same report once the background scan for orphan blob files is done. */
  recovered: Promise<RecoveryReport>;
  stop(): Promise<void>;
  /** A fresh one-time dashboard login link. */
  loginLink(): string;
  tokenFile: string;
}

export async function startDaemon(cfg: LoadedConfig, opts: DaemonOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? createLogger(cfg.log.level);
  const { host, port } = listenAddress(cfg);
  if (!isLoopback(host) && !cfg.admin.token) {
    throw new LarderError('E_CONFIG', `config: listen: refusing to bind ${host} (not loopback) without admin.token set`);
  }
  const storage = await openStorage(cfg);
  const { paths, blobs, index, startedAt, recovery } = storage;

  let offline = cfg.offline;
  let core: CoreParts | undefined;
  const metrics = new Metrics(() => (core?.blobCache.inflight ?? 0) + (core?.documents.inflight ?? 0));
  const clock = { now: () => Date.now() };
  const s3 = storage.s3Monitor((op) => metrics.s3Errors.inc({ op }));
  if (s3) metrics.s3Up = () => s3.up;
  let admin: Admin | undefined;
  const peers = await peerSetup(cfg, { index, blobs, metrics, log });
  // Loaded only in cluster mode, as the S3 tier is: etcd3, gRPC and the AWS SDK stay out of a single daemon.
  const cluster = cfg.cluster
    ? (await import('./compose/cluster.js')).clusterSetup(cfg, {
        blobs,
        index,
        daemonId: await loadDaemonId(paths),
        metrics,
        log,
        s3Up: () => s3?.up ?? true,
      })
    : undefined;
  core = buildCore(cfg, {
    blobs,
    // In cluster mode the core's index publishes to, and adopts from, the shared one.
    index: cluster?.index ?? index,
    cluster: cluster?.ports,
    peers,
    metrics,
    clock,
    log,
    admin: () => admin,
  });
  const { deps, access, blobCache, documents, httpCache } = core;

  const client = upstreamClient();
  const edge = await edgeSetup(cfg, paths, client);
  const remotes = buildRemotes(cfg, client, {
    isOffline: () => offline,
    observe: (name) => (ok, detail) => admin?.stats.observeRemote(name, ok, detail),
    parent: edge.parentLink,
    hop: edge.hop,
  });

  let publicUrl = cfg.publicUrl?.replace(/\/+$/, '') ?? '';
  const policy = buildPolicy(cfg.policy, clock, log);
  policy.onCount = (remote, reason) => metrics.policyRequests.inc({ remote, reason });
  const protocols = buildProtocols(cfg, {
    remotes,
    documents,
    blobs: blobCache,
    httpCache,
    clock,
    policy,
    publicUrl: () => publicUrl,
    indexed: (key) => index.getEntry(key) !== undefined,
  });
  const policyAdmin = buildPolicyAdmin(policy, cfg.policy, {
    instances: protocols.instances,
    index,
    blobs,
    hot: deps.hot,
    onQuarantine: async (q) => {
      log.warn({ key: q.key, digest: q.digest, id: q.id }, 'policy: blocked artifact quarantined');
      await admin?.audit.append({ action: 'delete', actor: 'daemon', target: q.key, reason: `policy: blocked by ${q.id}, quarantined` });
    },
  });
  admin = await buildAdmin({
    // With the S3 tier, this disk is its local tier: eviction keeps it within storage.localCache.
    cfg: cfg.storage.s3 ? { ...cfg, storage: { ...cfg.storage, maxSize: cfg.storage.localCache } } : cfg,
    paths,
    index,
    blobs,
    hot: deps.hot,
    metrics,
    log,
    warmers: protocols.warmers,
    remotes: [...remotes.values()].map((r) => ({
      name: r.name,
      type: r.settings.config.type,
      url: r.settings.config.url,
      offline: () => r.offline,
    })),
    repair: protocols.repair,
    flushAccess: () => access.flush(),
    settleWrites: async () => {
      await Promise.all([documents.drain(), httpCache.drain(), blobCache.drain()]);
    },
    isOffline: () => offline,
    setOffline: (v) => {
      offline = v;
    },
    publicUrl: () => publicUrl,
    edge: edge.options,
    policy: policyAdmin.admin,
    peers,
    ...(cluster ? { cluster } : {}),
  });
  if (cluster) {
    // A blob the cluster's eviction removed from S3: this node forgets its copy and the entries that need it.
    const maintenance = admin.maintenance;
    cluster.dropLocal = async (digest, keys) => {
      const local = keys.filter((k) => index.getEntry(k) !== undefined);
      if (local.length || index.getBlob(digest)) await maintenance.removeBlob(digest, local, 'evict');
    };
  }
  policy.pinnedBy = (ref) => admin?.pins.byRef(ref) !== undefined;
  const adminParts = admin;
  let ready = false;
  const app = createApp({
    mounts: protocols.mounts,
    rootRoutes: protocols.rootRoutes,
    metrics,
    log,
    ready: () => ready,
    notReady: () => [s3?.reason(), cluster?.reason()].filter(Boolean).join('; ') || undefined,
    observe: (r) => {
      adminParts.stats.record(r.cache === 'NONE' ? undefined : (r.cache as CacheState), r.bytes, r.fromCache);
      adminParts.events.request(r);
    },
    extra: [peers.routes, adminParts.routes, (ctx) => serveUi(ctx, defaultUiDir())],
    hop: edge.hop,
    // The admin token and every scoped token are this daemon's own: never handed to an adapter, so never forwarded.
    isOwnCredential: (authorization) => adminParts.auth.identify(authorization) !== undefined,
    access: accessCheck(cfg.access, (h) => adminParts.auth.identify(h)),
    hostCheck: { listenHost: host, publicUrl: () => publicUrl },
    body: { maxBytes: cfg.limits.maxBody, memory: deps.memory },
  });

  const { listening, url, port: boundPort } = await listen(app.callback(), cfg, { host, port }, log);
  const server = listening.server;
  if (!publicUrl) publicUrl = url;
  ready = true;
  cluster?.start(publicUrl);
  adminParts.start();
  peers.start({ daemonId: await loadDaemonId(paths), port: boundPort, scheme: listening.scheme });
  const orphans = new OrphanScan(blobs, index, recovery, {
    before: startedAt,
    onOrphan: () => metrics.evictions.inc({ reason: 'orphan' }),
  });
  orphans.done.then(
    (r) => log.info({ dataDir: cfg.dataDir, ...r }, 'store reconciled'),
    (err: Error) => log.error({ err: err.message }, 'orphan blob scan failed'),
  );
  const quarantined = policyAdmin.sweep().then(
    (q) => q.length && log.info({ artifacts: q.length }, 'policy: cached blocked artifacts quarantined'),
    (err: Error) => log.error({ err: err.message }, 'policy quarantine failed'),
  );
  const osv = cfg.policy.blocklist.osv;
  const osvWatch =
    osv && cfg.policy.blocklist.watch
      ? watchBlocklist(osv, cfg.policy.blocklist.ids, policy.blocklist, log, () => quarantined.then(() => policyAdmin.sweep()))
      : undefined;
  await osvWatch?.ready;
  log.info({ url, publicUrl }, 'larder listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      offline = true;
      s3?.stop();
      await osvWatch?.close();
      await adminParts.stop();
      await peers.stop();
      await listening.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      documents.abortAll();
      await Promise.race([documents.drain(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await Promise.race([httpCache.drain(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      httpCache.abortAll();
      await Promise.race([blobCache.drain(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      blobCache.abortAll();
      await access.flush().catch(() => undefined); // a full disk only loses access times
      await quarantined;
      await orphans.stop();
      await cluster?.stop();
      await index.close();
      log.info('larder stopped');
      log.flush();
    })();
    return stopping;
  };
  return {
    url,
    port: boundPort,
    recovery,
    recovered: orphans.done,
    stop,
    loginLink: () => `${publicUrl}/_/ui/login?t=${adminParts.auth.newLink()}`,
    tokenFile: paths.adminToken,
  };
}
