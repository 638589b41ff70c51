/**
 * A static HTTP upstream for generic-remote tests, on 127.0.0.1:0: serves a
 * directory with Last-Modified/ETag and conditional 304s, counts hits per
 * path, records request headers, and can be told to corrupt a file, add
 * caching headers, redirect, or fail with a status.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';

export interface StaticUpstream {
  url: string;
  port: number;
  /** GETs (and HEADs) per decoded path, e.g. "/dists/stable/InRelease". */
  hits: Map<string, number>;
  /** Request headers of every request, in order. */
  log: Array<{ path: string; headers: IncomingHttpHeaders; status: number; method?: string }>;
  /** Extra response headers by path (e.g. cache-control). */
  headers: (path: string) => Record<string, string>;
  /** Paths whose bytes are served with one byte flipped. */
  corrupt: Set<string>;
  /** Paths answered with a redirect to the returned URL. */
  redirects: Map<string, () => string>;
  /** Paths answered with a bare status (e.g. 503). */
  failures: Map<string, number>;
  /** Paths whose body is sent in 16 pieces with this many ms between them. */
  slow: Map<string, number>;
  /** Every request fails with this status when set (simulates an outage). */
  down: number | undefined;
  /** Handles a request before the static files (return true when answered). */
  intercept?: (path: string, url: URL, res: import('node:http').ServerResponse) => boolean;
  hitCount(path: string): number;
  stop(): Promise<void>;
}

export async function startStaticUpstream(root: string): Promise<StaticUpstream> {
  const up: Omit<StaticUpstream, 'url' | 'port' | 'stop'> = {
    hits: new Map(),
    log: [],
    headers: () => ({}),
    corrupt: new Set(),
    redirects: new Map(),
    failures: new Map(),
    slow: new Map(),
    down: undefined,
    hitCount: (p) => up.hits.get(p) ?? 0,
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    up.hits.set(path, (up.hits.get(path) ?? 0) + 1);
    const answer = (status: number, headers: Record<string, string> = {}, body?: Buffer): void => {
      up.log.push({ path, headers: req.headers, status, method: req.method });
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (up.down !== undefined) return answer(up.down, { 'content-type': 'text/plain' }, Buffer.from('down\n'));
    const failure = up.failures.get(path);
    if (failure !== undefined) return answer(failure, { 'content-type': 'text/plain' }, Buffer.from('failure\n'));
    const redirect = up.redirects.get(path);
    if (redirect) return answer(302, { location: redirect(), 'content-length': '0' });
    if (up.intercept?.(path, url, res)) return void up.log.push({ path, headers: req.headers, status: res.statusCode, method: req.method });
    const file = normalize(join(root, path));
    if (!file.startsWith(normalize(root))) return answer(400);
    void (async () => {
      let body: Buffer;
      let mtime: Date;
      try {
        const st = await stat(file);
        if (!st.isFile()) return answer(404);
        body = await readFile(file);
        mtime = st.mtime;
      } catch {
        return answer(404, { 'content-type': 'text/plain' }, Buffer.from('not found\n'));
      }
      const lastModified = new Date(Math.floor(mtime.getTime() / 1000) * 1000).toUTCString();
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      const headers: Record<string, string> = {
        'last-modified': lastModified,
        etag,
        'content-type': 'application/octet-stream',
        ...up.headers(path),
      };
      const inm = req.headers['if-none-match'];
      const ims = req.headers['if-modified-since'];
      if (inm ? inm === etag : ims !== undefined && Date.parse(ims) >= Date.parse(lastModified)) return answer(304, headers);
      if (up.corrupt.has(path)) {
        body = Buffer.from(body);
        body[Math.floor(body.length / 2)]! ^= 0xff;
      }
      const delay = up.slow.get(path);
      if (delay === undefined || req.method === 'HEAD') return answer(200, { ...headers, 'content-length': String(body.length) }, body);
      up.log.push({ path, headers: req.headers, status: 200, method: req.method });
      res.writeHead(200, { ...headers, 'content-length': String(body.length) });
      const piece = Math.ceil(body.length / 16);
      for (let off = 0; off < body.length && !res.destroyed; off += piece) {
        res.write(body.subarray(off, off + piece));
        await new Promise((r) => setTimeout(r, delay));
      }
      res.end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(up, {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
