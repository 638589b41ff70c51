/**
 * A local gem server answering as rubygems.org does: the compact index with
 * md5 ETags (304 to a matching If-None-Match, 206 to `Range: bytes=N-`), `.gem` files, the full index
 * files, 404 for anything else. It counts GETs per path and can corrupt a
 * path's body (one wrong byte), fail a path (503), or be stopped (its port closed).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class GemServer {
  private readonly hits = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  /** Paths answered with one wrong byte. */
  readonly corrupt = new Set<string>();
  /** Paths answered 503 (an upstream error, not a missing file). */
  readonly failing = new Set<string>();
  /** Every request: method, path and the headers tests look at. */
  readonly log: Array<{ method: string; path: string; range?: string }> = [];

  private constructor(
    private readonly server: Server,
    readonly files: Map<string, Buffer>,
  ) {}

  static async start(files: Map<string, Buffer>): Promise<GemServer> {
    const server = createServer();
    const s = new GemServer(server, files);
    server.on('request', (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      s.log.push({ method: req.method ?? 'GET', path, ...(req.headers.range ? { range: req.headers.range } : {}) });
      if (req.method === 'GET') s.hits.set(path, s.hit(path) + 1);
      if (s.failing.has(path)) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
        return;
      }
      const body = files.get(path);
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('This rubygem could not be found.');
        return;
      }
      const compact = path === '/versions' || path === '/names' || path.startsWith('/info/');
      const headers: Record<string, string> = {
        'content-type': compact ? 'text/plain; charset=utf-8' : 'application/octet-stream',
        'content-length': String(body.length),
      };
      if (compact) headers.etag = `"${createHash('md5').update(body).digest('hex')}"`;
      if (headers.etag && req.headers['if-none-match'] === headers.etag) {
        res.writeHead(304, { etag: headers.etag }).end();
        return;
      }
      const range = compact ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
      if (range && Number(range[1]) < body.length && !s.corrupt.has(path)) {
        const from = Number(range[1]);
        headers['content-range'] = `bytes ${from}-${body.length - 1}/${body.length}`;
        headers['content-length'] = String(body.length - from);
        res.writeHead(206, headers).end(req.method === 'HEAD' ? undefined : body.subarray(from));
        return;
      }
      res.writeHead(200, headers);
      if (req.method === 'HEAD') return void res.end();
      if (!s.corrupt.has(path)) return void res.end(body);
      const wrong = Buffer.from(body);
      const mid = Math.floor(wrong.length / 2);
      wrong[mid] = wrong[mid]! ^ 0xff;
      res.end(wrong);
    });
    server.on('connection', (c) => {
      s.sockets.add(c);
      c.once('close', () => s.sockets.delete(c));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** GETs a path received. */
  hit(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  /** GETs received in all. */
  get total(): number {
    let n = 0;
    for (const v of this.hits.values()) n += v;
    return n;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.sockets) c.destroy();
    await closed;
  }
}
