/**
 * One pin's refresh: re-resolve the reference, and when it moved (or on the
 * first resolution) fetch the new closure and swap it in, keeping history and
 * the replication lag. The PinManager runs it one at a time per pin.
 */
import { toLarderError } from '../core/errors.js';
import type { Warmer } from '../core/warm.js';
import { parseRef } from '../prewarm/refs.js';
import { warmClosure } from './closure.js';
import type { PinStore, StoredPin } from './store.js';

/** A change of the pin set, as replicated to child daemons. */
export interface PinEvent {
  kind: 'add' | 'remove' | 'resolve';
  ref: string;
  resolved?: string;
}

/** What a refresh reads and writes: the PinManager's table, warmers and hooks. */
export interface RefreshDeps {
  table: PinStore;
  warmers: Map<string, Warmer>;
  /** Aborted at shutdown: a closure being fetched stops. */
  signal: AbortSignal;
  /** Pins whose first resolution add() reports itself (no `resolve` event). */
  adding: ReadonlySet<string>;
  /** Applies `change` to the pin as stored now (nothing when it was removed meanwhile) and reports the result. */
  save(id: string, change: (cur: StoredPin) => StoredPin | undefined): Promise<StoredPin | undefined>;
  onEvent?(e: PinEvent): void;
}

/**
 * Every write is applied to the pin as stored then: a pin that another
 * writer moved to another resolution since this refresh began keeps that
 * resolution (the next check decides), never a stale copy of this one.
 */
export async function refreshPin(d: RefreshDeps, id: string, initial: boolean): Promise<void> {
  const base = d.table.get(id);
  if (!base) return;
  const ref = parseRef(base.ref);
  const warmer = d.warmers.get(ref.protocol)!;
  const movedElsewhere = (cur: StoredPin, to?: string): boolean => cur.resolved !== base.resolved && cur.resolved !== to;
  try {
    const now = Date.now();
    if (!initial && base.resolved !== undefined) {
      const upstream = await warmer.resolve(ref);
      if (upstream === base.resolved) {
        await d.save(id, (cur) => {
          if (movedElsewhere(cur)) return undefined;
          const { changeSeenAt: _c, error: _e, ...rest } = cur;
          return { ...rest, lastCheckedAt: now, status: 'ok' };
        });
        return;
      }
      await d.save(id, (cur) =>
        movedElsewhere(cur) ? undefined : { ...cur, lastCheckedAt: now, changeSeenAt: cur.changeSeenAt ?? now, status: 'lagging' },
      );
    }
    // The closure's keys are stored before the marker goes: the cluster's eviction sees one or the other.
    const release = await d.table.warming?.(id);
    const seen = { moved: false };
    let after: StoredPin | undefined;
    try {
      const closure = await warmClosure(d.warmers, ref, d.signal);
      after = await d.save(id, (cur) => {
        if (movedElsewhere(cur, closure.resolved)) return undefined;
        seen.moved = cur.resolved !== closure.resolved && !(cur.resolved === undefined && d.adding.has(id));
        const { changeSeenAt: _c, error: _e, ...fresh } = cur;
        if (cur.resolved !== undefined && cur.resolved !== closure.resolved && cur.historyLimit > 0)
          fresh.history = [{ resolved: cur.resolved, keys: cur.keys }, ...cur.history].slice(0, cur.historyLimit);
        return {
          ...fresh,
          resolved: closure.resolved,
          keys: closure.keys,
          size: closure.bytes,
          items: closure.keys.length,
          status: 'ok',
          lastCheckedAt: Date.now(),
        };
      });
    } finally {
      await release?.();
    }
    if (seen.moved && after?.resolved !== undefined) d.onEvent?.({ kind: 'resolve', ref: after.ref, resolved: after.resolved });
  } catch (err) {
    const e = toLarderError(err);
    await d.save(id, (cur) =>
      movedElsewhere(cur) ? undefined : { ...cur, status: cur.changeSeenAt ? 'lagging' : 'error', error: `${e.code}: ${e.message}` },
    );
  }
}
