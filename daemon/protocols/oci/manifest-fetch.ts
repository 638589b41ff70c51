/**
 * Upstream manifest requests: a GET that reads the (small) body whole and
 * determines its media type, a tag HEAD turned into a small tag → digest
 * document, and synthetic responses that hand already-read bodies to the
 * cache core.
 */
import { Readable } from 'node:stream';
import { LarderError } from '../../core/errors.js';
import { readBody } from '../../core/read-body.js';
import { sha256Hex } from '../../core/digest.js';
import { drain, header } from '../../core/upstream-status.js';
import type { UpstreamResponse } from '../../core/ports.js';
import { ociError } from './errors.js';
import { bareType, isManifestType, manifestTypeOf, MAX_MANIFEST_BYTES } from './media.js';
import { isDigest } from './routes.js';
import type { OciUpstream } from './upstream.js';

/** What a manifest is, without its bytes. */
export interface ManifestInfo {
  /** `Docker-Content-Digest` as served (the requested digest for by-digest requests). */
  digest: string;
  mediaType: string;
  size: number;
}

/** A response whose body is already in memory. */
export function syntheticResponse(
  status: number,
  body: Buffer,
  headers: Record<string, string | undefined>,
  url: string,
): UpstreamResponse {
  const h: UpstreamResponse['headers'] = { 'content-length': String(body.length) };
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
  return { status, headers: h, body: Readable.from([body]), url };
}

export function manifestPath(name: string, reference: string): string {
  return `v2/${name}/manifests/${reference}`;
}

/** A fetched manifest: bytes, type and the upstream's digest header. */
export interface FetchedManifest {
  body: Buffer;
  mediaType: string;
  /** sha256 of the bytes. */
  computed: string;
  /** The upstream's `Docker-Content-Digest`, if sent. */
  announced: string | undefined;
  url: string;
}

/**
 * GETs a manifest with the given Accept. Non-200 answers are returned as they
 * are (body unread) so the caller or the core maps them.
 */
export async function getManifest(
  up: OciUpstream,
  name: string,
  reference: string,
  accept: string,
  signal?: AbortSignal,
): Promise<FetchedManifest | UpstreamResponse> {
  const res = await up.request({ path: manifestPath(name, reference), repo: name, headers: { accept }, signal });
  if (res.status !== 200) return res;
  const body = await readBody(res, MAX_MANIFEST_BYTES, `manifest ${name}:${reference}`);
  return {
    body,
    mediaType: manifestTypeOf(header(res, 'content-type'), body),
    computed: `sha256:${sha256Hex(body)}`,
    announced: header(res, 'docker-content-digest'),
    url: res.url,
  };
}

export function isFetched(v: FetchedManifest | UpstreamResponse): v is FetchedManifest {
  return 'computed' in v;
}

/** Refuses a manifest of a stored type whose bytes do not match the upstream's own digest. */
export function checkAnnounced(m: FetchedManifest, what: string): void {
  if (!isManifestType(m.mediaType) || !m.announced?.startsWith('sha256:')) return;
  if (m.announced !== m.computed) {
    throw new LarderError('E_INTEGRITY', `${what}: upstream bytes do not match its Docker-Content-Digest`, {
      details: { expected: m.announced, actual: m.computed },
    });
  }
}

/**
 * Resolves a tag with a HEAD carrying the full Accept (Docker Hub does not
 * count HEADs against the pull quota). A 200 becomes a small JSON document
 * `{digest, mediaType, size}` for the DocumentCache; 304/404/errors pass
 * through. When the HEAD lacks digest, type or length, `fallback` GETs the
 * manifest instead (and stores it).
 */
export async function headTag(
  up: OciUpstream,
  name: string,
  tag: string,
  accept: string,
  etag: string | undefined,
  signal: AbortSignal,
  fallback: () => Promise<ManifestInfo>,
): Promise<UpstreamResponse> {
  const headers: Record<string, string> = { accept, 'accept-encoding': 'identity' };
  if (etag) headers['if-none-match'] = etag;
  const res = await up.request({ method: 'HEAD', path: manifestPath(name, tag), repo: name, headers, signal });
  if (res.status !== 200) return res;
  drain(res);
  const digest = header(res, 'docker-content-digest');
  const mediaType = bareType(header(res, 'content-type'));
  const size = Number(header(res, 'content-length'));
  const complete = digest !== undefined && isDigest(digest) && isManifestType(mediaType) && Number.isSafeInteger(size) && size > 0;
  const info: ManifestInfo = complete ? { digest, mediaType: mediaType!, size } : await fallback();
  return syntheticResponse(200, Buffer.from(JSON.stringify(info)), { etag: complete ? header(res, 'etag') : undefined }, res.url);
}

/** Reads a tag document written by {@link headTag} (parsed JSON or the entry's meta). */
export function tagInfo(value: unknown): ManifestInfo {
  const doc = (value ?? {}) as Partial<Record<keyof ManifestInfo, unknown>>;
  if (typeof doc.digest !== 'string' || typeof doc.mediaType !== 'string' || typeof doc.size !== 'number') {
    throw ociError('UNAVAILABLE', 'cached tag document is malformed');
  }
  return { digest: doc.digest, mediaType: doc.mediaType, size: doc.size };
}
