/** Live events for the dashboard and tray (SSE), plus a ring of recent activity. */
import { EventEmitter } from 'node:events';
import { ActivityRing, type RequestActivity } from './activity-ring.js';
import type { ActivityItem, ActivityKind, LiveEvent } from './contract.js';

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly ring: ActivityRing;

  constructor(ringSize = 500) {
    this.emitter.setMaxListeners(0);
    this.ring = new ActivityRing(ringSize);
  }

  publish(event: LiveEvent): void {
    if (event.type === 'activity') this.remember(event.data);
    this.emitter.emit('event', event);
  }

  private remember(item: ActivityItem): void {
    this.ring.add(item);
  }

  /** Remembers an answered request (read with /activity; never pushed live). Allocates nothing: see activity-ring.ts. */
  request(r: RequestActivity): void {
    this.ring.request(r, Date.now());
  }

  /**
   * Records activity. Requests are only remembered (the dashboard reads them
   * with /activity); other kinds are also pushed live.
   */
  activity(kind: ActivityKind, message: string, extra: Partial<ActivityItem> = {}): void {
    const item: ActivityItem = { at: Date.now(), kind, message, ...extra };
    if (kind === 'request') this.remember(item);
    else this.publish({ type: 'activity', data: item });
  }

  /** Recent activity, newest first, optionally of some kinds. */
  recent(kinds?: ReadonlySet<string>, limit = 100): ActivityItem[] {
    return this.ring.recent(kinds, limit);
  }

  subscribe(fn: (e: LiveEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
