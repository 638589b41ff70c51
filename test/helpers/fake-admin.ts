/**
 * A fake Larder admin server on 127.0.0.1:0 implementing the admin API
 * contract (daemon/admin/contract.ts): bearer-token and session-cookie auth,
 * the one-time login link, every endpoint the dashboard and the tray use, the
 * SSE event stream, and the built dashboard at /_/ui/ (via serveUi). Tests
 * drive it through `state` (record traffic, set health, lag pins) and can
 * make any endpoint fail with `failNext`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context } from 'koa';
import type { EvictRequest, JobRequest, LiveEvent, PinRequest } from '../../daemon/admin/contract.js';
import { serveUi } from '../../daemon/http/ui-static.js';
import { FakeAdminState, checkRef } from './fake-admin-state.js';

/** Options of {@link startFakeAdmin}. */
export interface FakeAdminOptions {
  /** Built dashboard to serve at /_/ui/ (default: none, 503). */
  uiDir?: string;
  /** How often a `stats` event is pushed (default 1000 ms). */
  statsIntervalMs?: number;
  /** Time each pre-warm item takes (default 600 ms). */
  jobItemMs?: number;
}

/** A running fake admin server. */
export interface FakeAdmin {
  url: string;
  token: string;
  state: FakeAdminState;
  /** Mints a one-time dashboard login link. */
  loginLink(): string;
  /** Answers the next request to `path` (e.g. "/pins") with this status and code. */
  failNext(path: string, status: number, code?: string, message?: string): void;
  /** Number of connected SSE clients. */
  sseClients(): number;
  close(): Promise<void>;
}

const API = '/_/api/v1';
const COOKIE = 'larder_session';

async function readJson<T>(ctx: Context): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req as AsyncIterable<Buffer>) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return (text ? JSON.parse(text) : {}) as T;
}

function fail(ctx: Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.body = { error: { code, message } };
}

/** Starts the fake on a free loopback port. */
export async function startFakeAdmin(opts: FakeAdminOptions = {}): Promise<FakeAdmin> {
  const token = randomBytes(24).toString('hex');
  const links = new Set<string>();
  const sessions = new Set<string>();
  const failures = new Map<string, { status: number; code: string; message: string }>();
  const clients = new Set<ServerResponse>();
  const broadcast = (ev: LiveEvent): void => {
    const frame = `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
    for (const res of clients) res.write(frame);
  };
  const state = new FakeAdminState(broadcast);
  let url = '';

  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path === '/_/ui/login') {
      const t = String(ctx.query.t ?? '');
      if (!links.delete(t)) return fail(ctx, 401, 'E_UNAUTHORIZED', 'login link expired or already used');
      const sid = randomBytes(24).toString('hex');
      sessions.add(sid);
      ctx.set('Set-Cookie', `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Strict`);
      ctx.status = 303;
      ctx.redirect('/_/ui/');
      return;
    }
    if (ctx.path.startsWith('/_/ui')) {
      if (!(await serveUi(ctx, opts.uiDir ?? '/nonexistent'))) fail(ctx, 404, 'E_NOT_FOUND', 'not found');
      return;
    }
    if (!ctx.path.startsWith(`${API}/`)) return fail(ctx, 404, 'E_NOT_FOUND', 'not found');
    const bearer = ctx.get('authorization') === `Bearer ${token}`;
    const cookie = /(?:^|;\s*)larder_session=([0-9a-f]+)/.exec(ctx.get('cookie'))?.[1];
    if (!bearer && !(cookie && sessions.has(cookie))) return fail(ctx, 401, 'E_UNAUTHORIZED', 'admin token or session required');
    const path = ctx.path.slice(API.length);
    const injected = failures.get(path);
    if (injected) {
      failures.delete(path);
      return fail(ctx, injected.status, injected.code, injected.message);
    }
    await route(ctx, `${ctx.method} ${path}`);
  });

  async function route(ctx: Context, key: string): Promise<void> {
    const id = /^[A-Z]+ \/(?:pins|jobs)\/([^/]+)$/.exec(key)?.[1];
    if (key === 'GET /stats') ctx.body = state.stats();
    else if (key === 'GET /stats/history') ctx.body = [...state.history.values()].sort((a, b) => a.t - b.t);
    else if (key === 'GET /pins') ctx.body = state.pins;
    else if (key === 'POST /pins') {
      const req = await readJson<PinRequest>(ctx);
      const msg = typeof req.ref === 'string' ? checkRef(req.ref) : 'expected {"ref": string}';
      if (msg) return fail(ctx, 400, 'E_BAD_REF', msg);
      ctx.status = 201;
      ctx.body = state.addPin(req.ref.trim());
    } else if (key.startsWith('DELETE /pins/') && id) {
      if (!state.removePin(decodeURIComponent(id))) return fail(ctx, 404, 'E_NOT_FOUND', `no pin ${id}`);
      ctx.body = { removed: true };
    } else if (key === 'GET /jobs') ctx.body = state.jobs;
    else if (key === 'POST /jobs') {
      const req = await readJson<JobRequest>(ctx);
      for (const r of req.refs ?? []) {
        const msg = checkRef(r);
        if (msg) return fail(ctx, 400, 'E_BAD_REF', msg);
      }
      if (!req.refs?.length && !req.files?.length) return fail(ctx, 400, 'E_BAD_REQUEST', 'give refs or files');
      ctx.status = 201;
      ctx.body = state.startJob(req, opts.jobItemMs ?? 600);
    } else if (key.startsWith('DELETE /jobs/') && id) {
      const job = state.jobs.find((j) => j.id === id);
      if (!job) return fail(ctx, 404, 'E_NOT_FOUND', `no job ${id}`);
      job.state = 'cancelled';
      ctx.body = job;
    } else if (key === 'GET /activity') {
      const kind = ctx.query.kind;
      const limit = Number(ctx.query.limit ?? 200);
      ctx.body = state.activity.filter((a) => !kind || a.kind === kind).slice(0, limit);
    } else if (key === 'POST /offline') {
      state.offline = (await readJson<{ offline: boolean }>(ctx)).offline === true;
      state.pushStats();
      ctx.body = { offline: state.offline };
    } else if (key === 'POST /scrub') {
      Object.assign(state.scrub, { running: false, lastRunAt: Date.now(), lastFinishedAt: Date.now(), checked: state.storage.blobs });
      state.log({ kind: 'scrub', message: `scrub checked ${state.storage.blobs} blobs, 0 corrupt` });
      ctx.body = state.scrub;
    } else if (key === 'POST /gc') ctx.body = { removed: 2, bytes: 4096 };
    else if (key === 'POST /evict') {
      await readJson<EvictRequest>(ctx);
      state.evictions.count += 1;
      state.evictions.bytes += 1024;
      ctx.body = { removed: 1, bytes: 1024 };
    } else if (key === 'POST /login-link') ctx.body = { url: mint() };
    else if (key === 'GET /events') sse(ctx);
    else fail(ctx, 404, 'E_NOT_FOUND', `no route ${key}`);
  }

  function sse(ctx: Context): void {
    ctx.respond = false;
    const res = ctx.res;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 1000\n\n`);
    res.write(`event: stats\ndata: ${JSON.stringify({ type: 'stats', data: state.stats() })}\n\n`);
    clients.add(res);
    res.on('close', () => clients.delete(res));
  }

  function mint(): string {
    const t = randomBytes(16).toString('hex');
    links.add(t);
    return `${url}/_/ui/login?t=${t}`;
  }

  const server: Server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closing: Promise<void> | undefined;
  const ticker = setInterval(() => state.pushStats(), opts.statsIntervalMs ?? 1000);
  ticker.unref();
  return {
    url,
    token,
    state,
    loginLink: mint,
    failNext: (path, status, code = `E_HTTP_${status}`, message = `injected failure (${status})`) =>
      failures.set(path, { status, code, message }),
    sseClients: () => clients.size,
    close: () => {
      closing ??= (async () => {
        clearInterval(ticker);
        for (const res of clients) res.end();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
