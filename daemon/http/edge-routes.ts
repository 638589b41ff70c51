/**
 * Admin endpoints of mirror hierarchies and air-gap bundles, below
 * `/_/api/v1/` (auth and error format from admin-routes.ts):
 *
 *   GET  /feed?since=&wait=&child=&limit=  pin change feed; long-polls up to `wait` s (max 60)
 *   GET  /children                         daemons that poll the feed, with their lag
 *   POST /export   ExportRequest           the bundle, streamed as application/x-tar
 *   GET  /bundle-key                       {publicKey}: the key `export` signs with (for bundles.trustedKeys)
 *   POST /import?allowUnsigned=1  tar body  verifies (signature, blobs, npm integrity), then commits; → ImportReport
 */
import { pipeline, type Readable } from 'node:stream';
import type { Context } from 'koa';
import { LarderError } from '../core/errors.js';
import { hopName, viaIncludes } from '../core/hops.js';
import type { AuditLog } from '../admin/audit.js';
import type { ExportRequest, FeedPage, ImportReport } from '../admin/contract.js';
import type { ChildRegistry } from '../replication/children.js';
import type { PinFeed } from '../replication/feed.js';
import { readJson } from './admin-routes.js';

export interface EdgeRouteDeps {
  daemonId: string;
  /** Whose feed the pages say they are: this daemon's id, or its cluster's. */
  feedId: string;
  feed: PinFeed;
  children: ChildRegistry;
  audit: AuditLog;
  exportBundle(req: ExportRequest, signal: AbortSignal): Promise<{ stream: Readable; length: number; blobs: number }>;
  importBundle(source: AsyncIterable<Buffer>, opts: { allowUnsigned: boolean }): Promise<ImportReport>;
  /** This daemon's bundle signing public key (`ed25519:…`), created on first use. */
  bundleKey(): Promise<string>;
}

const CHILD = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_WAIT_S = 60;

function intParam(v: unknown, dflt: number, max: number): number {
  const n = typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.min(max, Math.floor(n)) : dflt;
}

/** Aborts when the client goes away before the answer is written. */
function clientGone(ctx: Context): AbortSignal {
  const ac = new AbortController();
  ctx.res.once('close', () => ac.abort());
  return ac.signal;
}

function checkExport(b: ExportRequest): ExportRequest {
  const strings = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!(b.pins === undefined || typeof b.pins === 'boolean' || strings(b.pins)) || !strings(b.refs) || !strings(b.prefixes)) {
    throw new LarderError(
      'E_BAD_REQUEST',
      'expected {"pins": true|[ids], "refs": [...], "files": [{name, content}], "prefixes": [...], "deps": bool}',
    );
  }
  if (
    b.files !== undefined &&
    (!Array.isArray(b.files) || b.files.some((f) => typeof f?.name !== 'string' || typeof f?.content !== 'string'))
  ) {
    throw new LarderError('E_BAD_REQUEST', 'files must be [{"name", "content"}]');
  }
  return b;
}

/** The `more` hook of the admin routes. */
export function edgeRoutes(d: EdgeRouteDeps): (ctx: Context, path: string, actor: string) => Promise<boolean> {
  return async (ctx, path, actor) => {
    const m = ctx.method;
    const q = ctx.query;
    if (m === 'GET' && path === '/feed') {
      const since = intParam(q.since, 0, Number.MAX_SAFE_INTEGER);
      const wait = intParam(q.wait, 0, MAX_WAIT_S);
      const limit = Math.max(1, intParam(q.limit, 100, 1000));
      const child = typeof q.child === 'string' && q.child ? q.child : undefined;
      if (child !== undefined && !CHILD.test(child))
        throw new LarderError('E_BAD_REQUEST', 'child must be 1-64 letters, digits, ".", "_" or "-"');
      if (child === d.daemonId || viaIncludes(ctx.get('via') || undefined, hopName(d.daemonId))) {
        throw new LarderError('E_LOOP', 'a daemon cannot replicate from itself (its parent URL points back at it)');
      }
      if (d.feed.isClosed) {
        ctx.set('connection', 'close');
        throw new LarderError('E_SHUTTING_DOWN', 'this daemon is shutting down', { retryAfter: 5 });
      }
      // Head 0 would tell a child the feed restarted: it asks again (maybe another node) instead.
      if (!d.feed.loaded)
        throw new LarderError('E_STORAGE', "the cluster's pin feed cannot be read yet (etcd unreachable)", { retryAfter: 5 });
      // Behind a load balancer a child may have read further on another node than this node's copy
      // holds: head below its position would read as a restarted feed (a full replay). It asks again.
      if (d.feed.shared && since > d.feed.head)
        throw new LarderError('E_BUSY', "this node's copy of the cluster's pin feed is behind; ask again", { retryAfter: 1 });
      const done = child ? d.children.seen(child, since) : undefined;
      try {
        // A child whose next records are gone (retention) is told the feed restarted: head 0 below its position.
        const gone = d.feed.trimmed(since);
        const records = gone ? [] : await d.feed.poll(since, wait * 1000, clientGone(ctx), limit);
        const page: FeedPage = { daemon: d.feedId, head: gone ? 0 : d.feed.head, now: Date.now(), records };
        ctx.set('cache-control', 'no-store');
        // Released by a shutdown: let the child reconnect elsewhere in time rather than reuse this socket.
        if (d.feed.isClosed) ctx.set('connection', 'close');
        ctx.body = page;
      } finally {
        done?.();
      }
      return true;
    }
    if (m === 'GET' && path === '/children') {
      ctx.body = d.children.list();
      return true;
    }
    if (m === 'POST' && path === '/export') {
      const req = checkExport(await readJson<ExportRequest>(ctx));
      const { stream, length, blobs } = await d.exportBundle(req, clientGone(ctx));
      await d.audit.append({ action: 'export', actor, details: { bytes: length, blobs } });
      ctx.respond = false;
      const name = `larder-bundle-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.tar`;
      ctx.res.writeHead(200, {
        'content-type': 'application/x-tar',
        'content-length': String(length),
        'content-disposition': `attachment; filename="${name}"`,
        'cache-control': 'no-store',
      });
      pipeline(stream, ctx.res, (err) => {
        if (err && !ctx.res.destroyed) ctx.res.destroy();
      });
      return true;
    }
    if (m === 'GET' && path === '/bundle-key') {
      ctx.body = { publicKey: await d.bundleKey() };
      return true;
    }
    if (m === 'POST' && path === '/import') {
      const allowUnsigned = q.allowUnsigned === '1' || q.allowUnsigned === 'true';
      const report = await d.importBundle(ctx.req as AsyncIterable<Buffer>, { allowUnsigned });
      await d.audit.append({
        action: 'import',
        actor,
        details: {
          blobs: report.blobs.added,
          entries: report.entries.added + report.entries.updated,
          bytes: report.bytes,
          signer: report.signer ?? 'unsigned',
          allowUnsigned,
        },
      });
      ctx.body = report;
      return true;
    }
    return false;
  };
}
