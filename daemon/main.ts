/**
 * The composition root: the only module that knows the concrete classes.
 * config → storage → cache core → upstreams → adapters → HTTP; shutdown in
 * the reverse order (HTTP, fills, index), leaving a consistent store.
 */
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { BlobCache } from './core/blob-cache.js';
import { AccessTracker, type CoreDeps } from './core/deps.js';
import { DocumentCache } from './core/document-cache.js';
import { HttpCache } from './core/http-cache.js';
import { LarderError } from './core/errors.js';
import { StorageGuard } from './core/storage-guard.js';
import { listenAddress, type LoadedConfig } from './config/load.js';
import { isLoopback } from './config/units.js';
import { accessCheck } from './http/access.js';
import { createApp } from './http/app.js';
import { applyServerLimits } from './http/server-limits.js';
import { createListeningServer, tlsFiles } from './http/tls.js';
import { MemoryBudget } from './core/memory-budget.js';
import { defaultUiDir, serveUi } from './http/ui-static.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics/registry.js';
import { buildAdmin, type Admin } from './compose/admin.js';
import { edgeSetup } from './compose/edge.js';
import { buildProtocols } from './compose/protocols.js';
import { peerSetup } from './compose/peers.js';
import { loadDaemonId } from './storage/daemon-id.js';
import { buildPolicy, buildPolicyAdmin } from './compose/policy.js';
import { watchBlocklist } from './compose/policy-watch.js';
import type { CacheState } from './core/types.js';
import { FsBlobStore } from './storage/fs-blob-store.js';
import { LruHotCache } from './storage/hot-cache.js';
import { LmdbIndex } from './storage/lmdb-index.js';
import { DataPaths } from './storage/paths.js';
import { DiskSpace, FreeSpace, indexReserve } from './storage/disk-space.js';
import { WriteBehind } from './core/write-behind.js';
import { OrphanScan, sweepAtStart, type RecoveryReport } from './storage/recovery.js';
import { GotUpstreamClient } from './upstream/client.js';
import { Remote } from './upstream/remote.js';

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

const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_NEGATIVE_TTL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;

export async function startDaemon(cfg: LoadedConfig, opts: DaemonOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? createLogger(cfg.log.level);
  const { host, port } = listenAddress(cfg);
  if (!isLoopback(host) && !cfg.admin.token) {
    throw new LarderError('E_CONFIG', `config: listen: refusing to bind ${host} (not loopback) without admin.token set`);
  }
  const paths = new DataPaths(cfg.dataDir);
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  const freeSpace = new FreeSpace(cfg.dataDir);
  const local = new FsBlobStore(paths, freeSpace);
  await local.init();
  // The S3 tier (and the AWS SDK, several MiB of heap) is loaded only when it is configured.
  const s3Setup = cfg.storage.s3 ? await import('./storage/tiered-setup.js') : undefined;
  const blobs = s3Setup && cfg.storage.s3 ? await s3Setup.tieredStore(local, cfg.storage.s3, cfg.dataDir) : local;
  const space = new DiskSpace(freeSpace, indexReserve(cfg.storage.minFree));
  const index = new LmdbIndex(paths.indexDir, { beforeWrite: (kind) => space.beforeIndexWrite(kind) });
  const startedAt = Date.now();
  const recovery = await sweepAtStart(blobs);

  let offline = cfg.offline;
  let blobCache: BlobCache | undefined;
  let documents: DocumentCache | undefined;
  const metrics = new Metrics(() => (blobCache?.inflight ?? 0) + (documents?.inflight ?? 0));
  const clock = { now: () => Date.now() };
  const metricEvents = metrics.cacheEvents();
  const s3 = s3Setup?.s3Monitor(blobs, (op) => metrics.s3Errors.inc({ op }));
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
  const deps: CoreDeps = {
    blobs,
    // In cluster mode the core's index publishes to, and adopts from, the shared one.
    index: cluster?.index ?? index,
    cluster: cluster?.ports,
    peers: peers.source,
    hot: new LruHotCache(cfg.storage.memoryCache),
    clock,
    events: {
      fillFinished: (key, outcome, bytes, ms) => {
        metricEvents.fillFinished?.(key, outcome, bytes, ms);
        if (outcome === 'ok') peers.filled();
        if (outcome === 'integrity' && admin) {
          admin.stats.integrityFailures++;
          admin.events.activity('integrity', `integrity failure: ${key.slice(0, 200)} did not match its digest; nothing was stored`);
        }
      },
      staleServed: (key, reason) => {
        metricEvents.staleServed?.(key, reason);
        admin?.stats.staleServed(key.split(':')[1]);
        admin?.events.activity('stale', `served stale ${key.slice(0, 200)} (${reason})`);
      },
      upstreamBytes: (n) => metricEvents.upstreamBytes?.(n),
      blobCommitted: (entry) => peers.committed(entry),
      storageFull: (key) => {
        metricEvents.storageFull?.(key);
        log.warn(
          { key: key.slice(0, 200) },
          'disk full: not stored (streamed through, or the transfer failed); free space or lower storage.maxSize',
        );
        admin?.events.activity('error', `disk full: ${key.slice(0, 200)} was not stored`);
      },
    },
    hotMaxBody: Math.min(4 * 1024 * 1024, Math.floor(cfg.storage.memoryCache / 8)),
    later: new WriteBehind(clock),
    memory: new MemoryBudget({ maxBytes: cfg.limits.memory, maxFills: cfg.limits.fills, waitMs: cfg.limits.queueTimeout }),
  };
  deps.guard = new StorageGuard(deps, {
    minFree: cfg.storage.minFree,
    reclaim: (need, extra) => admin?.keeper.reclaim(need, extra) ?? Promise.resolve(0),
  });
  const access = new AccessTracker(deps);
  blobCache = new BlobCache(deps, access);
  documents = new DocumentCache(deps, access);
  const httpCache = new HttpCache(deps, access);

  const client = new GotUpstreamClient({ timeoutMs: DEFAULT_TIMEOUT_MS });
  const edge = await edgeSetup(cfg, paths, client);
  const remotes = new Map<string, Remote>();
  for (const [name, rc] of Object.entries(cfg.remotes)) {
    remotes.set(
      name,
      new Remote(
        {
          name,
          config: rc,
          ttlMs: rc.ttl ?? DEFAULT_TTL_MS,
          negativeTtlMs: rc.negativeTtl ?? DEFAULT_NEGATIVE_TTL_MS,
          timeoutMs: rc.timeout ?? DEFAULT_TIMEOUT_MS,
          maxArtifactBytes: cfg.storage.maxArtifactSize,
          isOffline: () => offline,
          observe: (ok, detail) => admin?.stats.observeRemote(name, ok, detail),
          parent: edge.parentLink,
          hop: edge.hop,
        },
        client,
      ),
    );
  }

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

  // One place creates the server (HTTP, or HTTPS with tls: and certificate reloads); limits apply to it here.
  const listening = await createListeningServer(app.callback(), tlsFiles(cfg.tls, cfg.source), log);
  const server = listening.server;
  const { idleTimeout, headerTimeout, requestTimeout, maxConnections } = cfg.limits;
  applyServerLimits(server, { idleMs: idleTimeout, headerTimeoutMs: headerTimeout, requestTimeoutMs: requestTimeout, maxConnections });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new LarderError('E_CONFIG', `cannot listen on ${cfg.listen}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${listening.scheme}://${hostPart}:${addr.port}`;
  if (!publicUrl) publicUrl = url;
  ready = true;
  cluster?.start(publicUrl);
  adminParts.start();
  peers.start({ daemonId: await loadDaemonId(paths), port: addr.port, scheme: listening.scheme });
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
      documents!.abortAll();
      await Promise.race([documents!.drain(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await Promise.race([httpCache.drain(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      httpCache.abortAll();
      await Promise.race([blobCache!.drain(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      blobCache!.abortAll();
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
    port: addr.port,
    recovery,
    recovered: orphans.done,
    stop,
    loginLink: () => `${publicUrl}/_/ui/login?t=${adminParts.auth.newLink()}`,
    tokenFile: paths.adminToken,
  };
}
