/**
 * Blobs (configs and layers): immutable, keyed `oci:<remote>:blob:<digest>`,
 * filled through the core commit protocol with the digest from the path as
 * the expected hash, so a wrong byte from the upstream fails the transfer and
 * is never stored. Concurrent cold requests share one upstream GET and read
 * the growing temp file, Range included (the HTTP layer serves ranges of
 * `blob` bodies). Upstream redirects (CDN/S3) are followed by the client,
 * which drops Authorization across hosts; their URLs are never stored.
 */
import { Readable } from 'node:stream';
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import { parseDigest } from '../../core/digest.js';
import { resumeHeaders } from '../../core/served.js';
import { drain, header, isAbsent, upstreamStatusError } from '../../core/upstream-status.js';
import type { ProtoResponse } from '../adapter.js';
import { asUnknown, ociError } from './errors.js';
import type { OciUpstream } from './upstream.js';

export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;

export class BlobService {
  constructor(private readonly blobs: BlobCache) {}

  /** The cache key of a blob of a remote. */
  static key(up: OciUpstream | string, digest: string): string {
    return `oci:${typeof up === 'string' ? up : up.name}:blob:${digest}`;
  }

  /** GET or HEAD `/v2/<name>/blobs/<digest>`. */
  async serve(up: OciUpstream, name: string, digest: string, head: boolean): Promise<ProtoResponse> {
    const key = BlobService.key(up, digest);
    const cached = await this.blobs.cached(key);
    if (cached) return blobResponse(cached, digest);
    if (head) return this.headUpstream(up, name, digest);
    return blobResponse(await this.fetch(up, name, digest), digest);
  }

  /** Starts (or joins) the fill of a blob; used by GETs and by pre-warming. */
  async fetch(up: OciUpstream, name: string, digest: string): Promise<ServedBlob> {
    const remote = up.remote;
    try {
      return await this.blobs.get({
        key: BlobService.key(up, digest),
        expected: [parseDigest(digest)],
        mediaType: 'application/octet-stream',
        maxBytes: remote.settings.maxArtifactBytes,
        offline: remote.offline,
        negativeTtlMs: remote.settings.negativeTtlMs,
        meta: { protocol: 'oci', kind: 'blob', remote: up.name, name },
        fetch: (signal, from) =>
          up.request({
            path: `v2/${name}/blobs/${digest}`,
            repo: name,
            headers: { 'accept-encoding': 'identity', ...resumeHeaders(from) },
            signal,
          }),
      });
    } catch (err) {
      throw asUnknown(err, 'BLOB_UNKNOWN', `blob ${digest} is unknown upstream`);
    }
  }

  /** HEAD of a blob that is not cached: asks the upstream, stores nothing. */
  private async headUpstream(up: OciUpstream, name: string, digest: string): Promise<ProtoResponse> {
    if (up.remote.offline) throw ociError('BLOB_UNKNOWN', `blob ${digest} is not cached and the remote is offline`);
    const res = await up.request({
      method: 'HEAD',
      path: `v2/${name}/blobs/${digest}`,
      repo: name,
      headers: { 'accept-encoding': 'identity' },
    });
    if (isAbsent(res.status)) {
      drain(res);
      throw ociError('BLOB_UNKNOWN', `blob ${digest} is unknown upstream`);
    }
    if (res.status !== 200) throw upstreamStatusError(`blob ${digest}`, res);
    drain(res);
    const size = Number(header(res, 'content-length'));
    return {
      status: 200,
      headers: {
        ...API_VERSION_HEADER,
        'content-type': 'application/octet-stream',
        'docker-content-digest': digest,
        'accept-ranges': 'bytes',
      },
      body: Number.isSafeInteger(size) && size >= 0 ? { type: 'stream', stream: Readable.from([]), length: size } : { type: 'empty' },
      cache: 'BYPASS',
    };
  }
}

function blobResponse(blob: ServedBlob, digest: string): ProtoResponse {
  const headers: Record<string, string> = {
    ...API_VERSION_HEADER,
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
    'cache-control': 'public, max-age=31536000, immutable',
  };
  if (digest.startsWith('sha256:')) headers.etag = `"${digest.slice(7)}"`;
  return { status: 200, headers, body: { type: 'blob', blob }, cache: blob.state };
}
