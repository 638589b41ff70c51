/**
 * Pins: references whose whole closure is protected from eviction. Mutable
 * pins (tags, dist-tags, ranges) are re-resolved on an interval; on a change
 * the new closure is fetched and then swapped in (refresh.ts), and the replication lag
 * (seconds since the change was first seen and not yet mirrored) is kept
 * per pin. Pins live in a `PinStore` (a durable table, or the cluster's pin
 * set in etcd); pin-file pins are kept in step with
 * the file.
 */
import { createHash } from 'node:crypto';
import { LarderError, notFound } from '../core/errors.js';
import { isMutable, parseRef } from '../prewarm/refs.js';
import type { Warmer } from '../core/warm.js';
import type { Pin } from '../admin/contract.js';
import { type PinEvent, refreshPin } from './refresh.js';
import { type PinStore, pinnedKeys, type StoredPin } from './store.js';

export { localPinStore, pinnedKeys, type PinStore, type StoredPin } from './store.js';

export interface PinManagerOptions {
  table: PinStore;
  warmers: Map<string, Warmer>;
  intervalMs: number;
  /** Whether this daemon re-resolves pins on the interval now (cluster mode: only the elected node). */
  checks?(): boolean;
  onChange(pin: Pin | { id: string; removed: true }): void;
  onAudit(action: string, target: string, reason?: string): Promise<void>;
  /** Pin-set changes for the replication feed: added (once resolved), removed, re-resolved to something new. */
  onEvent?(e: PinEvent): void;
}

export function pinId(ref: string): string {
  return createHash('sha256').update(ref).digest('hex').slice(0, 16);
}

export class PinManager {
  private timer: NodeJS.Timeout | undefined;
  private readonly busy = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  /** Pins whose first resolution is reported by add() itself, not as a `resolve` event. */
  private readonly adding = new Set<string>();

  constructor(private readonly opts: PinManagerOptions) {}

  /** Public view of a pin (lag computed now). */
  view(p: StoredPin): Pin {
    const { keys: _k, history: _h, historyLimit: _l, ...pin } = p;
    // Fractional seconds: a pin that is behind never reports 0.
    pin.lagSeconds = p.changeSeenAt ? Math.max(0.001, Math.round(Date.now() - p.changeSeenAt) / 1000) : 0;
    return pin;
  }

  list(): Pin[] {
    return [...this.opts.table.range()].map(([, p]) => this.view(p));
  }

  get(id: string): Pin {
    const p = this.opts.table.get(id);
    if (!p) throw notFound(`pin ${id}`);
    return this.view(p);
  }

  /** The stored pin of a reference, if pinned. */
  byRef(refText: string): StoredPin | undefined {
    return this.opts.table.get(pinId(parseRef(refText).raw));
  }

  /** Every entry key any pin protects (current and kept history). */
  protectedKeys(): Set<string> {
    return pinnedKeys(this.opts.table.range());
  }

  async add(refText: string, opts: { history?: number; source?: Pin['source']; actor?: string } = {}): Promise<Pin> {
    const ref = parseRef(refText);
    if (!this.opts.warmers.has(ref.protocol))
      throw new LarderError('E_BAD_REQUEST', `cannot pin ${ref.raw}: no ${ref.protocol} adapter is configured`);
    const id = pinId(ref.raw);
    const existing = this.opts.table.get(id);
    if (existing) return this.view(existing);
    const pin: StoredPin = {
      id,
      ref: ref.raw,
      mutable: isMutable(ref),
      status: 'resolving',
      size: 0,
      items: 0,
      createdAt: Date.now(),
      lagSeconds: 0,
      source: opts.source ?? 'api',
      keys: [],
      history: [],
      historyLimit: Math.max(0, Math.min(10, opts.history ?? 0)),
    };
    this.adding.add(id);
    try {
      const made = { created: false };
      const stored = await this.opts.table.update(id, (cur) => {
        made.created = !cur;
        return cur ? undefined : pin;
      });
      if (!made.created && stored) return this.view(stored); // pinned meanwhile (another node)
      await this.opts.onAudit('pin', ref.raw, opts.actor);
      this.opts.onChange(this.view(pin));
      await this.refresh(id, true);
    } finally {
      this.adding.delete(id);
    }
    const added = this.opts.table.get(id);
    if (added) this.opts.onEvent?.({ kind: 'add', ref: added.ref, ...(added.resolved !== undefined ? { resolved: added.resolved } : {}) });
    return this.get(id);
  }

  /**
   * Stores a pin whose closure is already in the index (a bundle import):
   * no resolution, no fetch. An existing pin of the same reference is kept.
   */
  async restore(p: { ref: string; mutable: boolean; resolved?: string; keys: string[]; size: number }, actor?: string): Promise<boolean> {
    const ref = parseRef(p.ref);
    const id = pinId(ref.raw);
    if (this.opts.table.get(id)) return false;
    const pin: StoredPin = {
      id,
      ref: ref.raw,
      mutable: p.mutable,
      status: 'ok',
      size: p.size,
      items: p.keys.length,
      createdAt: Date.now(),
      lagSeconds: 0,
      source: 'bundle',
      keys: p.keys,
      history: [],
      historyLimit: 0,
    };
    if (p.resolved !== undefined) pin.resolved = p.resolved;
    const made = { created: false };
    await this.opts.table.update(id, (cur) => {
      made.created = !cur;
      return cur ? undefined : pin;
    });
    if (!made.created) return false;
    await this.opts.onAudit('pin', ref.raw, actor);
    this.opts.onChange(this.view(pin));
    this.opts.onEvent?.({ kind: 'add', ref: ref.raw, ...(p.resolved !== undefined ? { resolved: p.resolved } : {}) });
    return true;
  }

  async remove(id: string, actor?: string): Promise<void> {
    const p = this.opts.table.get(id);
    if (!p) throw notFound(`pin ${id}`);
    await this.opts.table.remove(id);
    await this.opts.onAudit('unpin', p.ref, actor);
    this.opts.onChange({ id, removed: true });
    this.opts.onEvent?.({ kind: 'remove', ref: p.ref });
  }

  /** Re-resolves one pin; on a change fetches the new closure, then swaps it in. */
  refresh(id: string, initial = false): Promise<void> {
    let p = this.busy.get(id);
    if (!p) {
      p = this.doRefresh(id, initial).finally(() => this.busy.delete(id));
      this.busy.set(id, p);
    }
    return p;
  }

  /** Applies `change` to the pin as stored now (nothing when it was removed meanwhile) and reports the result. */
  private async save(id: string, change: (cur: StoredPin) => StoredPin | undefined): Promise<StoredPin | undefined> {
    const after = await this.opts.table.update(id, (cur) => (cur ? change(cur) : undefined));
    if (after) this.opts.onChange(this.view(after));
    return after;
  }

  private doRefresh(id: string, initial: boolean): Promise<void> {
    const { table, warmers } = this.opts;
    return refreshPin(
      {
        table,
        warmers,
        signal: this.stopping.signal,
        adding: this.adding,
        save: (i, change) => this.save(i, change),
        onEvent: (e) => this.opts.onEvent?.(e),
      },
      id,
      initial,
    );
  }

  /** Re-resolves every mutable pin now (and retries pins in error). */
  async checkAll(): Promise<void> {
    const ids = [...this.opts.table.range()].filter(([, p]) => p.mutable || p.status !== 'ok').map(([id]) => id);
    await Promise.all(ids.map((id) => this.refresh(id, this.opts.table.get(id)?.resolved === undefined)));
  }

  start(): void {
    const check = (): void => {
      if (this.opts.checks && !this.opts.checks()) return;
      void this.checkAll().catch(() => undefined);
    };
    this.timer = setInterval(check, this.opts.intervalMs);
    this.timer.unref();
    check();
  }

  /** Stops checking and waits for refreshes in flight (shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopping.abort();
    await Promise.allSettled([...this.busy.values()]);
  }

  /** Makes file-sourced pins equal the given references. */
  async syncFile(refs: string[]): Promise<void> {
    const want = new Map(refs.map((r) => [pinId(parseRef(r).raw), r]));
    for (const [id, p] of [...this.opts.table.range()]) {
      if (p.source === 'file' && !want.has(id)) await this.remove(id, 'pin-file');
    }
    for (const [id, r] of want)
      if (!this.opts.table.get(id)) await this.add(r, { source: 'file', actor: 'pin-file' }).catch(() => undefined);
  }

  /** Largest lag and the number of pins lagging past `threshold` seconds (for metrics and stats). */
  lag(threshold = 0): { max: number; lagging: number; all: number[] } {
    const all = this.list().map((p) => p.lagSeconds);
    return { max: Math.max(0, ...all), lagging: all.filter((l) => l > threshold).length, all };
  }
}
