/**
 * The child's client of its parent's pin change feed
 * (`GET <parent>/_/api/v1/feed`, long-poll), with the parent's token only.
 */
import { LarderError } from '../core/errors.js';
import { outgoingVia } from '../core/hops.js';
import type { UpstreamClient } from '../core/ports.js';
import { readBody } from '../core/read-body.js';
import { drain } from '../core/upstream-status.js';
import type { FeedPage, FeedRecord } from '../admin/contract.js';

export interface ParentFeedOptions {
  client: UpstreamClient;
  /** Base URL of the parent (trailing slash). */
  parent: URL;
  authorization?: string;
  /** This daemon's `Via` name. */
  hop: string;
  /** The name this daemon reports as `child`. */
  child: string;
}

const KINDS = new Set(['add', 'remove', 'resolve']);

function isRecord(v: unknown): v is FeedRecord {
  const r = v as Partial<FeedRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    Number.isSafeInteger(r.seq) &&
    typeof r.at === 'number' &&
    typeof r.ref === 'string' &&
    KINDS.has(String(r.kind)) &&
    (r.resolved === undefined || typeof r.resolved === 'string')
  );
}

export class ParentFeedClient {
  constructor(private readonly o: ParentFeedOptions) {}

  /** Records after `since`; the parent holds the request up to `waitSeconds` when there are none. */
  async poll(since: number, waitSeconds: number, signal: AbortSignal): Promise<FeedPage> {
    const url = new URL('_/api/v1/feed', this.o.parent);
    url.searchParams.set('since', String(since));
    url.searchParams.set('wait', String(waitSeconds));
    url.searchParams.set('child', this.o.child);
    const headers: Record<string, string> = { accept: 'application/json', via: outgoingVia(this.o.hop, undefined) };
    if (this.o.authorization) headers.authorization = this.o.authorization;
    const res = await this.o.client.request({ url: url.toString(), headers, signal, timeoutMs: (waitSeconds + 15) * 1000 });
    if (res.status !== 200) {
      drain(res);
      const where = `parent feed ${url.origin}`;
      if (res.status === 401 || res.status === 403)
        throw new LarderError(
          'E_UNAUTHORIZED',
          `${where} refused the token (parent.token needs scope replicate: run 'larder token create --scope replicate' on the parent)`,
        );
      if (res.status === 508) throw new LarderError('E_LOOP', `${where}: this daemon is its own ancestor (parent loop)`);
      throw new LarderError('E_UPSTREAM_STATUS', `${where} answered ${res.status}`, { details: { upstreamStatus: res.status } });
    }
    const body = await readBody(res, 32 * 1024 * 1024, 'parent feed');
    let page: Partial<FeedPage>;
    try {
      page = JSON.parse(body.toString('utf8')) as Partial<FeedPage>;
    } catch {
      throw new LarderError('E_UPSTREAM', 'parent feed: the answer is not JSON');
    }
    if (
      typeof page.daemon !== 'string' ||
      !Number.isSafeInteger(page.head) ||
      typeof page.now !== 'number' ||
      !Array.isArray(page.records) ||
      !page.records.every(isRecord)
    ) {
      throw new LarderError('E_UPSTREAM', 'parent feed: unexpected answer (is the parent a Larder daemon?)');
    }
    return page as FeedPage;
  }
}
