/**
 * Desktop notifications for what needs attention: integrity failures (the
 * counter went up; the latest integrity activity supplies the detail) and
 * pins whose replication lag crosses the threshold (once per crossing, again
 * only after the pin has recovered). The first snapshot is a baseline.
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
  private lastIntegrityMessage: string | undefined;
  private readonly lagging = new Set<string>();
  private pinsSeen = false;

  constructor(
    private readonly notify: Notify,
    private thresholdSeconds: number,
  ) {}

  setThreshold(seconds: number): void {
    this.thresholdSeconds = seconds;
  }

  /** Remembers details of integrity failures for the next notification. */
  onActivity(item: ActivityItem): void {
    if (item.kind === 'integrity') this.lastIntegrityMessage = item.message;
  }

  /** Notifies when the integrity failure counter rises. */
  onStats(s: Stats): void {
    const n = s.integrityFailures;
    if (this.integrityBaseline !== undefined && n > this.integrityBaseline) {
      const added = n - this.integrityBaseline;
      this.notify({
        title: added === 1 ? 'Integrity failure' : `${added} integrity failures`,
        body: this.lastIntegrityMessage ?? 'An artifact from an upstream did not match its digest and was not stored.',
        route: 'activity',
      });
      this.lastIntegrityMessage = undefined;
    }
    this.integrityBaseline = n;
  }

  /** Notifies for each pin that crossed the lag threshold since the last call. */
  onPins(pins: readonly Pin[]): void {
    const now = new Set<string>();
    for (const p of pins) {
      if (p.lagSeconds < this.thresholdSeconds && p.status !== 'lagging') continue;
      now.add(p.id);
      if (this.pinsSeen && !this.lagging.has(p.id)) {
        this.notify({ title: 'Pin lagging behind upstream', body: `${p.ref} is ${formatLag(p.lagSeconds)} behind its upstream.`, route: `pins/${p.id}` });
      }
    }
    this.lagging.clear();
    for (const id of now) this.lagging.add(id);
    this.pinsSeen = true;
  }
}
