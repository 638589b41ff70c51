/**
 * Koa glue for the admin API (`/_/api/v1/…`) and the dashboard login link.
 * Every endpoint requires a token or a dashboard session cookie, checked by
 * admin-gate.ts (scopes, CSRF); errors are `{ "error": { "code", "message" } }`.
 */
import type { Context } from 'koa';
import { LarderError, toLarderError } from '../core/errors.js';
import type { AdminAuth } from '../admin/auth.js';
import { sessionCookie } from '../admin/auth.js';
import { isScope, type TokenStore } from '../admin/tokens.js';
import { admitAdmin, sessionOf } from './admin-gate.js';
import type { AdminService } from '../admin/service.js';
import type { EventBus } from '../admin/events.js';
import type { AuditLog } from '../admin/audit.js';
import type { PinManager } from '../pins/manager.js';
import type { PrewarmRunner } from '../prewarm/runner.js';
import type { Scrubber } from '../core/scrub.js';
import type { Maintenance } from '../core/eviction.js';
import type { ClusterReport, EvictRequest, JobRequest, PeersReport, PinRequest, TokenRequest } from '../admin/contract.js';
import type { PolicyAdmin } from '../admin/policy.js';

export interface AdminRouteDeps {
  auth: AdminAuth;
  tokens: TokenStore;
  service: AdminService;
  events: EventBus;
  audit: AuditLog;
  pins: PinManager;
  runner: PrewarmRunner;
  scrubber: Scrubber;
  maintenance: Maintenance;
  redactedConfig(): unknown;
  setOffline(v: boolean): void;
  isOffline(): boolean;
  loginUrl(secret: string): string;
  /** `GET /policy` and `GET /policy/explain?ref=…`. */
  policy?: PolicyAdmin;
  /** `GET /peers`: LAN peers and their health. */
  peers?(): PeersReport;
  /** `GET /cluster`: the cluster's nodes and roles (cluster mode). */
  cluster?(): Promise<ClusterReport>;
  /** More endpoints below the same prefix, auth and error format (mirror hierarchy, bundles); true when answered. */
  more?(ctx: Context, path: string, actor: string): Promise<boolean>;
}

const PREFIX = '/_/api/v1';
const MAX_JSON = 32 * 1024 * 1024;

/** Reads a JSON object body (bounded). */
export async function readJson<T>(ctx: Context): Promise<T> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_JSON) throw new LarderError('E_BAD_REQUEST', 'request body too large');
    chunks.push(c);
  }
  if (n === 0) return {} as T;
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as T;
  } catch {
    throw new LarderError('E_BAD_REQUEST', 'the request body must be a JSON object');
  }
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new LarderError('E_BAD_REQUEST', `${what} must be an array of strings`);
  return v as string[];
}

function sse(ctx: Context, events: EventBus): void {
  ctx.respond = false;
  const res = ctx.res;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': larder events\n\n');
  const unsubscribe = events.subscribe((e) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`));
  const beat = setInterval(() => res.write(': ping\n\n'), 15_000);
  const close = (): void => {
    clearInterval(beat);
    unsubscribe();
  };
  ctx.req.once('close', close);
  res.once('close', close);
}

/** Returns true when the request was an admin or login request (answered). */
export function adminRoutes(d: AdminRouteDeps): (ctx: Context) => Promise<boolean> {
  return async (ctx) => {
    if (ctx.path === '/_/ui/login') {
      const session = d.auth.redeem(String(ctx.query.t ?? ''));
      if (!session) {
        ctx.status = 401;
        ctx.type = 'text/plain';
        ctx.body = 'This login link is invalid or was already used. Run `larder ui` for a new one.\n';
        return true;
      }
      ctx.cookies.set(sessionCookie(ctx.secure), session, {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        secure: ctx.secure,
        overwrite: true,
      });
      ctx.redirect('/_/ui/');
      return true;
    }
    if (ctx.path !== PREFIX && !ctx.path.startsWith(`${PREFIX}/`)) return false;
    try {
      const who = admitAdmin(ctx, d.auth);
      await route(ctx, ctx.path.slice(PREFIX.length) || '/', d, who);
    } catch (err) {
      const e = toLarderError(err);
      ctx.status = e.status;
      ctx.body = { error: { code: e.code, message: e.expose ? e.message : 'internal error' } };
    }
    return true;
  };
}

/** Decodes one path segment; a malformed percent-encoding is the client's error (400), not a 500. */
function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw new LarderError('E_BAD_REQUEST', `malformed percent-encoding in path segment ${JSON.stringify(seg.slice(0, 100))}`);
  }
}

async function route(ctx: Context, path: string, d: AdminRouteDeps, who: string): Promise<void> {
  const m = ctx.method;
  const seg = path.split('/').filter(Boolean);
  const id = seg[1] ? decodeSegment(seg[1]) : undefined;
  const q = ctx.query;
  if (m === 'GET' && path === '/stats') ctx.body = d.service.stats();
  else if (m === 'GET' && path === '/stats/history') ctx.body = d.service.history();
  else if (m === 'GET' && path === '/entries') {
    ctx.body = d.service.entries({
      protocol: typeof q.protocol === 'string' ? q.protocol : undefined,
      remote: typeof q.remote === 'string' ? q.remote : undefined,
      q: typeof q.q === 'string' ? q.q : undefined,
      limit: typeof q.limit === 'string' ? Number(q.limit) : undefined,
      cursor: typeof q.cursor === 'string' ? q.cursor : undefined,
    });
  } else if (m === 'GET' && path === '/pins') ctx.body = d.pins.list();
  else if (m === 'POST' && path === '/pins') {
    const body = await readJson<PinRequest>(ctx);
    if (typeof body.ref !== 'string') throw new LarderError('E_BAD_REQUEST', 'expected {"ref": "<reference>"}');
    ctx.status = 201;
    ctx.body = await d.pins.add(body.ref, { history: typeof body.history === 'number' ? body.history : undefined, actor: who });
  } else if (m === 'GET' && seg[0] === 'pins' && id && seg.length === 2) ctx.body = d.pins.get(id);
  else if (m === 'DELETE' && seg[0] === 'pins' && id && seg.length === 2) {
    await d.pins.remove(id, who);
    ctx.body = { removed: true };
  } else if (m === 'GET' && path === '/jobs') ctx.body = d.runner.list();
  else if (m === 'POST' && path === '/jobs') {
    const body = await readJson<JobRequest>(ctx);
    const req: JobRequest = { refs: strings(body.refs, 'refs'), deps: body.deps !== false };
    if (body.files !== undefined) {
      if (!Array.isArray(body.files) || body.files.some((f) => typeof f?.name !== 'string' || typeof f?.content !== 'string')) {
        throw new LarderError('E_BAD_REQUEST', 'files must be [{"name", "content"}]');
      }
      req.files = body.files;
    }
    if (typeof body.concurrency === 'number') req.concurrency = body.concurrency;
    ctx.status = 201;
    ctx.body = await d.service.startJob(req, who);
  } else if (m === 'GET' && seg[0] === 'jobs' && id && seg.length === 2) {
    const job = d.runner.get(id);
    if (!job) throw new LarderError('E_NOT_FOUND', `job ${id} not found`);
    ctx.body = job;
  } else if (m === 'DELETE' && seg[0] === 'jobs' && id && seg.length === 2) {
    const job = d.runner.cancel(id);
    if (!job) throw new LarderError('E_NOT_FOUND', `job ${id} not found`);
    await d.audit.append({ action: 'prewarm-cancel', actor: who, target: id });
    ctx.body = job;
  } else if (m === 'POST' && path === '/evict') {
    const body = await readJson<EvictRequest>(ctx);
    await d.audit.append({
      action: 'evict',
      actor: who,
      target: body.key ?? body.digest ?? 'to-low-watermark',
      reason: 'operator request',
    });
    ctx.body = await d.service.evict(body, who);
  } else if (m === 'POST' && path === '/scrub') {
    const body = await readJson<{ now?: boolean }>(ctx);
    await d.audit.append({ action: 'scrub', actor: who });
    const run = d.scrubber.run();
    ctx.body = body.now ? await run : { ...d.scrubber.status, running: true };
  } else if (m === 'POST' && path === '/gc') {
    await d.audit.append({ action: 'gc', actor: who });
    ctx.body = await d.maintenance.gc();
  } else if (m === 'GET' && path === '/config') ctx.body = d.redactedConfig();
  else if (m === 'GET' && path === '/audit') {
    ctx.body = d.audit.list(Number(q.since ?? 0) || 0, Math.min(1000, Number(q.limit ?? 200) || 200));
  } else if (m === 'GET' && path === '/activity') {
    const kinds = typeof q.kind === 'string' && q.kind ? new Set(q.kind.split(',')) : undefined;
    ctx.body = d.events.recent(kinds, Math.min(500, Number(q.limit ?? 100) || 100));
  } else if (m === 'POST' && path === '/offline') {
    const body = await readJson<{ offline?: unknown }>(ctx);
    if (typeof body.offline !== 'boolean') throw new LarderError('E_BAD_REQUEST', 'expected {"offline": true|false}');
    d.setOffline(body.offline);
    await d.audit.append({ action: body.offline ? 'offline' : 'online', actor: who });
    ctx.body = { offline: d.isOffline() };
  } else if (m === 'POST' && path === '/token/rotate') {
    const token = await d.auth.rotate();
    await d.audit.append({ action: 'token-rotate', actor: who });
    ctx.body = { token };
  } else if (m === 'GET' && path === '/tokens') ctx.body = d.tokens.list();
  else if (m === 'POST' && path === '/tokens') {
    const body = await readJson<Partial<TokenRequest>>(ctx);
    if (typeof body.name !== 'string' || !isScope(body.scope))
      throw new LarderError('E_BAD_REQUEST', 'expected {"name": "<name>", "scope": "admin"|"replicate"|"read"}');
    const created = await d.tokens.create(body.name, body.scope);
    await d.audit.append({ action: 'token-create', actor: who, target: created.name, details: { scope: created.scope } });
    ctx.status = 201;
    ctx.body = created;
  } else if (m === 'DELETE' && seg[0] === 'tokens' && id && seg.length === 2) {
    await d.tokens.revoke(id);
    await d.audit.append({ action: 'token-revoke', actor: who, target: id });
    ctx.body = { revoked: true };
  } else if (m === 'POST' && path === '/logout') {
    const session = sessionOf(ctx);
    if (session) d.auth.endSession(session);
    ctx.cookies.set(sessionCookie(ctx.secure), '', { httpOnly: true, sameSite: 'strict', path: '/', secure: ctx.secure, maxAge: 0 });
    ctx.body = { loggedOut: true };
  } else if (m === 'POST' && path === '/login-link') {
    ctx.body = { url: d.loginUrl(d.auth.newLink()) };
  } else if (m === 'GET' && path === '/events') sse(ctx, d.events);
  else if (m === 'GET' && path === '/policy' && d.policy) ctx.body = d.policy.status();
  else if (m === 'GET' && path === '/peers' && d.peers) ctx.body = d.peers();
  else if (m === 'GET' && path === '/cluster' && d.cluster) ctx.body = await d.cluster();
  else if (m === 'GET' && path === '/policy/explain' && d.policy) {
    if (typeof q.ref !== 'string' || !q.ref) throw new LarderError('E_BAD_REQUEST', 'expected ?ref=<reference>, e.g. npm:foo@1.2.3');
    ctx.body = await d.policy.explain(q.ref);
  } else if (!(await d.more?.(ctx, path, who))) throw new LarderError('E_NOT_FOUND', `no admin endpoint ${m} ${path.slice(0, 100)}`);
}
