/**
 * Response shapes of the PyPI Simple API: a project list or project page in
 * the form the client's `Accept` asks for (`Vary: Accept`, files withheld by
 * the policy left out), a distribution file byte for byte, and errors as
 * text/plain.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import { withheldEtag } from '../../core/policy/index.js';
import type { ProtoRequest, ProtoResponse, RenderedError } from '../adapter.js';
import { negotiate, PAGE_TYPES } from './negotiate.js';
import { type PypiPolicy, withholdFiles } from './policy.js';

const PAGE_CACHE_CONTROL = 'public, max-age=600';

/** A project list or project page in the negotiated form; `remote` and `project` name a project page (policy applies). */
export async function pageResponse(
  { documents, policy }: { documents: DocumentCache; policy?: PypiPolicy | undefined },
  req: ProtoRequest,
  served: ServedDocument,
  remote?: string,
  project?: string,
): Promise<ProtoResponse> {
  const accept = typeof req.headers.accept === 'string' ? req.headers.accept : undefined;
  const format = negotiate(accept, req.query.get('format'));
  if (!format) {
    throw new LarderError('E_BAD_REQUEST', `none of the accepted types is served; use ${Object.values(PAGE_TYPES).join(', ')}`, {
      status: 406,
    });
  }
  const ref = served.entry.variants?.[format === 'json' ? 'json' : 'html'];
  if (!ref) throw new LarderError('E_INTERNAL', `page ${served.entry.key} has no derived forms`, { expose: false });
  let data = await documents.variant(ref);
  let etag = format === 'html-v1' ? `${ref.etag.slice(0, -1)}-v1"` : ref.etag;
  const jsonRef = served.entry.variants?.json;
  if (policy && remote !== undefined && project !== undefined && jsonRef && policy.mayWithhold(remote, project, served)) {
    const json = await documents.variant(jsonRef);
    const withheld = policy.withheld(remote, project, json);
    if (withheld) {
      const forms = withholdFiles(json, project, withheld);
      data = format === 'json' ? forms.json : forms.html;
      etag = withheldEtag(etag, withheld);
    }
  }
  return {
    status: 200,
    headers: {
      'content-type': PAGE_TYPES[format],
      vary: 'Accept',
      etag,
      'cache-control': PAGE_CACHE_CONTROL,
      'last-modified': new Date(served.entry.fetchedAt).toUTCString(),
    },
    body: { type: 'buffer', data },
    cache: served.state,
  };
}

/** A distribution file or its `.metadata`, immutable. */
export function fileResponse(blob: ServedBlob): ProtoResponse {
  return {
    status: 200,
    headers: {
      'content-type': blob.mediaType ?? 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
    },
    body: { type: 'blob', blob },
    cache: blob.state,
  };
}

/** An error as text/plain. */
export function errorResponse(err: LarderError): RenderedError {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  const message = err.expose ? err.message : 'internal error';
  return { status: err.status, headers, body: Buffer.from(`${err.status} ${message} (${err.code})\n`) };
}
