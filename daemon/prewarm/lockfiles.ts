/**
 * Reads lockfiles and manifests into references to warm, keeping each
 * lockfile's own hash so the artifact is verified against it. Each protocol
 * brings the planners of its ecosystem's files (package-lock.json, go.sum,
 * requirements.txt, Dockerfiles …); a file goes to the first planner that
 * claims its name, catch-all planners (`*.yaml`) last.
 */
import { LarderError } from '../core/errors.js';
import type { LockfilePlanner, PlannedItem } from '../protocols/contract.js';
import { PROTOCOLS } from '../protocols/registry.js';

export type { PlannedItem };

const PLANNERS: readonly LockfilePlanner[] = PROTOCOLS.flatMap((p) => p.planners ?? []);

/** Plans the items of one file, chosen by its name; they never expand dependency ranges. */
export function planFile(name: string, content: string, planners: readonly LockfilePlanner[] = PLANNERS): PlannedItem[] {
  return planByName(name, content, planners).map((item) => ({ ...item, deps: false }));
}

function planByName(name: string, content: string, planners: readonly LockfilePlanner[]): PlannedItem[] {
  const base = name.split(/[\\/]/).pop()!.toLowerCase();
  const planner = planners.find((p) => !p.fallback && p.matches(base)) ?? planners.find((p) => p.fallback && p.matches(base));
  if (!planner) {
    const known = planners.map((p) => p.reads).join(', ');
    throw new LarderError('E_BAD_REQUEST', `${name}: unsupported file (expected one of: ${known})`);
  }
  try {
    return planner.plan(content);
  } catch (err) {
    if (err instanceof LarderError) throw err;
    throw new LarderError('E_BAD_REQUEST', `${name}: cannot parse: ${(err as Error).message.split('\n')[0]}`);
  }
}
