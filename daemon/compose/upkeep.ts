/**
 * Part of the composition root: the store's upkeep. Builds the maintenance
 * operations (evict, gc, remove), the budget keeper that evicts as soon as a
 * commit takes usage past the high watermark, the background scrub, and the
 * periodic enforcement pass (the timer is a backstop; gc runs now and then).
 */
import type { AuditLog } from '../admin/audit.js';
import type { EventBus } from '../admin/events.js';
import type { LoadedConfig } from '../config/load.js';
import { BudgetKeeper } from '../core/budget.js';
import { type Budget, Maintenance, usage } from '../core/eviction.js';
import type { BlobStore, HotCache } from '../core/ports.js';
import { Scrubber } from '../core/scrub.js';
import type { Entry } from '../core/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { PinManager } from '../pins/manager.js';
import type { LmdbIndex } from '../storage/lmdb-index.js';

const GC_EVERY_MS = 10 * 60_000;

export interface UpkeepDeps {
  cfg: LoadedConfig;
  index: LmdbIndex;
  blobs: BlobStore;
  hot: HotCache;
  metrics: Metrics;
  log: Logger;
  audit: AuditLog;
  events: EventBus;
  /** Pinned closures are never evicted, and scrub repairs them first. */
  pins: PinManager;
  budget: Budget;
  /** Re-fetches an entry (scrub repair); resolves true when repaired. */
  repair(entry: Entry): Promise<boolean>;
  /** Writes batched access times now (before eviction picks the least recently used). */
  flushAccess?(): Promise<void>;
  /** A blob was evicted for the budget (the admin's eviction count). */
  evicted(bytes: number): void;
}

export interface Upkeep {
  maintenance: Maintenance;
  keeper: BudgetKeeper;
  scrubber: Scrubber;
  /** One enforcement pass (budget, then gc when due); calls while one runs share it. */
  enforce(): Promise<void>;
  /** The pass in flight, if any (stop waits for it before the index closes). */
  enforcing(): Promise<void> | undefined;
}

export function buildUpkeep(p: UpkeepDeps): Upkeep {
  const { cfg, index, metrics, log, audit, events, pins } = p;
  const maintenance = new Maintenance({
    blobs: p.blobs,
    index,
    hot: p.hot,
    protectedKeys: () => pins.protectedKeys(),
    flushAccess: p.flushAccess,
    onRemoved: async (r) => {
      metrics.evictions.inc({ reason: r.reason }, 1);
      if (r.reason === 'evict') p.evicted(r.bytes);
      await audit.append({
        action: 'delete',
        actor: r.reason === 'operator' ? 'admin-api' : 'daemon',
        target: r.digest,
        reason: r.reason,
        details: { bytes: r.bytes, entries: r.keys.length },
      });
      if (r.reason !== 'gc')
        events.activity('eviction', `${r.reason}: removed ${r.digest.slice(0, 19)}… (${r.bytes} bytes, ${r.keys.length} entries)`);
    },
  });
  const keeper = new BudgetKeeper({
    maintenance,
    budget: p.budget,
    usage: () => index.usage(),
    onError: (err) => log.error({ err: (err as Error).message }, 'eviction failed'),
  });
  index.onGrow((u) => keeper.grew(u));
  const scrubber = new Scrubber({
    blobs: p.blobs,
    index,
    hot: p.hot,
    bytesPerSecond: cfg.storage.scrubRate,
    protectedKeys: () => pins.protectedKeys(),
    repair: p.repair,
    onCorrupt: async (digest, keys) => {
      metrics.scrubCorrupt.inc();
      log.warn({ digest, entries: keys.length }, 'scrub: blob does not match its digest; quarantined');
      events.activity('scrub', `corrupt blob ${digest.slice(0, 19)}… quarantined (${keys.length} entries)`);
      await audit.append({ action: 'delete', actor: 'daemon', target: digest, reason: 'scrub: digest mismatch, quarantined' });
    },
  });

  let enforcing: Promise<void> | undefined;
  let lastGc = Date.now();
  const enforce = (): Promise<void> => (enforcing ??= enforceOnce().finally(() => (enforcing = undefined)));
  const enforceOnce = async (): Promise<void> => {
    try {
      const r = await keeper.enforce();
      if (r.removed) log.info(r, 'storage budget enforced');
      // Blobs no entry references any more (old revisions of documents) are collected now and then.
      if (Date.now() - lastGc > GC_EVERY_MS) {
        lastGc = Date.now();
        const g = await maintenance.gc();
        if (g.removed) log.info(g, 'unreferenced blobs collected');
      }
      metrics.setStorageUsed(usage(index).bytes);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'eviction failed');
    }
  };
  return { maintenance, keeper, scrubber, enforce, enforcing: () => enforcing };
}
