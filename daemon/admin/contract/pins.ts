/** Pins, and their change feed as parent and child daemons replicate it (mirror hierarchy). */

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

/** Query of GET /feed (`wait`: long-poll seconds). */
export interface FeedQuery {
  since?: number;
  wait?: number;
  child?: string;
  limit?: number;
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
