/**
 * How a remote's upstream URLs map onto its parent Larder's endpoints in a
 * mirror hierarchy. The mapping is a list of prefix pairs, so it also runs
 * backwards (a parent URL found in a parent's answer → the upstream URL,
 * for the fallback):
 *
 *   npm  R → <parent>/npm/                      (the parent's npm routing: scopes, default)
 *   oci  R (host H), <base>v2/… → <parent>/v2/H/…   (path-prefix layout)
 *   pypi R → <parent>/pypi/R/simple/
 *   go   R → <parent>/go/R/,  sumdb D → <parent>/go/R/sumdb/D/
 *   http R → <parent>/files/R/
 *
 * Named protocols (pypi, go, http) assume the parent has a remote of the same
 * name and type.
 */
import type { RemoteConfig } from '../config/schema.js';

/** One mapping: URLs starting with `upstream` go to `parent` + the rest. */
export interface PrefixPair {
  upstream: string;
  parent: string;
}

/** A parent link as a Remote sees it. */
export interface ParentLink {
  /** Base URL of the parent daemon (trailing slash). */
  base: URL;
  /** `Authorization` value for the parent; sent to the parent's origin only. */
  authorization?: string;
  /** Whether a failed parent exchange is retried against the remote's own upstream. */
  fallback: boolean;
}

const withSlash = (u: string): string => (u.endsWith('/') ? u : `${u}/`);

/** The prefix pairs of one remote (most specific first). */
export function parentPrefixes(name: string, config: RemoteConfig, base: URL, parent: URL): PrefixPair[] {
  const p = (path: string): string => new URL(path, parent).toString();
  const b = base.toString();
  switch (config.type) {
    case 'npm':
      return [{ upstream: b, parent: p('npm/') }];
    case 'oci':
      return [{ upstream: new URL('v2/', base).toString(), parent: p(`v2/${config.host.toLowerCase()}/`) }];
    case 'pypi':
      return [{ upstream: b, parent: p(`pypi/${name}/simple/`) }];
    case 'go': {
      const pairs = config.sumdbs.map((db) => ({
        upstream: withSlash(config.sumdbUrls?.[db] ?? `https://${db}/`),
        parent: p(`go/${name}/sumdb/${db}/`),
      }));
      return [...pairs, { upstream: b, parent: p(`go/${name}/`) }];
    }
    case 'http':
      return [{ upstream: b, parent: p(`files/${name}/`) }];
  }
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
