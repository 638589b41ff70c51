/**
 * Manifest media types and content negotiation. Larder resolves tags with
 * all four types accepted (the upstream's canonical manifest) and serves that
 * one when the client accepts it; otherwise it asks the upstream with the
 * client's own Accept, because registries answer narrower Accepts
 * differently (distribution 2.8 downgrades schema 2 to schema 1, resolves a
 * manifest list to its amd64 child, and hides OCI types).
 */

export const MediaTypes = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/** The four manifest types Larder stores byte-exact. */
export const MANIFEST_TYPES: readonly string[] = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerList,
  MediaTypes.dockerManifest,
];

/** Accept header listing all four types (used to resolve tags and fetch by digest). */
export const FULL_ACCEPT = MANIFEST_TYPES.join(', ');

/** Manifests larger than this are refused (distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

export function isManifestType(type: string | undefined): boolean {
  return type !== undefined && MANIFEST_TYPES.includes(type);
}

export function isIndexType(type: string): boolean {
  return type === MediaTypes.ociIndex || type === MediaTypes.dockerList;
}

/** A media type without parameters, lower-cased. */
export function bareType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

/** The manifest types a client accepts; `all` when it sent no Accept or a wildcard. */
export interface AcceptSet {
  all: boolean;
  types: ReadonlySet<string>;
  /** The client's header as sent (forwarded upstream for narrower requests). */
  header: string | undefined;
}

export function parseAccept(header: string | string[] | undefined): AcceptSet {
  const raw = Array.isArray(header) ? header.join(', ') : header;
  const types = new Set<string>();
  let all = raw === undefined || raw.trim() === '';
  for (const part of (raw ?? '').split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (!type) continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    if (type === '*/*' || type === 'application/*') all = true;
    else types.add(type);
  }
  return { all, types, header: raw };
}

export function accepts(set: AcceptSet, type: string): boolean {
  return set.all || set.types.has(type);
}

/**
 * The media type of a manifest body: the upstream's Content-Type when it is a
 * manifest type, else the body's own `mediaType` field, else the shape
 * (`manifests` → OCI index, `config` → OCI manifest).
 */
export function manifestTypeOf(contentType: string | undefined, body: Buffer): string {
  const fromHeader = bareType(contentType);
  if (fromHeader && fromHeader !== 'application/json' && fromHeader !== 'application/octet-stream' && fromHeader !== 'text/plain') {
    return fromHeader;
  }
  try {
    const doc = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown };
    if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
    if (Array.isArray(doc.manifests)) return MediaTypes.ociIndex;
    if (doc.config !== undefined) return MediaTypes.ociManifest;
  } catch {
    // not JSON: fall through
  }
  return fromHeader ?? 'application/octet-stream';
}
