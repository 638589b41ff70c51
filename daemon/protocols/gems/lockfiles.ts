/**
 * Gemfile.lock as a pre-warm plan: every `name (version[-platform])` of
 * its `GEM` sections' specs (a lockfile lists the whole tree, so no
 * dependency is expanded), with the sha256 its `CHECKSUMS` section
 * records (Bundler 2.5 and later) where present. `GIT` and `PATH` sources
 * are not gems of a server and are left out.
 */
import type { LockfilePlanner, PlannedItem } from '../contract.js';

const SPEC = /^ {4}([A-Za-z0-9_][A-Za-z0-9._-]*) \(([0-9][0-9A-Za-z.]*(?:-[A-Za-z0-9_.-]+)?)\)$/;
const CHECKSUM = /^ {2}([A-Za-z0-9_][A-Za-z0-9._-]*) \(([^)\s]+)\)(?: (.*))?$/;

function gemfileLock(text: string): PlannedItem[] {
  const specs: Array<[string, string]> = [];
  const sums = new Map<string, string>();
  let section = '';
  let inSpecs = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^[A-Z]/.test(line)) {
      section = line.trim();
      inSpecs = false;
      continue;
    }
    if (section === 'GEM' && line === '  specs:') inSpecs = true;
    else if (section === 'GEM' && inSpecs) {
      const m = SPEC.exec(line);
      if (m) specs.push([m[1]!, m[2]!]);
    } else if (section === 'CHECKSUMS') {
      const m = CHECKSUM.exec(line);
      const sha = m?.[3]?.split(',').find((c) => c.startsWith('sha256='));
      if (m && sha && /^sha256=[0-9a-f]{64}$/.test(sha)) sums.set(`${m[1]}@${m[2]}`, sha.slice(7));
    }
  }
  const seen = new Set<string>();
  const out: PlannedItem[] = [];
  for (const [name, version] of specs) {
    const id = `${name}@${version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const item: PlannedItem = { ref: `gems:${id}`, deps: false };
    const sha = sums.get(id);
    if (sha) item.expect = [{ algo: 'sha256', hex: sha }];
    out.push(item);
  }
  return out;
}

export const gemsPlanners: readonly LockfilePlanner[] = [
  { reads: 'Gemfile.lock', matches: (b) => b === 'gemfile.lock' || b === 'gems.locked', plan: gemfileLock },
];
