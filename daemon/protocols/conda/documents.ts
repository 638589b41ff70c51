/**
 * Conda's index documents through the streaming HTTP cache: repodata in
 * every form, `current_repodata.json`, `run_exports.json`, the CEP-16 shard
 * index and `channeldata.json` are stored byte for byte as the upstream
 * sent them (never parsed or held whole: they can be hundreds of MB) and
 * revalidated with the upstream's validators once the remote's TTL or the
 * upstream's own max-age (the shorter) runs out (the TTL alone when the
 * upstream gives no freshness). A
 * `stale-while-revalidate` directive is dropped: while the upstream
 * answers, clients get its answer, never an older copy; when it fails,
 * the cached copy is served STALE.
 */
import type { HttpCache, HttpServed } from '../../core/http-cache.js';
import type { HttpCacheRequest } from '../../core/http-exchange.js';
import type { UpstreamResponse } from '../../core/ports.js';
import type { Validators } from '../../core/types.js';
import { header } from '../../core/upstream-status.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoResponse } from '../adapter.js';

const SWR = /(^|,)\s*stale-while-revalidate(=\d+)?\s*(?=,|$)/gi;

/**
 * The response as the cache should judge it: without `stale-while-revalidate`,
 * and with the remote's TTL as its max-age when the upstream gives no
 * freshness of its own (instead of a Last-Modified heuristic).
 */
function judged(res: UpstreamResponse, ttlMs: number): UpstreamResponse {
  const cc = header(res, 'cache-control');
  let kept = cc === undefined ? undefined : cc.replace(SWR, '').replace(/^\s*,\s*/, '');
  if (!/max-age|no-cache|no-store/i.test(kept ?? '') && header(res, 'expires') === undefined) {
    kept = [kept, `max-age=${Math.floor(ttlMs / 1000)}`].filter(Boolean).join(', ');
  }
  return kept === cc ? res : { ...res, headers: { ...res.headers, 'cache-control': kept } };
}

export function docKey(remote: string, path: string): string {
  return `conda:${remote}:doc:${path}`;
}

function mediaTypeOf(path: string, upstream: string | undefined): string {
  if (path.endsWith('.json')) return 'application/json';
  if (path.endsWith('.zst')) return 'application/zstd';
  if (path.endsWith('.bz2')) return 'application/x-bzip2';
  return upstream ?? 'application/octet-stream';
}

/** Gets a channel document (path below the channel base, already validated) through the HTTP cache. */
export function getDocument(cache: HttpCache, remote: Remote, path: string): Promise<HttpServed> {
  const s = remote.settings;
  const url = remote.resolve(path);
  const req: HttpCacheRequest = {
    key: docKey(remote.name, path),
    label: `${remote.name}/${path}`,
    immutable: false,
    fallbackTtlMs: s.ttlMs,
    maxTtlMs: s.ttlMs,
    maxBytes: s.maxArtifactBytes,
    offline: remote.offline,
    negativeTtlMs: s.negativeTtlMs,
    meta: { protocol: 'conda', remote: remote.name, path },
    fetch: async (validators: Validators, signal: AbortSignal) => {
      const headers: Record<string, string> = { accept: '*/*', 'accept-encoding': 'identity' };
      if (validators.etag) headers['if-none-match'] = validators.etag;
      if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
      return judged(await remote.request({ url, headers, signal }), s.ttlMs);
    },
  };
  return cache.get(req);
}

/** The client response for a document: its bytes as stored, with the upstream's validators. */
export function documentResponse(path: string, served: HttpServed): ProtoResponse {
  if (served.kind === 'bypass') {
    const res = served.response;
    const length = Number(header(res, 'content-length'));
    return {
      status: 200,
      headers: { 'content-type': mediaTypeOf(path, header(res, 'content-type')), 'cache-control': 'no-cache' },
      body: { type: 'stream', stream: res.body, ...(Number.isSafeInteger(length) && length >= 0 ? { length } : {}) },
      cache: 'BYPASS',
    };
  }
  const headers: Record<string, string> = { 'content-type': mediaTypeOf(path, served.mediaType), 'cache-control': 'no-cache' };
  if (served.etag) headers.etag = served.etag;
  if (served.lastModified) headers['last-modified'] = served.lastModified;
  return { status: 200, headers, body: { type: 'blob', blob: served.blob }, cache: served.state };
}
