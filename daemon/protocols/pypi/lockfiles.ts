/** requirements*.txt as a pre-warm plan: pinned `name==version` lines with their `--hash`es. */
import type { LockfilePlanner, PlannedItem } from '../contract.js';

function requirements(text: string): PlannedItem[] {
  const out: PlannedItem[] = [];
  for (const logical of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = logical.replace(/(^|\s)#.*$/, '').trim();
    if (!line || line.startsWith('-')) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([A-Za-z0-9.+!_-]+)/.exec(line);
    if (!m) continue;
    const hashes = [...line.matchAll(/--hash[=\s]+sha256:([0-9a-f]{64})/g)].map((h) => ({ algo: 'sha256' as const, hex: h[1]! }));
    const item: PlannedItem = { ref: `pypi:${m[1]}==${m[2]}` };
    if (hashes.length) item.expect = hashes;
    out.push(item);
  }
  return out;
}

export const pypiPlanners: readonly LockfilePlanner[] = [
  { reads: 'requirements.txt', matches: (b) => /requirements.*\.txt$/.test(b), plan: requirements },
];
