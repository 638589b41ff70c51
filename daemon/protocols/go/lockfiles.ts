/** go.sum as a pre-warm plan: every module version it lists (go.mod-only lines included). */
import type { LockfilePlanner, PlannedItem } from '../contract.js';

function goSum(text: string): PlannedItem[] {
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const [mod, version] = line.trim().split(/\s+/);
    if (!mod || !version) continue;
    seen.add(`go:${mod}@${version.replace(/\/go\.mod$/, '')}`);
  }
  return [...seen].map((ref) => ({ ref }));
}

export const goPlanners: readonly LockfilePlanner[] = [{ reads: 'go.sum', matches: (b) => b === 'go.sum', plan: goSum }];
