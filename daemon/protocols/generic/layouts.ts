/**
 * Layout presets: which paths of a generic HTTP remote are immutable, which
 * are mutable (revalidated under HTTP caching rules), and which protocol
 * behaviour applies to them (checksum sources, apt suite invalidation).
 *
 *   maven            release artifacts and their sidecars immutable;
 *                    maven-metadata*.xml and *-SNAPSHOT/ mutable
 *   apt              pool/** and dists/…/by-hash/<ALGO>/<hex> immutable;
 *                    dists/<suite>/{InRelease,Release,Release.gpg} and the
 *                    path-addressed indexes below dists/ mutable
 *   github-releases  releases/download/<tag>/<asset> mutable (revalidated),
 *                    releases/latest/… always revalidated
 *   plain            everything mutable
 */

export type Layout = 'maven' | 'apt' | 'github-releases' | 'plain';
export type Policy = 'immutable' | 'mutable' | 'bypass';

export type PathKind =
  | { kind: 'file' }
  /** A Maven release file whose `.sha1`/`.sha256` sidecar can verify it. */
  | { kind: 'maven-artifact' }
  | { kind: 'apt-release'; suiteDir: string }
  | { kind: 'apt-index' }
  | { kind: 'apt-by-hash'; algo: 'sha1' | 'sha256' | 'sha512' | undefined; hex: string }
  | { kind: 'apt-pool' };

export type Classified = PathKind & {
  policy: Policy;
  /** Freshness when the upstream gives none (overrides the remote ttl). */
  ttlMs?: number;
  /** Upper bound on freshness whatever the upstream says (0: revalidate every use). */
  maxTtlMs?: number;
};

/** Checksum sidecar suffixes Maven repositories publish next to each file. */
export const MAVEN_SIDECARS = ['.sha1', '.md5', '.sha256', '.sha512', '.asc'] as const;

/** Strips every trailing sidecar suffix (`x.jar.asc.sha1` → `x.jar`). */
export function stripSidecars(file: string): string {
  let out = file;
  for (let again = true; again; ) {
    again = false;
    for (const ext of MAVEN_SIDECARS) {
      if (out.length > ext.length && out.endsWith(ext)) {
        out = out.slice(0, -ext.length);
        again = true;
      }
    }
  }
  return out;
}

function maven(path: string): Classified {
  const segs = path.split('/');
  const file = segs[segs.length - 1]!;
  const base = stripSidecars(file);
  if (base.startsWith('maven-metadata')) return { policy: 'mutable', kind: 'file' };
  if (segs.length < 4) return { policy: 'mutable', kind: 'file' };
  const version = segs[segs.length - 2]!;
  const artifact = segs[segs.length - 3]!;
  if (version.endsWith('-SNAPSHOT')) return { policy: 'mutable', kind: 'file' };
  if (!base.startsWith(`${artifact}-${version}`)) return { policy: 'mutable', kind: 'file' };
  return base === file ? { policy: 'immutable', kind: 'maven-artifact' } : { policy: 'immutable', kind: 'file' };
}

const BY_HASH = /^dists\/.+\/by-hash\/(MD5Sum|SHA1|SHA256|SHA512)\/([0-9a-fA-F]+)$/;
const RELEASE_FILE = /^(dists\/[^/]+(?:\/[^/]+)?)\/(InRelease|Release\.gpg)$/;
const TOP_RELEASE = /^(dists\/[^/]+)\/Release$/;

function apt(path: string): Classified {
  if (path.startsWith('pool/')) return { policy: 'immutable', kind: 'apt-pool' };
  const h = BY_HASH.exec(path);
  if (h) {
    const name = h[1]!;
    const algo = name === 'SHA1' ? 'sha1' : name === 'SHA256' ? 'sha256' : name === 'SHA512' ? 'sha512' : undefined;
    return { policy: 'immutable', kind: 'apt-by-hash', algo, hex: h[2]!.toLowerCase() };
  }
  const r = RELEASE_FILE.exec(path) ?? TOP_RELEASE.exec(path);
  if (r) return { policy: 'mutable', kind: 'apt-release', suiteDir: r[1]! };
  if (path.startsWith('dists/')) return { policy: 'mutable', kind: 'apt-index' };
  return { policy: 'mutable', kind: 'file' };
}

const GH_LATEST = /^[^/]+\/[^/]+\/releases\/latest(?:\/|$)/;

function githubReleases(path: string): Classified {
  if (GH_LATEST.test(path)) return { policy: 'mutable', kind: 'file', maxTtlMs: 0 };
  return { policy: 'mutable', kind: 'file' };
}

/** Classifies a decoded path (no leading slash) by a layout preset. */
export function classifyByLayout(layout: Layout, path: string): Classified {
  switch (layout) {
    case 'maven':
      return maven(path);
    case 'apt':
      return apt(path);
    case 'github-releases':
      return githubReleases(path);
    case 'plain':
      return { policy: 'mutable', kind: 'file' };
  }
}
