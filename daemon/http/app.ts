/**
 * The Koa application: one port, fixed URL layout. createApp() never
 * listens; the composition root (or a test) does.
 *
 *   /<mount>/…        each registered protocol at its mounts (e.g. /npm, /v2)
 *   /<path>           a protocol's root paths when no mount matched (npm tarballs)
 *   /_/api/v1/        admin API           /_/ui/       dashboard
 *   /metrics /healthz /readyz
 */
import Koa, { type Context } from 'koa';
import { presentedSecret } from '../admin/auth.js';
import { LarderError, toLarderError } from '../core/errors.js';
import type { MemoryBudget } from '../core/memory-budget.js';
import { viaIncludes, withIncomingVia } from '../core/hops.js';
import { forClient } from '../core/redact.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { ProtocolAdapter, ProtoRequest, RenderedError } from '../protocols/adapter.js';
import { HostGuard, isProtocolPath, setProtocolHeaders } from './guard.js';
import { writeResponse } from './respond.js';

export interface Mount {
  /** Path prefix without trailing slash, e.g. "/npm". */
  prefix: string;
  adapter: ProtocolAdapter;
}

export interface RootRoute {
  match: RegExp;
  adapter: ProtocolAdapter;
}

export interface AppDeps {
  mounts: Mount[];
  /** Paths at the root a protocol answers when no mount matched (npm tarballs), tried in order. */
  rootRoutes?: RootRoute[];
  metrics: Metrics;
  log: Logger;
  ready(): boolean;
  /** Why a started daemon is not ready (e.g. S3 unreachable), or undefined. */
  notReady?(): string | undefined;
  /** Observes every answered request (stats, activity). */
  observe?(r: { protocol: string; cache: string; status: number; bytes: number; fromCache: boolean; path: string; method: string }): void;
  /** Extra routes (admin API, dashboard) tried before the 404. */
  extra?: Array<(ctx: Context) => Promise<boolean>>;
  /** This daemon's `Via` name: protocol requests that already passed through it are refused with 508. */
  hop?: string;
  /** Whether an Authorization value is this daemon's own admin credential (never handed to adapters, so never forwarded). */
  isOwnCredential?(authorization: string): boolean;
  /** Client access policy (http/access.ts); throws to refuse. `adapter` is unset for /metrics and non-protocol routes. */
  access?(ctx: Context, adapter: ProtocolAdapter | undefined): void;
  /** The listen host and public URL: on loopback, requests for another `Host` are refused (DNS rebinding). */
  hostCheck?: { listenHost: string; publicUrl(): string };
  /** Request bodies: the largest accepted (default 16 MiB), and the memory budget they are held in. */
  body?: { maxBytes: number; memory?: MemoryBudget | undefined };
}

const MAX_BODY = 16 * 1024 * 1024;
/** Request bodies are counted against the memory budget in steps of this many bytes. */
const BODY_STEP = 64 * 1024;

function genericError(err: LarderError): RenderedError {
  const message = err.expose ? err.message : 'internal error';
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', ...(err.retryAfter === undefined ? {} : { 'retry-after': String(err.retryAfter) }) },
    body: Buffer.from(JSON.stringify({ error: message, code: err.code })),
  };
}

function protoRequest(ctx: Context, path: string, deps: AppDeps): ProtoRequest {
  let headers = ctx.headers;
  const auth = headers.authorization;
  // Larder's own credentials never go upstream: the daemon's, and anything shaped like one of its
  // tokens (`lrd_…`) even when revoked or unknown here.
  if (auth && (deps.isOwnCredential?.(auth) || presentedSecret(auth)?.startsWith('lrd_'))) {
    headers = { ...headers };
    delete headers.authorization;
  }
  return {
    method: ctx.method,
    path,
    query: new URLSearchParams(ctx.querystring),
    headers,
    body: () => readBody(ctx, deps.body?.maxBytes ?? MAX_BODY, deps.body?.memory),
  };
}

/** Reads a request body whole: refused past `max` (413), held against the memory budget until the answer ends. */
async function readBody(ctx: Context, max: number, memory: MemoryBudget | undefined): Promise<Buffer> {
  const tooLarge = (): LarderError =>
    new LarderError('E_TOO_LARGE', `request body too large (limit ${max} bytes, limits.maxBody)`, { details: { maxBytes: max } });
  const announced = Number(ctx.get('content-length') || Number.NaN);
  if (announced > max) throw tooLarge();
  const what = `a request body for ${ctx.path.slice(0, 100)}`;
  const lease = memory ? await memory.reserve(Number.isFinite(announced) ? announced : 0, what) : undefined;
  ctx.res.once('close', () => lease?.release());
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw tooLarge();
    if (lease && n > lease.bytes) await lease.grow(Math.max(BODY_STEP, n - lease.bytes), what);
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const mounts = [...deps.mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  const hosts = deps.hostCheck ? new HostGuard(deps.hostCheck) : undefined;

  /** A request for another Host on loopback: refused in the format of the protocol the path belongs to (not counted). */
  const refuse = (ctx: Context, sandboxed: boolean, host: string | undefined, guard: HostGuard): void => {
    if (sandboxed) setProtocolHeaders(ctx.res);
    const adapter =
      mounts.find((m) => ctx.path === m.prefix || ctx.path.startsWith(`${m.prefix}/`))?.adapter ??
      deps.rootRoutes?.find((r) => r.match.test(ctx.path))?.adapter;
    const e = guard.refusal(host ?? '');
    const r = adapter ? adapter.renderError(e) : genericError(e);
    deps.log.info({ host: (host ?? '').slice(0, 100), path: ctx.path.slice(0, 200) }, 'refused a request for another Host');
    ctx.status = r.status;
    ctx.set(r.headers);
    ctx.body = r.body;
  };

  const serve = async (ctx: Context): Promise<void> => {
    const started = process.hrtime.bigint();
    const path = ctx.path;
    let protocol = 'other';
    let cache = 'NONE';
    let bytes = 0;
    let fromCache = false;
    const log = (): void => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = ctx.res.statusCode;
      deps.metrics.requests.inc({ protocol, cache, status: `${Math.floor(status / 100)}xx` });
      deps.metrics.duration.observe({ protocol, cache }, seconds);
      if (path === '/healthz' || path === '/readyz' || path === '/metrics') return;
      if (protocol !== 'other') deps.observe?.({ protocol, cache, status, bytes, fromCache, path, method: ctx.method });
      if (deps.log.isLevelEnabled('info'))
        deps.log.info(
          { method: ctx.method, path: path.slice(0, 512), status, cache, protocol, ms: Math.round(seconds * 1e4) / 10, bytes },
          'request',
        );
    };
    let adapter: ProtocolAdapter | undefined;
    try {
      if (path === '/healthz') {
        ctx.body = { status: 'ok' };
      } else if (path === '/readyz') {
        const reason = deps.ready() ? deps.notReady?.() : undefined;
        ctx.status = deps.ready() && !reason ? 200 : 503;
        ctx.body = !deps.ready() ? { status: 'starting' } : reason ? { status: 'unavailable', reason } : { status: 'ready' };
      } else if (path === '/metrics') {
        deps.access?.(ctx, undefined);
        ctx.type = deps.metrics.registry.contentType;
        ctx.body = await deps.metrics.registry.metrics();
      } else {
        let sub: string | undefined;
        for (const m of mounts) {
          if (path === m.prefix || path.startsWith(`${m.prefix}/`)) {
            adapter = m.adapter;
            sub = path.slice(m.prefix.length) || '/';
            break;
          }
        }
        const root = adapter ? undefined : deps.rootRoutes?.find((r) => r.match.test(path));
        if (root) {
          adapter = root.adapter;
          sub = path;
        }
        deps.access?.(ctx, adapter);
        if (adapter && sub !== undefined) {
          protocol = adapter.protocol;
          const via = ctx.get('via') || undefined;
          if (deps.hop && viaIncludes(via, deps.hop)) {
            throw new LarderError(
              'E_LOOP',
              `request loop: this request already passed through ${deps.hop} (Via: ${(via ?? '').slice(0, 300)})`,
            );
          }
          const proto = protoRequest(ctx, sub, deps);
          const handler = adapter;
          const res = await withIncomingVia(via, () => handler.handle(proto));
          cache = res.cache ?? 'NONE';
          await new Promise<void>((resolve) => {
            writeResponse(ctx, res, (w) => {
              bytes = w.bytes;
              fromCache = w.fromCache;
              deps.metrics.bytesServed.inc({ source: w.fromCache ? 'cache' : 'upstream' }, w.bytes);
              resolve();
            });
          });
        } else {
          let handled = false;
          for (const route of deps.extra ?? []) {
            handled = await route(ctx);
            if (handled) break;
          }
          if (!handled) throw new LarderError('E_NOT_FOUND', `no route for ${path.slice(0, 200)}`);
        }
      }
    } catch (err) {
      const e = toLarderError(err);
      if (e.status >= 500) deps.log.warn({ code: e.code, path: path.slice(0, 512), err: e.message }, 'request failed');
      if (ctx.headerSent || !ctx.writable) {
        ctx.res.destroy();
      } else {
        // Clients see no internal host and no credential (the log above keeps the host).
        const r = adapter ? adapter.renderError(forClient(e)) : genericError(forClient(e));
        ctx.status = r.status;
        ctx.set(r.headers);
        ctx.body = r.body;
      }
    }
    if (ctx.respond === false) log();
    else ctx.res.once('close', log);
  };

  // Before any route: protocol answers get their sandbox headers (whatever answers them), and a Host
  // that is not this daemon is refused on loopback, in the format of the protocol the path belongs to.
  // respond.ts writes its answers with these headers whole (setting them here first would make node set every
  // header of a warm hit one by one); anything else that answers gets them before Koa writes it.
  // One middleware: a second would cost every request another dispatch and promise.
  app.use(async (ctx) => {
    const sandboxed = isProtocolPath(ctx.path);
    const host = ctx.req.headers.host;
    if (hosts && !hosts.allows(host)) return refuse(ctx, sandboxed, host, hosts);
    if (!sandboxed) return serve(ctx);
    try {
      await serve(ctx);
    } finally {
      if (!ctx.res.headersSent) setProtocolHeaders(ctx.res);
    }
  });
  return app;
}
