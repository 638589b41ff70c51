/**
 * The whole closure of a pinned reference: the artifact plus, for npm, its
 * dependency tree (children reported by the warmer), each fetched through
 * the same warm path. Keys are the union of every entry the tree needs.
 */
import { LarderError } from '../core/errors.js';
import type { Ref } from '../core/refs.js';
import { parseRef } from '../prewarm/refs.js';
import type { Closure, Warmer } from '../core/warm.js';

/** Refuses trees larger than this many references (a pin is not a mirror of the registry). */
const MAX_REFS = 5_000;
const CONCURRENCY = 8;

export async function warmClosure(warmers: Map<string, Warmer>, root: Ref, signal: AbortSignal): Promise<Closure> {
  const rootWarmer = warmers.get(root.protocol);
  if (!rootWarmer) throw new LarderError('E_BAD_REQUEST', `cannot pin ${root.raw}: no ${root.protocol} adapter is configured`);
  const top = await rootWarmer.warm(root, { signal, deps: true, onBytes: () => undefined });
  const keys = new Set(top.keys);
  let bytes = top.bytes;
  let fetched = top.fetched;
  const seen = new Set<string>([root.raw]);
  const queue = [...top.children];
  const worker = async (): Promise<void> => {
    for (let raw = queue.shift(); raw !== undefined; raw = queue.shift()) {
      if (seen.has(raw)) continue;
      seen.add(raw);
      if (seen.size > MAX_REFS)
        throw new LarderError('E_BAD_REQUEST', `${root.raw}: the dependency tree has more than ${MAX_REFS} references`);
      const ref = parseRef(raw);
      const warmer = warmers.get(ref.protocol);
      if (!warmer) continue;
      const c = await warmer.warm(ref, { signal, deps: true, onBytes: () => undefined });
      for (const k of c.keys) keys.add(k);
      bytes += c.bytes;
      fetched += c.fetched;
      queue.push(...c.children);
    }
  };
  // Workers stop when the queue is momentarily empty; loop until no child is left.
  while (queue.length) await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { resolved: top.resolved, keys: [...keys], bytes, fetched, children: [] };
}
