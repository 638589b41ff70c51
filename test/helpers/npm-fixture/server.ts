/**
 * A real `node:http` npm upstream on loopback that serves a generated fixture
 * like registry.npmjs.org, with run-time fault injection (corrupt tarballs,
 * refused connections / 503s, slow chunked downloads) and observation
 * (per-path hit counters, request log, recorded audit bodies).
 */
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { UpstreamState, type PublishOptions, type RenderedDoc } from './state.js';
import type { NpmPackument, RegistryFixture } from './types.js';

/** Options of {@link startNpmUpstream}. */
export interface NpmUpstreamOptions {
  /** Loopback host to bind (default `127.0.0.1`). */
  host?: string;
  /** Record every request in `requests` (default true, capped at 10 000 entries). */
  recordRequests?: boolean;
}

/** Matches tarball paths (normalized, e.g. `/@corp/x/-/x-1.0.0.tgz`) for {@link NpmUpstream.setCorrupt}. */
export type PathMatcher = string | ((path: string) => boolean);

/** How a "down" upstream misbehaves: destroy sockets, or answer every request with 503. */
export type DownMode = 'refuse' | '503';

/** One observed request. */
export interface RecordedRequest {
  method: string;
  /** Raw request target as sent by the client. */
  url: string;
  /** Normalized path (see {@link normalizePath}). */
  path: string;
  headers: IncomingHttpHeaders;
}

/** A running fixture upstream. */
export interface NpmUpstream {
  /** Base URL with trailing slash, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  readonly port: number;
  /** Requests seen so far (oldest first). */
  readonly requests: readonly RecordedRequest[];
  /** Parsed (gunzipped) bodies posted to the bulk advisories endpoint. */
  readonly auditBodies: readonly unknown[];
  /** Requests seen for `path` (any encoding of a scoped name; query ignored). */
  hits(path: string): number;
  totalHits(): number;
  /** Zeroes all counters and clears `requests`. */
  resetHits(): void;
  /** Flip one byte in the middle of matching tarball responses (same length); `null` to stop. */
  setCorrupt(match: PathMatcher | null): void;
  /** Take the upstream down (`'refuse'` destroys sockets, incl. in-flight ones; `'503'` answers 503) or up. */
  setDown(down: boolean, mode?: DownMode): void;
  /** Stream tarballs in `chunkBytes` chunks (default 64 KiB) with `ms` between chunks; 0 = send at once. */
  setDelay(ms: number, chunkBytes?: number): void;
  /** Answer `Range: bytes=<from>-` of tarballs with a 206 (as registry.npmjs.org does); off by default. */
  setRanges(on: boolean): void;
  /** Publish a new version at run time (new tarball, new `modified`, new ETags). */
  publish(name: string, version: string, opts?: PublishOptions): Promise<void>;
  /** Current full packument of `name` with real tarball URLs. */
  packument(name: string): NpmPackument | undefined;
  close(): Promise<void>;
}

const ABBREVIATED_TYPE = 'application/vnd.npm.install-v1+json';
const NAME = '((?:@[^/]+/)?[^/@][^/]*)';
const TARBALL_RE = new RegExp(`^/${NAME}/-/([^/]+\\.tgz)$`);
const PACKUMENT_RE = new RegExp(`^/${NAME}$`);
const VERSION_RE = new RegExp(`^/${NAME}/([^/]+)$`);
const MAX_RECORDED = 10_000;

/** Normalizes a request target to a decoded path: `/@corp%2Fx?a=1` -> `/@corp/x`. */
export function normalizePath(target: string): string {
  const q = target.indexOf('?');
  let p = q >= 0 ? target.slice(0, q) : target;
  try {
    p = decodeURIComponent(p);
  } catch {
    // keep the raw path; it will simply 404
  }
  return p.startsWith('/') ? p : `/${p}`;
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers });
  res.end(body);
}

function notModified(req: IncomingMessage, etag: string, lastModified?: string): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    return inm
      .split(',')
      .map((t) => t.trim().replace(/^W\//, ''))
      .some((t) => t === etag || t === '*');
  }
  const ims = req.headers['if-modified-since'];
  return ims !== undefined && lastModified !== undefined && Date.parse(lastModified) <= Date.parse(ims);
}

function serveDoc(req: IncomingMessage, res: ServerResponse, doc: RenderedDoc, type: string): void {
  const headers = {
    ETag: doc.etag,
    'Last-Modified': doc.lastModified,
    'Cache-Control': 'public, max-age=300',
    Vary: 'Accept',
  };
  if (notModified(req, doc.etag, doc.lastModified)) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': doc.body.length });
  res.end(req.method === 'HEAD' ? undefined : doc.body);
}

/** Starts the fixture upstream on loopback, port 0. */
export async function startNpmUpstream(fixture: RegistryFixture, opts: NpmUpstreamOptions = {}): Promise<NpmUpstream> {
  const host = opts.host ?? '127.0.0.1';
  const record = opts.recordRequests ?? true;
  const counters = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const auditBodies: unknown[] = [];
  let total = 0;
  let corrupt: PathMatcher | null = null;
  let down: DownMode | null = null;
  let delayMs = 0;
  let chunkBytes = 64 * 1024;
  let ranges = false;
  let state: UpstreamState | undefined;
  const scratchDir = join(tmpdir(), `larder-npm-upstream-${process.pid}-${Date.now().toString(36)}`);

  const sendTarball = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const t = state?.tarball(path);
    if (!t) return sendJson(res, 404, { error: 'Not found' });
    const headers = { ETag: t.etag, 'Cache-Control': 'public, immutable, max-age=31557600' };
    if (notModified(req, t.etag)) return void res.writeHead(304, headers).end();
    let body = t.body;
    if (corrupt !== null && (typeof corrupt === 'string' ? normalizePath(corrupt) === path : corrupt(path))) {
      body = Buffer.from(t.body);
      const mid = body.length >> 1;
      body[mid] = (body[mid] ?? 0) ^ 0xff;
    }
    const from = ranges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    if (from && Number(from[1]) < body.length) {
      const start = Number(from[1]);
      res.writeHead(206, {
        ...headers,
        'Content-Type': 'application/octet-stream',
        'Content-Length': body.length - start,
        'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
      return void res.end(req.method === 'HEAD' ? undefined : body.subarray(start));
    }
    res.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    if (req.method === 'HEAD') return void res.end();
    if (delayMs <= 0) return void res.end(body);
    for (let off = 0; off < body.length && !res.destroyed; off += chunkBytes) {
      if (off > 0) await sleep(delayMs);
      if (!res.destroyed) res.write(body.subarray(off, off + chunkBytes));
    }
    if (!res.destroyed) res.end();
  };

  const route = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    if (method === 'POST' && path === '/-/npm/v1/security/advisories/bulk') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const text = raw.toString('utf8');
      try {
        auditBodies.push(JSON.parse(text) as unknown);
      } catch {
        auditBodies.push(text);
      }
      return sendJson(res, 200, {});
    }
    if (!read) return sendJson(res, 404, { error: 'Not found' });
    if (path === '/-/ping') return sendJson(res, 200, {});
    if (path === '/-/whoami') {
      return req.headers.authorization === 'Bearer good-token'
        ? sendJson(res, 200, { username: 'tester' })
        : sendJson(res, 401, { error: 'Unauthorized' });
    }
    if (path === '/-/v1/search') {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const size = Math.min(Number(q.get('size') ?? 20) || 20, 250);
      return sendJson(res, 200, state?.search(q.get('text') ?? '', size, Number(q.get('from') ?? 0) || 0));
    }
    if (TARBALL_RE.test(path)) return sendTarball(req, res, path);
    const pkg = PACKUMENT_RE.exec(path);
    const entry = pkg?.[1] !== undefined ? state?.get(pkg[1]) : undefined;
    if (entry) {
      const abbreviated = (req.headers.accept ?? '').includes(ABBREVIATED_TYPE);
      return serveDoc(req, res, abbreviated ? entry.abbreviated : entry.full, abbreviated ? ABBREVIATED_TYPE : 'application/json');
    }
    const ver = VERSION_RE.exec(path);
    const body = ver?.[1] !== undefined && ver[2] !== undefined ? state?.versionBody(ver[1], ver[2]) : undefined;
    if (body) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'public, max-age=300' });
      return void res.end(method === 'HEAD' ? undefined : body);
    }
    return sendJson(res, 404, { error: 'Not found' });
  };

  const server = createServer((req, res) => {
    if (down === 'refuse') return void req.socket.destroy();
    const path = normalizePath(req.url ?? '/');
    total += 1;
    counters.set(path, (counters.get(path) ?? 0) + 1);
    if (record) {
      if (requests.length >= MAX_RECORDED) requests.shift();
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', path, headers: { ...req.headers } });
    }
    if (down === '503') return sendJson(res, 503, { error: 'Service Unavailable' }, { 'Retry-After': '1' });
    route(req, res, path).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => void (down === 'refuse' && socket.destroy()));
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host}:${port}`;
  state = await UpstreamState.load(fixture, origin, scratchDir);
  const loaded = state;

  return {
    url: `${origin}/`,
    port,
    requests,
    auditBodies,
    hits: (path) => counters.get(normalizePath(path)) ?? 0,
    totalHits: () => total,
    resetHits: () => {
      counters.clear();
      requests.length = 0;
      total = 0;
    },
    setCorrupt: (match) => {
      corrupt = match;
    },
    setDown: (isDown, mode = 'refuse') => {
      down = isDown ? mode : null;
      if (down === 'refuse') server.closeAllConnections();
    },
    setRanges: (on) => {
      ranges = on;
    },
    setDelay: (ms, bytes = 64 * 1024) => {
      delayMs = ms;
      chunkBytes = bytes;
    },
    publish: async (name, version, publishOpts) => void (await loaded.publish(name, version, publishOpts)),
    packument: (name) => {
      const entry = loaded.get(name);
      return entry ? (JSON.parse(entry.full.body.toString('utf8')) as NpmPackument) : undefined;
    },
    close: async () => {
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(scratchDir, { recursive: true, force: true });
    },
  };
}
