/**
 * The admin API's operations, framework-neutral: stats, entries, pins,
 * pre-warm jobs, eviction, scrub, gc, audit, activity, offline switch and
 * token rotation. The HTTP glue is in http/admin-routes.ts.
 */
import { LarderError, notFound } from '../core/errors.js';
import { entryDigests, usage, type Budget, type Maintenance } from '../core/eviction.js';
import type { IndexStore } from '../core/ports.js';
import type { Scrubber } from '../core/scrub.js';
import type { PinManager } from '../pins/manager.js';
import type { PlannedItem } from '../prewarm/lockfiles.js';
import type { PrewarmRunner } from '../prewarm/runner.js';
import type { AuditLog } from './audit.js';
import type { AdminAuth } from './auth.js';
import type {
  ChildStatus,
  ClusterSummary,
  EvictRequest,
  EntrySummary,
  Job,
  JobRequest,
  Page,
  PeersSummary,
  ReplicationStatus,
  Stats,
} from './contract.js';
import type { EventBus } from './events.js';
import type { StatsTracker } from './stats.js';

export interface AdminServiceDeps {
  index: IndexStore & { counts(): { entries: number; blobs: number } };
  stats: StatsTracker;
  events: EventBus;
  audit: AuditLog;
  auth: AdminAuth;
  pins: PinManager;
  runner: PrewarmRunner;
  maintenance: Maintenance;
  scrubber: Scrubber;
  budget: Budget;
  /** Lag (seconds) above which a pin counts as lagging. */
  lagThresholdSeconds: number;
  remotes: Array<{ name: string; type: string; url: string; offline(): boolean }>;
  isOffline(): boolean;
  setOffline(v: boolean): void;
  redactedConfig(): unknown;
  loginUrl(secret: string): string;
  /** Mirror hierarchy: this daemon's replication (as a child), its children and feed head. */
  edge?: { replication(): ReplicationStatus | undefined; children(): ChildStatus[]; feedSeq(): number };
  /** LAN peers: the peers line of /stats (undefined when they are off). */
  peers?(): PeersSummary | undefined;
  /** Cluster mode: the cluster line of /stats. */
  cluster?(): ClusterSummary;
}

export class AdminService {
  private cachedUsage = { at: 0, bytes: 0, blobs: 0 };
  evictions = { count: 0, bytes: 0 };

  constructor(private readonly d: AdminServiceDeps) {}

  usage(): { bytes: number; blobs: number } {
    if (Date.now() - this.cachedUsage.at > 5_000) this.cachedUsage = { at: Date.now(), ...usage(this.d.index) };
    return this.cachedUsage;
  }

  stats(): Stats {
    const { stats, pins, runner, scrubber, budget } = this.d;
    const u = this.usage();
    const lag = pins.lag(this.d.lagThresholdSeconds);
    const jobs = runner.list();
    return {
      startedAt: stats.startedAt,
      now: Date.now(),
      offline: this.d.isOffline(),
      requests: { ...stats.requests },
      hitRate: stats.hitRate,
      bytesServed: { ...stats.bytes },
      bytesSaved: stats.bytes.cache,
      bytesSavedToday: stats.bytesSavedToday,
      storage: {
        usedBytes: u.bytes,
        maxBytes: budget.maxBytes,
        highWatermark: budget.high,
        lowWatermark: budget.low,
        blobs: u.blobs,
        entries: this.d.index.counts().entries,
      },
      remotes: this.d.remotes.map((r) => stats.remoteStats(r.name, r.type, r.url, r.offline())),
      pins: { count: lag.all.length, lagging: lag.lagging, maxLagSeconds: lag.max, lagThresholdSeconds: this.d.lagThresholdSeconds },
      integrityFailures: stats.integrityFailures,
      evictions: { ...this.evictions },
      scrub: { ...scrubber.status },
      jobs: { running: jobs.filter((j) => j.state === 'running').length, queued: jobs.filter((j) => j.state === 'queued').length },
      ...this.edgeStats(),
      ...this.peerStats(),
    };
  }

  private peerStats(): Pick<Stats, 'peers' | 'cluster'> {
    const peers = this.d.peers?.();
    const cluster = this.d.cluster?.();
    return { ...(peers ? { peers } : {}), ...(cluster ? { cluster } : {}) };
  }

  private edgeStats(): Pick<Stats, 'replication' | 'children' | 'feedSeq'> {
    const edge = this.d.edge;
    if (!edge) return {};
    const out: Pick<Stats, 'replication' | 'children' | 'feedSeq'> = { feedSeq: edge.feedSeq() };
    const replication = edge.replication();
    if (replication) out.replication = replication;
    const children = edge.children();
    if (children.length) out.children = children;
    return out;
  }

  history(): ReturnType<StatsTracker['points']> {
    return this.d.stats.points();
  }

  entries(q: { protocol?: string; remote?: string; q?: string; limit?: number; cursor?: string }): Page<EntrySummary> {
    const limit = Math.max(1, Math.min(500, q.limit ?? 100));
    const pinned = this.d.pins.protectedKeys();
    const items: EntrySummary[] = [];
    let next: string | undefined;
    const prefix = q.protocol ? `${q.protocol}:${q.remote ? `${q.remote}:` : ''}` : '';
    for (const e of this.d.index.entries(prefix || undefined)) {
      if (q.cursor && e.key <= q.cursor) continue;
      if (q.q && !e.key.toLowerCase().includes(q.q.toLowerCase())) continue;
      if (items.length === limit) {
        next = items[items.length - 1]!.key;
        break;
      }
      const [protocol = '', remote] = e.key.split(':');
      const s: EntrySummary = {
        key: e.key,
        protocol,
        digest: e.digest,
        size: e.size,
        fetchedAt: e.fetchedAt,
        expiresAt: e.expiresAt,
        immutable: e.immutable,
        pinned: pinned.has(e.key),
      };
      if (remote) s.remote = remote;
      if (typeof e.meta?.name === 'string') s.name = e.meta.name;
      if (e.mediaType) s.mediaType = e.mediaType;
      items.push(s);
    }
    return next ? { items, next } : { items };
  }

  /** Plans and starts a pre-warm job; the lockfile parsers (yarn's are large) load with the first job that has files. */
  async startJob(req: JobRequest, actor: string): Promise<Job> {
    const items: PlannedItem[] = [];
    for (const ref of req.refs ?? []) items.push({ ref });
    if (req.files?.length) {
      const { planFile } = await import('../prewarm/lockfiles.js');
      for (const f of req.files) items.push(...planFile(f.name, f.content));
    }
    const source = [...(req.refs?.length ? ['refs'] : []), ...(req.files ?? []).map((f) => f.name)].join(', ') || actor;
    const job = this.d.runner.start(items, req, source);
    // Not awaited (the job is already running); a failed append (disk full) must not become an unhandled rejection.
    this.d.audit.append({ action: 'prewarm', actor, target: source, details: { items: job.total } }).catch(() => undefined);
    return job;
  }

  async evict(req: EvictRequest, actor: string): Promise<{ removed: number; bytes: number }> {
    const { index, maintenance, pins } = this.d;
    if (req.key || req.digest) {
      const protectedKeys = pins.protectedKeys();
      const digests = req.digest ? [req.digest] : entryDigests(index.getEntry(req.key!) ?? notFoundEntry(req.key!));
      let removed = 0;
      let bytes = 0;
      for (const d of digests) {
        const keys = [...index.entries()].filter((e) => entryDigests(e).includes(d)).map((e) => e.key);
        const pinnedKey = keys.find((k) => protectedKeys.has(k));
        if (pinnedKey) throw new LarderError('E_FORBIDDEN', `${pinnedKey} is pinned: unpin it before evicting`);
        if (!index.getBlob(d)) continue;
        const r = await maintenance.removeBlob(d, keys, 'operator');
        removed++;
        bytes += r.bytes;
      }
      void actor;
      return { removed, bytes };
    }
    return maintenance.evictTo(Math.floor(this.d.budget.maxBytes * this.d.budget.low));
  }
}

function notFoundEntry(key: string): never {
  throw notFound(`entry ${key}`);
}
