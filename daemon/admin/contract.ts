/**
 * The admin API contract (`/_/api/v1/`, JSON): request and response shapes
 * shared by the daemon, the `larder` CLI, the dashboard and the tray app.
 * A leaf: it imports nothing, so the dashboard, the tray and the CLI can
 * use it without reaching into the daemon. The daemon's own types satisfy
 * these shapes structurally.
 *
 * Auth: `Authorization: Bearer <token>` (the admin token in
 * <dataDir>/admin-token, mode 0600, or a scoped token: see TokenScope), or
 * the dashboard's HttpOnly session cookie (writes with it need
 * `Sec-Fetch-Site: same-origin` and `Content-Type: application/json`). Errors:
 * `{ "error": { "code": "E_…", "message": "…" } }` with the HTTP status.
 *
 *   GET    /stats                      → Stats
 *   GET    /stats/history              → StatsPoint[]   (last hour, 10 s steps)
 *   GET    /entries?protocol=&remote=&q=&limit=&cursor=  → Page<EntrySummary>
 *   GET    /pins                       → Pin[]
 *   POST   /pins        PinRequest     → Pin            (400 with message on a bad reference)
 *   GET    /pins/:id                   → Pin
 *   DELETE /pins/:id                   → { removed: true }
 *   GET    /jobs                       → Job[]
 *   POST   /jobs        JobRequest     → Job
 *   GET    /jobs/:id                   → Job
 *   DELETE /jobs/:id                   → Job            (cancelled)
 *   POST   /evict       EvictRequest   → { removed: number; bytes: number }
 *   POST   /scrub       { now?: boolean } → ScrubStatus
 *   POST   /gc                         → { removed: number; bytes: number }
 *   GET    /config                     → effective config, secrets redacted
 *   GET    /audit?since=&limit=        → AuditRecord[]
 *   GET    /activity?kind=&limit=      → ActivityItem[]
 *   POST   /offline     { offline: boolean } → { offline: boolean }
 *   POST   /token/rotate               → { token: string }
 *   GET    /tokens                     → TokenInfo[]    scoped tokens (never their secret)
 *   POST   /tokens      TokenRequest   → TokenCreated   the secret is shown this once
 *   DELETE /tokens/:name               → { revoked: true }
 *   POST   /logout                     → { loggedOut: true }  ends the dashboard session
 *   GET    /events                     → text/event-stream of LiveEvent
 *   POST   /login-link                 → { url: string }  one-time dashboard login link
 *   GET    /feed?since=&wait=&child=&limit= → FeedPage  pin change feed (long-poll up to `wait` s)
 *   GET    /children                   → ChildStatus[]  daemons replicating from this one
 *   POST   /export      ExportRequest  → application/x-tar  an air-gap bundle (streamed)
 *   POST   /import      (tar body)     → ImportReport   verifies everything, then commits
 */

/** Progress of the background scrub (the scrubber's status has this shape). */
export interface ScrubStatus {
  running: boolean;
  lastRunAt?: number;
  lastFinishedAt?: number;
  checked: number;
  corrupt: number;
  repaired: number;
  bytesPerSecond: number;
}

export type Health = 'ok' | 'degraded' | 'down' | 'offline';

export interface RemoteStats {
  name: string;
  type: string;
  url: string;
  offline: boolean;
  health: Health;
  lastError?: string;
  lastSuccessAt?: number;
  lastFailureAt?: number;
  staleServes: number;
}

export interface Stats {
  startedAt: number;
  now: number;
  offline: boolean;
  requests: { total: number; hit: number; miss: number; revalidated: number; stale: number; bypass: number };
  /** (hit + revalidated + stale) / cache-touching requests, 0..1. */
  hitRate: number;
  bytesServed: { cache: number; upstream: number };
  /** Bytes served from cache that did not have to come from an upstream. */
  bytesSaved: number;
  bytesSavedToday: number;
  storage: { usedBytes: number; maxBytes: number; highWatermark: number; lowWatermark: number; blobs: number; entries: number };
  remotes: RemoteStats[];
  /** `lagging` counts pins whose lag exceeds `lagThresholdSeconds` (config pins.lagThreshold). */
  pins: { count: number; lagging: number; maxLagSeconds: number; lagThresholdSeconds: number };
  integrityFailures: number;
  evictions: { count: number; bytes: number };
  scrub: ScrubStatus;
  jobs: { running: number; queued: number };
  /** Set when this daemon has a parent (mirror hierarchy). */
  replication?: ReplicationStatus;
  /** Daemons that replicate this one's pins (mirror hierarchy), when any has polled. */
  children?: ChildStatus[];
  /** Sequence number of the newest record of this daemon's pin change feed. */
  feedSeq?: number;
  /** Set when LAN peers are enabled. */
  peers?: PeersSummary;
  /** Set in cluster mode. */
  cluster?: ClusterSummary;
}

/** Replication of the parent's pins, as seen by a child daemon. */
export interface ReplicationStatus {
  /** The parent's URL. */
  parent: string;
  /** Last parent feed record applied here (its closure fetched). */
  appliedSeq: number;
  /** Newest parent feed record known here. */
  parentSeq: number;
  /**
   * 0 when caught up; else seconds since the oldest parent change not yet
   * applied. While the parent is unreachable: at least the seconds since it
   * last confirmed this daemon was caught up.
   */
  lagSeconds: number;
  /** Whether the last exchange with the parent's feed succeeded. */
  connected: boolean;
  lastContactAt?: number;
  lastError?: string;
}

/** One record of the pin change feed. `resolve` = a mutable pin moved to a new version/digest. */
export interface FeedRecord {
  seq: number;
  at: number;
  kind: 'add' | 'remove' | 'resolve';
  ref: string;
  resolved?: string;
}

export interface FeedPage {
  /** The feed's owner: the answering daemon's id, or `cluster:<name>` for a cluster's shared feed (a child resyncs from 0 when it changes). */
  daemon: string;
  /** Newest sequence number (0 to a reader whose next records were dropped by retention: it replays from the start). */
  head: number;
  /** The answering daemon's clock, ms (children correct lag for skew). */
  now: number;
  /** Records after `since`, oldest first. */
  records: FeedRecord[];
}

/** A child daemon as its parent sees it. */
export interface ChildStatus {
  id: string;
  lastSeenSeq: number;
  lastSeenAt: number;
  /** 0 when the child had everything at its last poll; else seconds since the oldest record it had not applied. */
  lagSeconds: number;
  /** Whether the child is polling the feed right now. */
  connected: boolean;
}

/** What goes into an air-gap bundle. */
export interface ExportRequest {
  /** Every pin (true) or the pins with these ids or references. */
  pins?: boolean | string[];
  /** References (as for pins); resolved and fetched first. */
  refs?: string[];
  /** Lockfiles or manifests, as for pre-warm jobs. */
  files?: Array<{ name: string; content: string }>;
  /** Also include npm dependencies of `refs` (default false; lockfiles list everything already). */
  deps?: boolean;
  /** Index key prefixes, e.g. `oci:hub:` (whatever is cached under them). */
  prefixes?: string[];
  /** Sign the manifest with this daemon's bundle key (created in its data dir on first use). */
  sign?: boolean;
}

export interface ImportReport {
  blobs: { added: number; present: number };
  /** Bytes of blobs added. */
  bytes: number;
  entries: { added: number; updated: number };
  pins: number;
  /** Remote names in the bundle's keys that this daemon does not configure. */
  unknownRemotes: string[];
  /** The key that signed the bundle (`ed25519:…`), or 'unsigned' (imported with allowUnsigned). */
  signer?: string;
  /** Entries whose times were clamped (a future fetch time, or an expiry past now + the remote's TTL). */
  clamped?: number;
}

export interface StatsPoint {
  t: number;
  hits: number;
  misses: number;
  hitRate: number;
  bytesCache: number;
  bytesUpstream: number;
}

export interface Page<T> {
  items: T[];
  next?: string;
}

export interface EntrySummary {
  key: string;
  protocol: string;
  remote?: string;
  name?: string;
  digest: string;
  size: number;
  mediaType?: string;
  fetchedAt: number;
  expiresAt: number;
  immutable: boolean;
  pinned: boolean;
}

export interface PinRequest {
  /** Reference grammar: npm:<name>@<v|range|tag>, oci:<host>/<repo>:<tag>|@<digest>, pypi:<name>==<v>, go:<module>@<v>, url:<remote>/<path>. */
  ref: string;
  /** How many previous closures of a mutable pin to keep (default 0). */
  history?: number;
}

export type PinStatus = 'ok' | 'lagging' | 'resolving' | 'error';

export interface Pin {
  id: string;
  ref: string;
  mutable: boolean;
  status: PinStatus;
  /** Resolved digest (or version) of the closure currently held. */
  resolved?: string;
  size: number;
  items: number;
  createdAt: number;
  /** Last time the pin was verified fresh against its upstream. */
  lastCheckedAt?: number;
  /** When an upstream change not yet mirrored was first seen. */
  changeSeenAt?: number;
  /** 0 when up to date, else seconds since the unmirrored change was seen. */
  lagSeconds: number;
  error?: string;
  /** api/file: made here; parent: replicated from the parent's feed; bundle: imported. */
  source: 'api' | 'file' | 'parent' | 'bundle';
}

export interface JobRequest {
  refs?: string[];
  /** Lockfiles or manifests by file name (package-lock.json, pnpm-lock.yaml, yarn.lock, requirements.txt, go.sum, docker-compose.yml, Dockerfile, *.yaml). */
  files?: Array<{ name: string; content: string }>;
  /** Fetch npm dependency trees (default true). */
  deps?: boolean;
  concurrency?: number;
}

export type ItemState = 'queued' | 'running' | 'done' | 'cached' | 'failed' | 'cancelled';

export interface JobItem {
  ref: string;
  state: ItemState;
  bytes: number;
  totalBytes?: number;
  attempts: number;
  error?: string;
}

export interface Job {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  createdAt: number;
  finishedAt?: number;
  source: string;
  items: JobItem[];
  bytes: number;
  done: number;
  failed: number;
  total: number;
}

export interface EvictRequest {
  key?: string;
  digest?: string;
  /** Evict until usage is under the low watermark (default when nothing else is given). */
  toLowWatermark?: boolean;
}

export interface AuditRecord {
  seq: number;
  at: number;
  action: string;
  actor: string;
  target?: string;
  reason?: string;
  details?: Record<string, string | number | boolean>;
}

export type ActivityKind = 'request' | 'integrity' | 'stale' | 'eviction' | 'scrub' | 'pin' | 'job' | 'error';

export interface ActivityItem {
  at: number;
  kind: ActivityKind;
  message: string;
  protocol?: string;
  cache?: string;
  status?: number;
  path?: string;
}

export type LiveEvent =
  | { type: 'stats'; data: Stats }
  | { type: 'job'; data: Job }
  | { type: 'pin'; data: Pin }
  | { type: 'pin-removed'; data: { id: string } }
  | { type: 'activity'; data: ActivityItem };

export interface ApiError {
  error: { code: string; message: string };
}

/** Query of GET /entries. */
export interface EntryQuery {
  protocol?: string;
  remote?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

/** Query of GET /audit. */
export interface AuditQuery {
  since?: number;
  limit?: number;
}

/** Query of GET /activity (several kinds are sent comma-separated). */
export interface ActivityQuery {
  kind?: ActivityKind | ActivityKind[];
  limit?: number;
}

/** Query of GET /feed (`wait`: long-poll seconds). */
export interface FeedQuery {
  since?: number;
  wait?: number;
  child?: string;
  limit?: number;
}

/** Body of POST /scrub: `now` waits for the pass to finish. */
export interface ScrubRequest {
  now?: boolean;
}

/** Answer of POST /evict and POST /gc. */
export interface RemovedBlobs {
  removed: number;
  bytes: number;
}

/**
 * What a token may do: `admin` everything; `replicate` the pin feed
 * (GET /feed) and protocol reads (a child daemon's `parent.token`); `read`
 * protocol reads and /metrics only. Anything else is 403 `E_SCOPE`.
 */
export type TokenScope = 'admin' | 'replicate' | 'read';

export const TOKEN_SCOPES: readonly TokenScope[] = ['admin', 'replicate', 'read'];

/** Body of POST /tokens. Names are 1-64 letters, digits, ".", "_" or "-". */
export interface TokenRequest {
  name: string;
  scope: TokenScope;
}

/** A scoped token as listed (the secret is stored only as a hash). */
export interface TokenInfo {
  name: string;
  scope: TokenScope;
  createdAt: number;
  /** Last successful use (updated at most once a minute). */
  lastUsedAt?: number;
}

/** Answer of POST /tokens: the secret, shown once. */
export interface TokenCreated extends TokenInfo {
  token: string;
}

/** One OSV record of the loaded blocklist (GET /policy). */
export interface PolicyRecord {
  id: string;
  summary: string;
  /** The packages it names, with the exact versions and ranges it lists. */
  affected: Array<{ ecosystem: string; name: string; versions: string[]; ranges: number }>;
}

/** A cached artifact of a blocked version, moved out of the store (never served again). */
export interface QuarantinedArtifact {
  key: string;
  digest: string;
  protocol: string;
  name: string;
  version: string;
  /** The OSV record that blocks it. */
  id: string;
  /** When it was quarantined (ms since the epoch). */
  at: number;
}

/** A recent refusal (or warning) a client was served: what, why and, when held back, until when. */
export interface PolicyEventInfo {
  /** ms since the epoch */
  at: number;
  remote: string;
  name: string;
  version: string;
  reason: 'held' | 'blocked' | 'signature' | 'warned';
  /** Held back until (ms since the epoch). */
  until?: number;
  /** The OSV record id (or "signature"). */
  id?: string;
  /** The sentence the client saw. */
  message: string;
}

/** Answer of GET /policy: the config in force, counted refusals, the blocklist and the quarantine. */
export interface PolicyStatus {
  minAge: string;
  minAgeMs: number;
  exclude: string[];
  onBlocked: 'refuse' | 'warn';
  remotes: Record<string, { minAgeMs?: number; exclude?: string[]; onBlocked?: 'refuse' | 'warn' }>;
  blocklist: { folder?: string; ids: string[]; records: PolicyRecord[] };
  counts: Array<{ remote: string; reason: 'held' | 'blocked' | 'signature' | 'warned'; count: number }>;
  /** The most recent refusals and warnings (at most 200, newest first; since the daemon started). */
  recent: PolicyEventInfo[];
  quarantined: QuarantinedArtifact[];
}

/** Answer of GET /policy/explain?ref=…: why a version is or is not served. */
export interface PolicyExplanation {
  ref: string;
  protocol: string;
  remote: string;
  name: string;
  version: string;
  verdict: 'allowed' | 'held' | 'blocked';
  /** Why the age gate did not apply: a pin, an excluded name, no publish time, or no age gate at all. */
  because?: 'pinned' | 'excluded' | 'no-publish-time' | 'old-enough' | 'no-age-gate';
  /** ISO times, when the upstream gives a publish time. */
  published?: string;
  /** Held back until (ISO), under `minAge`. */
  until?: string;
  minAge: string;
  pinned: boolean;
  /** The OSV record that lists the version (blocked, or served with a warning under `onBlocked: warn`). */
  osv?: { id: string; summary: string };
  /** Cached artifacts of the version that are quarantined. */
  quarantined: QuarantinedArtifact[];
  /** One sentence, the one a refused client sees. */
  message: string;
}

/** One LAN peer as this daemon sees it (GET /peers). */
export interface PeerStatus {
  /** Base URL of the other daemon. */
  url: string;
  /** Asked now; false while it is left out after a failure. */
  healthy: boolean;
  /** Until when it is left out (epoch ms), when not healthy. */
  droppedUntil?: number;
  lastFailure?: { reason: 'integrity' | 'transfer' | 'slow' | 'refused' | 'unreachable'; at: number };
  /** Misses it filled whole, verified bytes it sent, and its failures, since this daemon started. */
  hits: number;
  bytes: number;
  failures: number;
}

/** Today's immutable-blob misses (fills) and how many of them came whole from peers (local day). */
export interface PeersToday {
  misses: number;
  fromPeers: number;
}

/** Answer of GET /peers. */
export interface PeersReport {
  enabled: boolean;
  /** Discovery methods in force (static, mdns). */
  discover: string[];
  peers: PeerStatus[];
  today: PeersToday;
}

/** The peers line of /stats (dashboard, tray): listed and healthy peers, and today's share of misses they served. */
export interface PeersSummary {
  count: number;
  healthy: number;
  today: PeersToday;
}

/** A node's role: `leader` runs the S3-tier eviction; `alone` cannot reach etcd. */
export type ClusterRole = 'leader' | 'member' | 'alone';

/** One node of the cluster (GET /cluster), as registered in etcd. */
export interface ClusterNode {
  /** The node's daemon id. */
  id: string;
  url: string;
  role: ClusterRole;
  /** Reaching etcd: true for every registered node (its registration lives while it does). */
  etcd: boolean;
  /** Whether its last S3 probe answered, as it last reported. */
  s3: boolean;
  /** The node that answered this request. */
  self: boolean;
}

/** Answer of GET /cluster (404 without cluster mode). */
export interface ClusterReport {
  name: string;
  /** This node's id and role. */
  node: string;
  role: ClusterRole;
  /** The eviction leader's id, when etcd names one. */
  leader?: string;
  nodes: ClusterNode[];
  /** The S3 tier's budget (storage.s3.maxSize) and its use at this node's last eviction pass (leader only). */
  s3: { up: boolean; maxBytes?: number; usedBytes?: number };
}

/** The cluster line of /stats (dashboard). */
export interface ClusterSummary {
  name: string;
  role: ClusterRole;
  nodes: number;
  etcdUp: boolean;
  s3Up: boolean;
}
