/**
 * Tag listing and referrers.
 * - `tags/list` is passed through (never cached) with `n` and `last`; the
 *   upstream's `Link: <…>; rel="next"` is rewritten to the mirror path the
 *   client used (path prefix and `ns` kept). An upstream that ignores `n`
 *   is paged here, so clients always get pages of at most `n`.
 * - `referrers/<digest>` is passed through; when the upstream has no
 *   referrers API (404) Larder answers per spec from the fallback tag
 *   `sha256-<hex>` if it holds an index, else with an empty OCI index.
 */
import { readBody } from '../../core/read-body.js';
import { drain, header, isAbsent, upstreamStatusError } from '../../core/upstream-status.js';
import { LarderError } from '../../core/errors.js';
import type { ProtoResponse } from '../adapter.js';
import { API_VERSION_HEADER } from './blobs.js';
import { ociError } from './errors.js';
import { MediaTypes, parseAccept } from './media.js';
import type { ManifestStore } from './manifests.js';
import type { RepoTarget } from './routes.js';
import type { OciUpstream } from './upstream.js';

const MAX_TAG_LIST_BYTES = 32 * 1024 * 1024;

/** Rewrites an upstream `Link` header's target onto the client's mirror path. */
export function rewriteLink(link: string, target: RepoTarget, endpoint: string): string {
  return link.replace(/<([^>]*)>/g, (_, url: string) => {
    let query: URLSearchParams;
    try {
      query = new URL(url, 'http://upstream.invalid/').searchParams;
    } catch {
      return '<>';
    }
    if (target.ns) query.set('ns', target.ns);
    const qs = query.toString();
    return `</v2/${target.clientPath}/${endpoint}${qs ? `?${qs}` : ''}>`;
  });
}

/** GET `/v2/<name>/tags/list[?n=&last=]`. */
export async function listTags(up: OciUpstream, target: RepoTarget, query: URLSearchParams): Promise<ProtoResponse> {
  const q = new URLSearchParams();
  for (const k of ['n', 'last']) {
    const v = query.get(k);
    if (v !== null) q.set(k, v);
  }
  const qs = q.toString();
  const res = await up.request({
    path: `v2/${target.name}/tags/list${qs ? `?${qs}` : ''}`,
    repo: target.name,
    headers: { accept: 'application/json' },
  });
  if (isAbsent(res.status)) {
    drain(res);
    throw ociError('NAME_UNKNOWN', `repository ${target.name} is unknown upstream`);
  }
  if (res.status === 400) {
    drain(res);
    throw new LarderError('E_BAD_REQUEST', 'the upstream refused the pagination parameters');
  }
  if (res.status !== 200) throw upstreamStatusError(`tags of ${target.name}`, res);
  const headers: Record<string, string> = { ...API_VERSION_HEADER, 'content-type': header(res, 'content-type') ?? 'application/json' };
  const link = header(res, 'link');
  let body = await readBody(res, MAX_TAG_LIST_BYTES, `tags of ${target.name}`);
  if (link) headers.link = rewriteLink(link, target, 'tags/list');
  else {
    const page = paginate(body, q);
    if (page) {
      body = page.body;
      headers['content-type'] = 'application/json';
      if (page.last !== undefined)
        headers.link = rewriteLink(
          `</?${new URLSearchParams({ n: q.get('n')!, last: page.last }).toString()}>; rel="next"`,
          target,
          'tags/list',
        );
    }
  }
  return { status: 200, headers, body: { type: 'buffer', data: body }, cache: 'BYPASS' };
}

/**
 * Pages a tag list locally when the upstream ignored `n` (distribution 2.8
 * does): tags in lexical order after `last`, at most `n`, plus the last tag
 * of the page when more follow. Undefined when no paging is needed.
 */
export function paginate(body: Buffer, q: URLSearchParams): { body: Buffer; last: string | undefined } | undefined {
  const n = Number(q.get('n'));
  if (!q.has('n') || !Number.isSafeInteger(n) || n < 0) return undefined;
  let doc: { name?: unknown; tags?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch {
    return undefined;
  }
  if (!Array.isArray(doc.tags) || doc.tags.length <= n) return undefined;
  const last = q.get('last');
  const all = (doc.tags as unknown[]).filter((t): t is string => typeof t === 'string').sort();
  const after = last === null ? all : all.filter((t) => t > last);
  const tags = after.slice(0, n);
  const more = after.length > n && tags.length > 0;
  return { body: Buffer.from(JSON.stringify({ ...doc, tags })), last: more ? tags[tags.length - 1] : undefined };
}

interface IndexDoc {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: Array<{ artifactType?: string }>;
}

/** GET `/v2/<name>/referrers/<digest>[?artifactType=]`. */
export async function referrers(
  up: OciUpstream,
  target: RepoTarget,
  digest: string,
  query: URLSearchParams,
  manifests: ManifestStore,
): Promise<ProtoResponse> {
  const artifactType = query.get('artifactType') ?? undefined;
  const qs = artifactType ? `?${new URLSearchParams({ artifactType }).toString()}` : '';
  const res = await up.request({
    path: `v2/${target.name}/referrers/${digest}${qs}`,
    repo: target.name,
    headers: { accept: MediaTypes.ociIndex },
  });
  if (res.status === 200) {
    const headers: Record<string, string> = { ...API_VERSION_HEADER, 'content-type': MediaTypes.ociIndex };
    const filters = header(res, 'oci-filters-applied');
    if (filters) headers['oci-filters-applied'] = filters;
    const link = header(res, 'link');
    if (link) headers.link = rewriteLink(link, target, `referrers/${digest}`);
    return { status: 200, headers, body: { type: 'stream', stream: res.body }, cache: 'BYPASS' };
  }
  if (!isAbsent(res.status)) throw upstreamStatusError(`referrers of ${digest}`, res);
  drain(res);
  // No referrers API upstream: the referrers tag schema (`sha256-<hex>`), else an empty index.
  let doc: IndexDoc = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] };
  let raw: Buffer | undefined;
  try {
    const tag = `${digest.replace(':', '-')}`.slice(0, 128);
    const m = await manifests.get(up, target.name, tag, parseAccept(MediaTypes.ociIndex));
    if (m.body && m.mediaType === MediaTypes.ociIndex) {
      raw = m.body;
      doc = JSON.parse(m.body.toString('utf8')) as IndexDoc;
    }
  } catch (err) {
    if (!(err instanceof LarderError) || err.code !== 'E_NOT_FOUND') throw err;
  }
  const headers: Record<string, string> = { ...API_VERSION_HEADER, 'content-type': MediaTypes.ociIndex, 'cache-control': 'no-store' };
  if (artifactType) {
    doc = { ...doc, manifests: (doc.manifests ?? []).filter((d) => d.artifactType === artifactType) };
    headers['oci-filters-applied'] = 'artifactType';
    raw = undefined;
  }
  return { status: 200, headers, body: { type: 'buffer', data: raw ?? Buffer.from(JSON.stringify(doc)) }, cache: 'BYPASS' };
}
