/**
 * Response shapes of the sparse index: documents (config.json, index files)
 * from their derived body with an ETag and Last-Modified cargo revalidates
 * with (the HTTP layer answers its conditional requests 304), `.crate`
 * files from the blob cache, and errors as cargo prints them,
 * `{"errors":[{"detail":"…"}]}`.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import type { ProtoResponse, RenderedError } from '../adapter.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A document's `body` variant. */
export async function documentResponse(documents: DocumentCache, served: ServedDocument): Promise<ProtoResponse> {
  const ref = served.entry.variants?.body;
  if (!ref) throw new LarderError('E_INTERNAL', `document ${served.entry.key} has no body`, { expose: false });
  return {
    status: 200,
    headers: {
      'content-type': ref.mediaType,
      etag: ref.etag,
      'last-modified': new Date(served.entry.fetchedAt).toUTCString(),
      'cache-control': 'public, max-age=60',
    },
    body: { type: 'buffer', data: await documents.variant(ref) },
    cache: served.state,
  };
}

/** A verified `.crate` file. */
export function crateResponse(blob: ServedBlob): ProtoResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/gzip', 'cache-control': IMMUTABLE },
    body: { type: 'blob', blob },
    cache: blob.state,
  };
}

/** cargo's error body; the stable code rides in X-Larder-Error. */
export function renderCargoError(err: LarderError): RenderedError {
  const message = err.expose ? err.message : 'internal error';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-larder-error': err.code,
    'cache-control': 'no-store',
  };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  const body = { errors: [{ detail: `${message} (${err.code})` }] };
  return { status: err.status, headers, body: Buffer.from(JSON.stringify(body)) };
}
