/** What happened: the audit log, the activity feed and the live event stream (GET /events). */

import type { Stats } from './cache.js';
import type { Job } from './jobs-bundles.js';
import type { Pin } from './pins.js';

export interface AuditRecord {
  seq: number;
  at: number;
  action: string;
  actor: string;
  target?: string;
  reason?: string;
  details?: Record<string, string | number | boolean>;
}

/** Query of GET /audit. */
export interface AuditQuery {
  since?: number;
  limit?: number;
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

/** Query of GET /activity (several kinds are sent comma-separated). */
export interface ActivityQuery {
  kind?: ActivityKind | ActivityKind[];
  limit?: number;
}

export type LiveEvent =
  | { type: 'stats'; data: Stats }
  | { type: 'job'; data: Job }
  | { type: 'pin'; data: Pin }
  | { type: 'pin-removed'; data: { id: string } }
  | { type: 'activity'; data: ActivityItem };
