/**
 * The reference grammar of the registered protocols (each supplies its
 * scheme; see core/refs.ts): what the admin API, the CLI, pin files,
 * pre-warm jobs and bundles parse references with.
 */
import { RefGrammar, type Ref } from '../core/refs.js';
import { PROTOCOLS } from '../protocols/registry.js';

export const REFS = new RefGrammar(PROTOCOLS.flatMap((p) => (p.refs ? [p.refs] : [])));

export type { Ref };

export function parseRef(input: string): Ref {
  return REFS.parse(input);
}

/** Whether a parsed reference can move upstream (tags, dist-tags, ranges). */
export function isMutable(ref: Ref): boolean {
  return REFS.isMutable(ref);
}
