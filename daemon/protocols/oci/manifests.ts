/**
 * Manifests: stored byte-exact in the blob cache under
 * `oci:<remote>:manifest:<digest>` (verified against the digest), and tags
 * kept as small mutable documents `oci:<remote>:tag:<name>:<tag>` →
 * `{digest, mediaType, size}` in the document cache, which revalidates them
 * with a HEAD after the remote's TTL and serves the last known mapping
 * (STALE) when the upstream fails or rate-limits.
 */
import type { Readable } from 'node:stream';
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache } from '../../core/document-cache.js';
import { parseDigest } from '../../core/digest.js';
import { isAbsent, upstreamStatusError, drain } from '../../core/upstream-status.js';
import type { CacheState, ExpectedDigest } from '../../core/types.js';
import { asUnknown, ociError } from './errors.js';
import {
  checkAnnounced,
  getManifest,
  headTag,
  isFetched,
  tagInfo,
  syntheticResponse,
  type FetchedManifest,
  type ManifestInfo,
} from './manifest-fetch.js';
import { accepts, FULL_ACCEPT, isManifestType, manifestTypeOf, MAX_MANIFEST_BYTES, type AcceptSet } from './media.js';
import { isDigest } from './routes.js';
import type { OciUpstream } from './upstream.js';

export type { ManifestInfo } from './manifest-fetch.js';

/** A served manifest; `body` is absent only for HEAD answers made from the tag document. */
export interface ManifestResult extends ManifestInfo {
  body: Buffer | undefined;
  state: CacheState;
  /**
   * Settles (never rejects) once a manifest fetched for this answer is committed; absent for hits.
   * A client is answered from the verified bytes without waiting for it (a commit is an fsync);
   * callers that go on to look at the index (closures, pins, repair) wait.
   */
  committed?(): Promise<unknown>;
}

const TAG_DERIVE = 'oci-tag-1';

export class ManifestStore {
  constructor(
    private readonly documents: DocumentCache,
    private readonly blobs: BlobCache,
  ) {}

  /** A manifest by tag or digest, negotiated against the client's Accept. With `head` the body may be left out. */
  async get(up: OciUpstream, name: string, reference: string, accept: AcceptSet, head = false): Promise<ManifestResult> {
    if (isDigest(reference)) return this.byDigest(up, name, reference, head);
    const tag = await this.resolveTag(up, name, reference);
    if (!accepts(accept, tag.info.mediaType)) return this.negotiated(up, name, reference, accept);
    if (head) return { ...tag.info, body: undefined, state: tag.state };
    const m = await this.byDigest(up, name, tag.info.digest, false);
    return { ...m, state: tag.state === 'STALE' || m.state !== 'MISS' ? tag.state : 'MISS' };
  }

  /** Tag → digest, resolved upstream by HEAD (document cache: TTL, coalescing, stale-serve); `fresh` revalidates now. */
  async resolveTag(up: OciUpstream, name: string, tag: string, fresh = false): Promise<{ info: ManifestInfo; state: CacheState }> {
    const remote = up.remote;
    const s = remote.settings;
    try {
      const served = await this.documents.get(
        {
          key: tagKey(up.name, name, tag),
          ttlMs: s.ttlMs,
          negativeTtlMs: s.negativeTtlMs,
          offline: remote.offline,
          maxBytes: 64 * 1024,
          deriveTag: TAG_DERIVE,
          fetch: (validators, signal) =>
            headTag(up, name, tag, FULL_ACCEPT, validators.etag, signal, () => this.fetchTagBody(up, name, tag)),
          derive: (raw) => ({
            variants: {},
            meta: { ...tagInfo(JSON.parse(raw.toString('utf8'))), protocol: 'oci', kind: 'tag', remote: up.name, name },
          }),
        },
        { forceRefresh: fresh },
      );
      return { info: tagInfo(served.entry.meta), state: served.state };
    } catch (err) {
      throw asUnknown(err, 'MANIFEST_UNKNOWN', `manifest ${name}:${tag} is unknown upstream`);
    }
  }

  /** A manifest by digest from the cache, else fetched (full Accept), verified and stored. */
  async byDigest(up: OciUpstream, name: string, digest: string, head: boolean): Promise<ManifestResult> {
    const key = manifestKey(up, digest);
    const entry = this.blobs.peek(key);
    if (entry) {
      const info = { digest, mediaType: entry.mediaType ?? 'application/octet-stream', size: entry.size };
      if (head) return { ...info, body: undefined, state: 'HIT' };
      const hit = await this.blobs.cached(key);
      if (hit) return { ...info, body: await bodyOf(hit), state: 'HIT' };
    }
    const stored = await this.store(up, name, key, parseDigest(digest), async (signal) => {
      const got = await getManifest(up, name, digest, FULL_ACCEPT, signal);
      return isFetched(got) ? toResponse(got) : got;
    });
    return { ...stored, digest };
  }

  /**
   * The client accepts none of the canonical type: ask the upstream with the
   * client's own Accept. Manifests of the four types are stored by digest;
   * anything else (schema 1, signed per request) is passed through uncached.
   */
  private async negotiated(up: OciUpstream, name: string, tag: string, accept: AcceptSet): Promise<ManifestResult> {
    const got = await getManifest(up, name, tag, accept.header ?? FULL_ACCEPT);
    if (!isFetched(got)) {
      if (isAbsent(got.status)) {
        drain(got);
        throw ociError('MANIFEST_UNKNOWN', `manifest ${name}:${tag} is not available in the accepted media types`);
      }
      throw upstreamStatusError(`manifest ${name}:${tag}`, got);
    }
    if (!isManifestType(got.mediaType)) {
      return { digest: got.announced ?? got.computed, mediaType: got.mediaType, size: got.body.length, body: got.body, state: 'BYPASS' };
    }
    checkAnnounced(got, `manifest ${name}:${tag}`);
    return this.store(up, name, manifestKey(up, got.computed), parseDigest(got.computed), async () => toResponse(got));
  }

  /** GETs a tag's manifest when a HEAD did not describe it, storing the bytes on the way. */
  private async fetchTagBody(up: OciUpstream, name: string, tag: string): Promise<ManifestInfo> {
    const got = await getManifest(up, name, tag, FULL_ACCEPT);
    if (!isFetched(got)) {
      if (isAbsent(got.status)) {
        drain(got);
        throw ociError('MANIFEST_UNKNOWN', `manifest ${name}:${tag} is unknown upstream`);
      }
      throw upstreamStatusError(`manifest ${name}:${tag}`, got);
    }
    checkAnnounced(got, `manifest ${name}:${tag}`);
    const stored = await this.store(up, name, manifestKey(up, got.computed), parseDigest(got.computed), async () => toResponse(got));
    return { digest: stored.digest, mediaType: stored.mediaType, size: stored.size };
  }

  /** Runs a manifest through the blob cache's fill (single-flight, verify, commit) and reads it back. */
  private async store(
    up: OciUpstream,
    name: string,
    key: string,
    expected: ExpectedDigest,
    fetch: (signal: AbortSignal) => ReturnType<OciUpstream['request']>,
  ): Promise<ManifestResult> {
    let served: ServedBlob;
    try {
      served = await this.blobs.get({
        key,
        expected: [expected],
        maxBytes: MAX_MANIFEST_BYTES,
        offline: up.remote.offline,
        negativeTtlMs: up.remote.settings.negativeTtlMs,
        meta: { protocol: 'oci', kind: 'manifest', remote: up.name, name },
        fetch,
      });
    } catch (err) {
      throw asUnknown(err, 'MANIFEST_UNKNOWN', `manifest ${name}@${expected.algo}:${expected.hex} is unknown upstream`);
    }
    const body = await bodyOf(served);
    // The verified bytes are answered now; the commit (temp → fsync → rename → index) goes on behind the answer.
    const mediaType = served.mediaType ?? this.blobs.peek(key)?.mediaType ?? manifestTypeOf(undefined, body);
    return {
      digest: `${expected.algo}:${expected.hex}`,
      mediaType,
      size: body.length,
      body,
      state: served.state,
      committed: () => served.done(),
    };
  }
}

/** Index key of a manifest of a remote. */
export function manifestKey(up: OciUpstream | string, digest: string): string {
  return `oci:${typeof up === 'string' ? up : up.name}:manifest:${digest}`;
}

/** Index key of a tag document (tag → digest) of a remote. */
export function tagKey(remote: string, name: string, tag: string): string {
  return `oci:${remote}:tag:${name}:${tag}`;
}

function toResponse(m: FetchedManifest): ReturnType<typeof syntheticResponse> {
  return syntheticResponse(200, m.body, { 'content-type': m.mediaType }, m.url);
}

async function bodyOf(served: ServedBlob): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of served.open() as Readable & AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
