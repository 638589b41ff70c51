/**
 * The model behind the fake admin server (test/helpers/fake-admin.ts): stats
 * counters with 10 s history buckets, pins, jobs that progress on a timer,
 * and an activity log. Every change is reported through `emit` as a LiveEvent.
 */
import { createHash } from 'node:crypto';
import type { ActivityItem, Health, Job, JobRequest, LiveEvent, Pin, RemoteStats, Stats, StatsPoint } from '../../daemon/admin/contract.js';

const STEP = 10_000;
const REF_RE: Record<string, RegExp> = {
  npm: /^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*@[^\s@]+$/i,
  oci: /^[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+(?::[\w.-]+|@sha256:[0-9a-f]{64})$/,
  pypi: /^[A-Za-z0-9][\w.-]*==[\w.!+-]+$/,
  go: /^[a-z0-9.-]+\.[a-z]+\/[\w./-]+@v[\w.+-]+$/,
  url: /^[a-z0-9][a-z0-9_-]*\/\S+$/,
};

/** Validates a pin/pre-warm reference like the daemon; returns the 400 message or undefined. */
export function checkRef(ref: string): string | undefined {
  const m = /^([a-z]+):(.*)$/.exec(ref.trim());
  if (!m) return `invalid reference ${JSON.stringify(ref)}: expected <type>:<reference> with type npm, oci, pypi, go or url`;
  const re = REF_RE[m[1]!];
  if (!re) return `invalid reference ${JSON.stringify(ref)}: unknown type ${JSON.stringify(m[1])} (expected npm, oci, pypi, go or url)`;
  if (!re.test(m[2]!))
    return `invalid ${m[1]} reference ${JSON.stringify(ref)}: expected ${m[1] === 'npm' ? 'npm:<name>@<version|range|tag>' : m[1] === 'oci' ? 'oci:<host>/<repo>:<tag> or @<digest>' : m[1] === 'pypi' ? 'pypi:<name>==<version>' : m[1] === 'go' ? 'go:<module>@<version>' : 'url:<remote>/<path>'}`;
  return undefined;
}

/** Mutable state of the fake daemon. */
export class FakeAdminState {
  readonly startedAt = Date.now();
  offline = false;
  requests = { total: 0, hit: 0, miss: 0, revalidated: 0, stale: 0, bypass: 0 };
  bytes = { cache: 0, upstream: 0 };
  storage = { usedBytes: 3 * 1024 ** 3, maxBytes: 10 * 1024 ** 3, highWatermark: 0.9, lowWatermark: 0.8, blobs: 1234, entries: 2345 };
  remotes: RemoteStats[] = [
    { name: 'npmjs', type: 'npm', url: 'http://127.0.0.1:4873/', offline: false, health: 'ok', staleServes: 0, lastSuccessAt: Date.now() },
  ];
  pins: Pin[] = [];
  jobs: Job[] = [];
  activity: ActivityItem[] = [];
  history = new Map<number, StatsPoint>();
  integrityFailures = 0;
  evictions = { count: 0, bytes: 0 };
  scrub = { running: false, checked: 0, corrupt: 0, repaired: 0, bytesPerSecond: 0 } as Stats['scrub'];
  /** Lag (seconds) at and past which a pin counts as lagging. */
  lagThreshold = 600;
  /** The peers line of /stats (LAN peers on), or undefined (off). */
  peers: Stats['peers'];
  /** The cluster line of /stats (cluster mode), or undefined (a single daemon). */
  cluster: Stats['cluster'];
  private seq = 0;

  constructor(private readonly emit: (ev: LiveEvent) => void) {}

  stats(): Stats {
    const r = this.requests;
    const cached = r.hit + r.revalidated + r.stale;
    const lagging = this.pins.filter((p) => p.status === 'lagging').length;
    return {
      startedAt: this.startedAt,
      now: Date.now(),
      offline: this.offline,
      requests: { ...r },
      hitRate: cached + r.miss > 0 ? cached / (cached + r.miss) : 0,
      bytesServed: { ...this.bytes },
      bytesSaved: this.bytes.cache,
      bytesSavedToday: this.bytes.cache,
      storage: { ...this.storage },
      remotes: this.remotes.map((x) => ({ ...x, offline: x.offline || this.offline, health: this.offline ? 'offline' : x.health })),
      pins: {
        count: this.pins.length,
        lagging,
        maxLagSeconds: Math.max(0, ...this.pins.map((p) => p.lagSeconds)),
        lagThresholdSeconds: 900,
      },
      integrityFailures: this.integrityFailures,
      evictions: { ...this.evictions },
      scrub: { ...this.scrub },
      jobs: {
        running: this.jobs.filter((j) => j.state === 'running').length,
        queued: this.jobs.filter((j) => j.state === 'queued').length,
      },
      ...(this.peers ? { peers: this.peers } : {}),
      ...(this.cluster ? { cluster: this.cluster } : {}),
    };
  }

  pushStats(): void {
    this.emit({ type: 'stats', data: this.stats() });
  }

  log(item: Omit<ActivityItem, 'at'>): void {
    const full = { at: Date.now(), ...item };
    this.activity.unshift(full);
    this.activity.length = Math.min(this.activity.length, 1000);
    this.emit({ type: 'activity', data: full });
  }

  /** Counts one client request served from cache ('hit', …) or upstream ('miss'). */
  record(cache: 'hit' | 'miss' | 'revalidated' | 'stale', bytes: number, path = '/npm/pkg'): void {
    this.requests.total++;
    this.requests[cache]++;
    const fromCache = cache !== 'miss';
    this.bytes[fromCache ? 'cache' : 'upstream'] += bytes;
    const t = Math.floor(Date.now() / STEP) * STEP;
    const p = this.history.get(t) ?? { t, hits: 0, misses: 0, hitRate: 0, bytesCache: 0, bytesUpstream: 0 };
    if (fromCache) p.hits++;
    else p.misses++;
    p.hitRate = p.hits / (p.hits + p.misses);
    p[fromCache ? 'bytesCache' : 'bytesUpstream'] += bytes;
    this.history.set(t, p);
    this.log({
      kind: cache === 'stale' ? 'stale' : 'request',
      message: `GET ${path}`,
      protocol: 'npm',
      cache: cache.toUpperCase(),
      status: 200,
      path,
    });
  }

  setHealth(name: string, health: Health, lastError?: string): void {
    const r = this.remotes.find((x) => x.name === name);
    if (!r) throw new Error(`no remote ${name}`);
    r.health = health;
    if (health === 'ok') {
      r.lastSuccessAt = Date.now();
      delete r.lastError;
    } else {
      r.lastFailureAt = Date.now();
      if (lastError) r.lastError = lastError;
    }
  }

  addPin(ref: string): Pin {
    const pin: Pin = {
      id: `p${++this.seq}`,
      ref,
      mutable: !/@\d+\.\d+\.\d+$|==|@sha256:/.test(ref),
      status: 'resolving',
      size: 0,
      items: 0,
      createdAt: Date.now(),
      lagSeconds: 0,
      source: 'api',
    };
    this.pins.push(pin);
    this.emit({ type: 'pin', data: { ...pin } });
    this.log({ kind: 'pin', message: `pinned ${ref}` });
    setTimeout(() => {
      Object.assign(pin, {
        status: 'ok',
        resolved: `sha256:${createHash('sha256').update(ref).digest('hex')}`,
        size: 48_213 + ref.length * 1000,
        items: 3,
        lastCheckedAt: Date.now(),
      });
      this.emit({ type: 'pin', data: { ...pin } });
      this.pushStats();
    }, 150).unref();
    return { ...pin };
  }

  setPinLag(id: string, lagSeconds: number): void {
    const pin = this.pins.find((p) => p.id === id || p.ref === id);
    if (!pin) throw new Error(`no pin ${id}`);
    pin.lagSeconds = lagSeconds;
    pin.changeSeenAt = lagSeconds > 0 ? Date.now() - lagSeconds * 1000 : undefined;
    pin.status = lagSeconds >= this.lagThreshold ? 'lagging' : 'ok';
    this.emit({ type: 'pin', data: { ...pin } });
    this.pushStats();
  }

  removePin(id: string): boolean {
    const i = this.pins.findIndex((p) => p.id === id);
    if (i < 0) return false;
    this.pins.splice(i, 1);
    this.emit({ type: 'pin-removed', data: { id } });
    return true;
  }

  /** Creates a job whose items each take `itemMs` to download (two at a time). */
  startJob(req: JobRequest, itemMs: number): Job {
    const refs = [...(req.refs ?? [])];
    for (const f of req.files ?? []) for (const line of f.content.split('\n')) if (line.trim()) refs.push(`${f.name}:${line.trim()}`);
    const job: Job = {
      id: `j${++this.seq}`,
      state: 'queued',
      createdAt: Date.now(),
      source: req.files?.length ? req.files.map((f) => f.name).join(', ') : 'references',
      items: refs.map((ref) => ({ ref, state: 'queued', bytes: 0, totalBytes: 200_000, attempts: 0 })),
      bytes: 0,
      done: 0,
      failed: 0,
      total: refs.length,
    };
    this.jobs.unshift(job);
    const ticks = 4;
    const timer = setInterval(() => {
      if (job.state === 'cancelled') return clearInterval(timer);
      job.state = 'running';
      const running = job.items.filter((i) => i.state === 'running');
      for (const it of job.items) {
        if (running.length < 2 && it.state === 'queued') {
          it.state = 'running';
          it.attempts = 1;
          running.push(it);
        }
      }
      for (const it of running) {
        if (it.ref.includes('fail')) Object.assign(it, { state: 'failed', error: 'upstream answered 404' });
        else {
          it.bytes += (it.totalBytes ?? 0) / ticks;
          if (it.bytes >= (it.totalBytes ?? 0)) it.state = 'done';
        }
      }
      job.done = job.items.filter((i) => i.state === 'done' || i.state === 'cached').length;
      job.failed = job.items.filter((i) => i.state === 'failed').length;
      job.bytes = job.items.reduce((n, i) => n + i.bytes, 0);
      if (job.done + job.failed === job.total) {
        job.state = job.failed > 0 && job.done === 0 ? 'failed' : 'done';
        job.finishedAt = Date.now();
        clearInterval(timer);
      }
      this.emit({ type: 'job', data: structuredClone(job) });
    }, itemMs / ticks);
    timer.unref();
    this.emit({ type: 'job', data: structuredClone(job) });
    return structuredClone(job);
  }
}
