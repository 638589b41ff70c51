/**
 * Where pins are kept: this daemon's durable table, or in cluster mode the
 * cluster's pin set in etcd (which the manager does not know of). Reads are
 * local; a change goes through `update`, which applies it to the pin as
 * stored now, so two writers never overwrite each other's pin with a stale
 * copy (in cluster mode a conditional write, retried on a conflict).
 */
import type { KvTable } from '../core/ports.js';
import type { Pin } from '../admin/contract.js';

export interface StoredPin extends Pin {
  keys: string[];
  /** Closures kept from earlier resolutions (history). */
  history: Array<{ resolved: string; keys: string[] }>;
  historyLimit: number;
}

/** A change of one pin: the new pin from the stored one (undefined: no write). */
export type PinChange = (current: StoredPin | undefined) => StoredPin | undefined;

export interface PinStore extends KvTable<StoredPin> {
  /** Applies `change` to the pin as stored now and writes the result; answers the pin as stored after. */
  update(id: string, change: PinChange): Promise<StoredPin | undefined>;
  /**
   * Marks a closure of pin `id` as being warmed (the cluster's eviction
   * waits while any is marked); answers the release. Absent for one daemon.
   */
  warming?(id: string): Promise<() => Promise<void>>;
}

/** Every entry key the pins protect (current closures and kept history). */
export function pinnedKeys(pins: Iterable<[string, StoredPin]>): Set<string> {
  const out = new Set<string>();
  for (const [, p] of pins) {
    for (const k of p.keys) out.add(k);
    for (const h of p.history) for (const k of h.keys) out.add(k);
  }
  return out;
}

/** One daemon's pin store: its durable table (one process writes it; refreshes of a pin take turns). */
export function localPinStore(table: KvTable<StoredPin>): PinStore {
  return {
    get: (key) => table.get(key),
    range: (opts) => table.range(opts),
    put: (key, value) => table.put(key, value),
    remove: (key) => table.remove(key),
    async update(id, change) {
      const next = change(table.get(id));
      if (next) await table.put(id, next);
      return table.get(id);
    },
  };
}
