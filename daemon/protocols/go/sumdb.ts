/**
 * Checksum database proxying (`<proxy>/sumdb/<db>/…`). `supported` answers
 * 200 only for the databases a remote lists, so go asks any other database
 * directly; `latest` (a signed tree head) is a short-lived document, while
 * `lookup/<module>@<version>` records and `tile/…` hashes never change and
 * are cached as immutable artifacts. Signed notes cannot be forged by a
 * mirror: bodies are forwarded byte for byte and go verifies them.
 */
import type { BlobCache } from '../../core/blob-cache.js';
import type { DocumentCache } from '../../core/document-cache.js';
import { notFound } from '../../core/errors.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoResponse } from '../adapter.js';
import { isGoRemote } from './config.js';
import { isModulePath, unescapeCase } from './module-path.js';
import { blobResponse, documentResponse } from './responses.js';

/** How long a cached tree head is served before it is fetched again. */
export const SUMDB_LATEST_TTL_MS = 60_000;

const TILE = /^tile\/\d{1,2}\/(?:data|\d{1,2})\/(?:x\d{3}\/)*\d{3}(?:\.p\/\d{1,3})?$/;
const LOOKUP = /^lookup\/([a-z0-9._~!/-]+)@([a-z0-9._~!+-]+)$/;

/** Whether `path` (below `/sumdb/<db>/`) is one a checksum database serves. */
export function isSumdbPath(path: string): boolean {
  if (path === 'supported' || path === 'latest' || TILE.test(path)) return true;
  const m = LOOKUP.exec(path);
  if (!m) return false;
  try {
    return isModulePath(unescapeCase(m[1]!)) && unescapeCase(m[2]!).length > 0;
  } catch {
    return false;
  }
}

/** The databases a go remote proxies, and where each one lives. */
function sumdbBase(remote: Remote, db: string): string | undefined {
  const cfg = remote.settings.config;
  if (!isGoRemote(cfg) || !cfg.sumdbs.includes(db)) return undefined;
  const base = cfg.sumdbUrls?.[db] ?? `https://${db}/`;
  return base.endsWith('/') ? base : `${base}/`;
}

export class SumdbProxy {
  constructor(private readonly opts: { documents: DocumentCache; blobs: BlobCache }) {}

  async handle(remote: Remote, db: string, path: string): Promise<ProtoResponse> {
    const base = sumdbBase(remote, db);
    if (!base) throw notFound(`checksum database ${db} (not proxied by remote ${remote.name})`);
    if (!isSumdbPath(path)) throw notFound(`checksum database path ${JSON.stringify(path.slice(0, 200))}`);
    if (path === 'supported') {
      return {
        status: 200,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' },
        body: { type: 'empty' },
      };
    }
    const url = new URL(path, base).toString();
    const s = remote.settings;
    const key = `go:${remote.name}:sumdb:${db}:${path}`;
    if (path === 'latest') {
      const served = await this.opts.documents.get({
        key,
        ttlMs: Math.min(s.ttlMs, SUMDB_LATEST_TTL_MS),
        negativeTtlMs: s.negativeTtlMs,
        offline: remote.offline,
        deriveTag: 'go-sumdb-1',
        fetch: (_validators, signal) => remote.request({ url, signal, withAuth: false }),
        derive: (raw) => ({ variants: { body: { body: raw, mediaType: 'text/plain; charset=utf-8' } } }),
      });
      return documentResponse(this.opts.documents, served, 'no-cache');
    }
    const served = await this.opts.blobs.get({
      key,
      expected: [],
      maxBytes: 16 * 1024 * 1024,
      offline: remote.offline,
      negativeTtlMs: s.negativeTtlMs,
      meta: { protocol: 'go', remote: remote.name, sumdb: db },
      fetch: (signal) => remote.request({ url, signal, withAuth: false }),
    });
    return blobResponse(served, path.startsWith('tile/') ? 'application/octet-stream' : 'text/plain; charset=utf-8');
  }
}
