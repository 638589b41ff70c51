/**
 * Cargo.lock as a pre-warm plan: every `[[package]]` from a registry
 * (`registry+…` or `sparse+…` source; path and git packages have no
 * `.crate`), with its `checksum` as the sha256 the `.crate` must have. The
 * lockfile lists the whole tree, so dependencies are not expanded.
 */
import type { LockfilePlanner, PlannedItem } from '../contract.js';

interface Package {
  name?: string;
  version?: string;
  source?: string;
  checksum?: string;
}

const KEY_VALUE = /^([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/;

function packages(text: string): Package[] {
  const out: Package[] = [];
  let current: Package | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      current = line === '[[package]]' ? {} : undefined;
      if (current) out.push(current);
      continue;
    }
    const kv = current ? KEY_VALUE.exec(line) : null;
    if (!current || !kv) continue;
    const [, key, value] = kv;
    if (key === 'name' || key === 'version' || key === 'source' || key === 'checksum') current[key] = value;
  }
  return out;
}

function cargoLock(text: string): PlannedItem[] {
  const items: PlannedItem[] = [];
  const seen = new Set<string>();
  for (const p of packages(text)) {
    if (!p.name || !p.version || !p.source || !/^(registry|sparse)\+/.test(p.source)) continue;
    const ref = `cargo:${p.name}@${p.version}`;
    if (seen.has(ref)) continue;
    seen.add(ref);
    const item: PlannedItem = { ref, deps: false };
    if (p.checksum && /^[0-9a-f]{64}$/.test(p.checksum)) item.expect = [{ algo: 'sha256', hex: p.checksum }];
    items.push(item);
  }
  return items;
}

export const cargoPlanners: readonly LockfilePlanner[] = [{ reads: 'Cargo.lock', matches: (b) => b === 'cargo.lock', plan: cargoLock }];
