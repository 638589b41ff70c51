/**
 * Expands an image reference into its closure: the (index →) platform
 * manifests → config and layers, with digests, sizes and media types. Used
 * to pre-warm and pin images. Manifests are fetched through the adapter's
 * own manifest path (cache, verification, stale-serve); blobs are only
 * described, never downloaded here.
 */
import { LarderError } from '../../core/errors.js';
import { ociError } from './errors.js';
import { isIndexType } from './media.js';

/** An OS/architecture pair, optionally with a variant (`linux/arm64/v8`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** One node of an image closure. */
export interface ClosureItem {
  digest: string;
  size: number;
  mediaType: string;
  kind: 'index' | 'manifest' | 'config' | 'layer';
  /** `os/arch[/variant]` of the manifest that brought the item in, when an index said so. */
  platform?: string;
}

export interface ImageClosure {
  remote: string;
  /** Repository name on the upstream. */
  name: string;
  /** The tag or digest that was expanded. */
  reference: string;
  /** Digest and media type of the root manifest. */
  digest: string;
  mediaType: string;
  /** Every manifest, root first. */
  manifests: ClosureItem[];
  /** Configs and layers, deduplicated, in first-seen order. */
  blobs: ClosureItem[];
  /** Sum of manifest and blob sizes. */
  totalBytes: number;
}

/** What {@link expandImage} needs from the OCI adapter. */
export interface ClosureSource {
  /** Picks the remote and upstream repository name for a reference's host and path. */
  locate(host: string | undefined, path: string): { remote: string; name: string };
  /** A manifest by tag or digest, through the cache. */
  manifest(remote: string, name: string, reference: string): Promise<{ digest: string; mediaType: string; size: number; body: Buffer }>;
}

/** A parsed image reference: `[host/]path[:tag][@digest]`. */
export interface ImageRef {
  host: string | undefined;
  path: string;
  /** The digest when given, else the tag (default `latest`). */
  reference: string;
}

/** Parses `docker.io/library/alpine:3`, `alpine`, `host:5000/a/b@sha256:…`. */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash > 0 ? rest.slice(0, slash) : '';
  const isHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  return {
    host: isHost ? first : undefined,
    path: isHost ? rest.slice(slash + 1) : rest,
    reference: digest ?? tag ?? 'latest',
  };
}

/** Parses `linux/arm64/v8` (or takes a Platform as is). */
export function parsePlatform(p: string | Platform): Platform {
  if (typeof p !== 'string') return p;
  const [os, architecture, variant] = p.split('/');
  if (!os || !architecture) throw new LarderError('E_BAD_REQUEST', `invalid platform ${JSON.stringify(p)}; expected os/arch[/variant]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function matches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  return want.os === have.os && want.architecture === have.architecture && (!want.variant || want.variant === have.variant);
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: Platform;
}

/**
 * Expands `ref` (see {@link parseImageRef}) into its closure. With a
 * platform, index entries for other platforms are left out; an index with no
 * matching entry is an error (MANIFEST_UNKNOWN).
 */
export async function expandImage(source: ClosureSource, ref: string, opts: { platform?: string | Platform } = {}): Promise<ImageClosure> {
  const parsed = parseImageRef(ref);
  const { remote, name } = source.locate(parsed.host, parsed.path);
  const want = opts.platform === undefined ? undefined : parsePlatform(opts.platform);
  const root = await source.manifest(remote, name, parsed.reference);
  const manifests: ClosureItem[] = [];
  const blobs = new Map<string, ClosureItem>();
  const seen = new Set<string>();

  const walk = async (m: { digest: string; mediaType: string; size: number; body: Buffer }, platform?: string): Promise<void> => {
    if (seen.has(m.digest)) return;
    seen.add(m.digest);
    const index = isIndexType(m.mediaType);
    manifests.push({
      digest: m.digest,
      size: m.size,
      mediaType: m.mediaType,
      kind: index ? 'index' : 'manifest',
      ...(platform ? { platform } : {}),
    });
    const doc = JSON.parse(m.body.toString('utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    if (index) {
      const children = (doc.manifests ?? []).filter((d) => typeof d.digest === 'string' && (!want || matches(want, d.platform)));
      if (want && children.length === 0) throw ociError('MANIFEST_UNKNOWN', `${ref} has no manifest for ${platformString(want)}`);
      const fetched = await Promise.all(children.map((d) => source.manifest(remote, name, d.digest!)));
      for (const [i, child] of fetched.entries()) {
        const p = children[i]?.platform;
        await walk(child, p ? platformString(p) : undefined);
      }
      return;
    }
    const parts: Array<[Descriptor | undefined, 'config' | 'layer']> = [
      [doc.config, 'config'],
      ...(doc.layers ?? []).map((l): [Descriptor, 'layer'] => [l, 'layer']),
    ];
    for (const [d, kind] of parts) {
      if (!d || typeof d.digest !== 'string' || blobs.has(d.digest)) continue;
      blobs.set(d.digest, {
        digest: d.digest,
        size: typeof d.size === 'number' ? d.size : 0,
        mediaType: d.mediaType ?? 'application/octet-stream',
        kind,
        ...(platform ? { platform } : {}),
      });
    }
  };
  await walk(root);
  const all = [...manifests, ...blobs.values()];
  return {
    remote,
    name,
    reference: parsed.reference,
    digest: root.digest,
    mediaType: root.mediaType,
    manifests,
    blobs: [...blobs.values()],
    totalBytes: all.reduce((n, i) => n + i.size, 0),
  };
}
