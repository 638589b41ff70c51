/**
 * Desktop notifications for what needs attention: integrity failures (the
 * counter went up; integrity activity events arriving around the same time
 * supply the detail, so the notice waits a short grace period) and pins
 * whose replication lag crosses the threshold (once per upstream change, so
 * stale poll results never repeat a notice). The first snapshot is a
 * baseline.
 */
import type { ActivityItem, Pin, Stats } from '../../daemon/admin/contract.js';

/** Shows one notification; `route` is where clicking it leads in the dashboard. */
export type Notify = (n: { title: string; body: string; route?: string }) => void;

function formatLag(seconds: number): string {
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Decides when to notify; stateful across snapshots. */
export class Notifier {
  private integrityBaseline: number | undefined;
  private pendingFailures = 0;
  private pendingTimer: ReturnType<typeof setTimeout> | undefined;
  private details: string[] = [];
  /** Pin id → the upstream change (changeSeenAt) already notified. */
  private readonly notified = new Map<string, string>();
  private pinsSeen = false;

  constructor(
    private readonly notify: Notify,
    private thresholdSeconds: number,
    /** How long an integrity notice waits for its activity detail (ms). */
    private readonly graceMs = 750,
  ) {}

  setThreshold(seconds: number): void {
    this.thresholdSeconds = seconds;
  }

  /** Remembers details of integrity failures for the pending notification. */
  onActivity(item: ActivityItem): void {
    if (item.kind === 'integrity') this.details.push(item.message);
    this.details = this.details.slice(-5);
  }

  /** Schedules a notification when the integrity failure counter rises. */
  onStats(s: Stats): void {
    const n = s.integrityFailures;
    if (this.integrityBaseline !== undefined && n > this.integrityBaseline) {
      this.pendingFailures += n - this.integrityBaseline;
      this.pendingTimer ??= setTimeout(() => this.flushIntegrity(), this.graceMs);
    }
    if (this.integrityBaseline === undefined || n > this.integrityBaseline) this.integrityBaseline = n;
  }

  private flushIntegrity(): void {
    const added = this.pendingFailures;
    const detail =
      this.details.length > 0
        ? this.details[this.details.length - 1]!
        : 'An artifact from an upstream did not match its digest and was not stored.';
    this.pendingFailures = 0;
    this.pendingTimer = undefined;
    this.details = [];
    this.notify({ title: added === 1 ? 'Integrity failure' : `${added} integrity failures`, body: detail, route: 'activity' });
  }

  /** Notifies for each pin past the threshold whose current upstream change was not notified yet. */
  onPins(pins: readonly Pin[]): void {
    for (const p of pins) {
      const lagging = p.lagSeconds >= this.thresholdSeconds || p.status === 'lagging';
      if (!lagging) continue;
      const change = String(p.changeSeenAt ?? 'unknown');
      if (this.notified.get(p.id) === change) continue;
      this.notified.set(p.id, change);
      if (this.pinsSeen)
        this.notify({
          title: 'Pin lagging behind upstream',
          body: `${p.ref} is ${formatLag(p.lagSeconds)} behind its upstream.`,
          route: `pins/${p.id}`,
        });
    }
    this.pinsSeen = true;
  }

  /** Cancels a pending notification (app shutdown). */
  dispose(): void {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
  }
}
