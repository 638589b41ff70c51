/** Other daemons this one shares with: LAN peers (GET /peers) and the cluster (GET /cluster). */

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
