/** Live events for the dashboard and tray (SSE), plus a ring of recent activity. */
import { EventEmitter } from 'node:events';
import type { ActivityItem, ActivityKind, LiveEvent } from './contract.js';

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly ring: Array<ActivityItem | undefined>;
  private head = 0;

  constructor(private readonly ringSize = 500) {
    this.emitter.setMaxListeners(0);
    this.ring = new Array<ActivityItem | undefined>(ringSize);
  }

  publish(event: LiveEvent): void {
    if (event.type === 'activity') this.remember(event.data);
    this.emitter.emit('event', event);
  }

  private remember(item: ActivityItem): void {
    this.ring[this.head] = item;
    this.head = (this.head + 1) % this.ringSize;
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
    const out: ActivityItem[] = [];
    for (let n = 1; n <= this.ringSize && out.length < limit; n++) {
      const item = this.ring[(this.head - n + this.ringSize) % this.ringSize];
      if (!item) break;
      if (!kinds || kinds.has(item.kind)) out.push(item);
    }
    return out;
  }

  subscribe(fn: (e: LiveEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
