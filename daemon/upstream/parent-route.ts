/**
 * How a remote's upstream URLs map onto its parent Larder's endpoints in a
 * mirror hierarchy. The mapping is a list of prefix pairs, so it also runs
 * backwards (a parent URL found in a parent's answer → the upstream URL,
 * for the fallback). Each remote type's protocol supplies its pairs
 * (`RemoteKind.parentPrefixes`), e.g. an npm remote R → `<parent>/npm/`,
 * an http remote R → `<parent>/files/R/`; named ones assume the parent has
 * a remote of the same name and type.
 */
import type { PrefixPair, RemoteConfig, RemoteKind } from './remote-kind.js';

export type { PrefixPair };

/** A parent link as a Remote sees it. */
export interface ParentLink {
  /** Base URL of the parent daemon (trailing slash). */
  base: URL;
  /** `Authorization` value for the parent; sent to the parent's origin only. */
  authorization?: string;
  /** Whether a failed parent exchange is retried against the remote's own upstream. */
  fallback: boolean;
  /** The remote types of the registered protocols (each maps its own URLs). */
  kinds: readonly RemoteKind[];
}

/** The prefix pairs of one remote (most specific first). */
export function parentPrefixes(name: string, config: RemoteConfig, base: URL, parent: ParentLink): PrefixPair[] {
  const kind = parent.kinds.find((k) => k.type === config.type);
  if (!kind) throw new TypeError(`expected a registered remote type, got ${JSON.stringify(config.type)}`);
  return kind.parentPrefixes(name, config, base, parent.base);
}

/** Where a request for `url` goes: to the parent (with the upstream URL for a fallback), or directly. */
export function routeThroughParent(url: string, pairs: PrefixPair[], parent: URL): { parent: string; upstream?: string } | undefined {
  for (const pair of pairs) {
    if (url.startsWith(pair.upstream)) return { parent: pair.parent + url.slice(pair.upstream.length), upstream: url };
  }
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return undefined;
  }
  if (origin !== parent.origin) return undefined;
  // A URL the parent handed out (a rewritten tarball or file link): map it back for the fallback.
  for (const pair of pairs) {
    if (url.startsWith(pair.parent)) return { parent: url, upstream: pair.upstream + url.slice(pair.parent.length) };
  }
  return { parent: url };
}
