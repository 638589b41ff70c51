/**
 * Response shapes of the Go module proxy: immutable artifacts served from
 * the blob cache byte for byte, mutable documents from their stored body, and
 * errors as text/plain where everything that is not a malformed request
 * becomes a 404, so `GOPROXY=larder,next` always falls through.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import type { ProtoResponse, RenderedError } from '../adapter.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** An immutable artifact (.mod, .zip, canonical .info, sumdb lookup/tile). */
export function blobResponse(blob: ServedBlob, mediaType: string): ProtoResponse {
  return {
    status: 200,
    headers: { 'content-type': mediaType, 'cache-control': IMMUTABLE },
    body: { type: 'blob', blob },
    cache: blob.state,
  };
}

/** A mutable document (list, @latest, version queries, sumdb latest): its `body` variant. */
export async function documentResponse(
  documents: DocumentCache,
  served: ServedDocument,
  cacheControl = 'public, max-age=60',
): Promise<ProtoResponse> {
  const ref = served.entry.variants?.body;
  if (!ref) throw new LarderError('E_INTERNAL', `document ${served.entry.key} has no body`, { expose: false });
  return {
    status: 200,
    headers: {
      'content-type': ref.mediaType,
      etag: ref.etag,
      'cache-control': cacheControl,
      'last-modified': new Date(served.entry.fetchedAt).toUTCString(),
    },
    body: { type: 'buffer', data: await documents.variant(ref) },
    cache: served.state,
  };
}

/** Statuses kept as they are; every other failure is reported as 404 "not here". */
const KEPT = new Set([400, 404, 405, 406, 410, 416]);

/**
 * Go's proxy protocol: 404/410 mean "try the next proxy", anything else stops
 * the go command. Upstream outages, auth and rate-limit answers and internal
 * failures therefore become 404 with the reason in the text body (and the
 * stable code in X-Larder-Error).
 */
export function renderGoError(err: LarderError): RenderedError {
  // A policy refusal stays 403 so the go command stops instead of trying `direct` (go/policy.ts).
  const status = KEPT.has(err.status) || err.code === 'E_FORBIDDEN' ? err.status : 404;
  const message = err.expose ? err.message : 'internal error';
  const reason = status === err.status ? '' : ` (upstream or cache failure, answered ${err.status} originally)`;
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-larder-error': err.code, 'cache-control': 'no-store' },
    body: Buffer.from(`${message}${reason}\n`),
  };
}
