/**
 * A small upstream host for the Helm and Conda tests: files set and changed
 * by the test, strong ETags and Last-Modified with 304 answers to
 * conditional GETs, a count of GETs per path, a fault per path (a wrong
 * byte in a complete body), and an outage that closes the port and a
 * restart on the same port. Bodies may be streamed from a file (large
 * generated documents are never held whole).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

type Content = { kind: 'buffer'; body: Buffer; etag: string } | { kind: 'file'; file: string; size: number; etag: string };

interface Served {
  content: Content;
  type: string;
  headers: Record<string, string>;
  modified: string;
}

export class StaticHost {
  private server: Server | undefined;
  private readonly files = new Map<string, Served>();
  private readonly counts = new Map<string, number>();
  private readonly corrupt = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private port = 0;
  /** Conditional GETs answered 304, by path. */
  readonly notModified = new Map<string, number>();

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  set(path: string, body: Buffer | string, type = 'application/octet-stream', headers: Record<string, string> = {}): void {
    const b = Buffer.from(body);
    const etag = `"${createHash('sha256').update(b).digest('hex').slice(0, 32)}"`;
    this.files.set(path, { content: { kind: 'buffer', body: b, etag }, type, headers, modified: new Date().toUTCString() });
  }

  /** Serves a file from disk, streamed (its ETag is its size and mtime). */
  async setFile(path: string, file: string, type = 'application/json'): Promise<void> {
    const st = await stat(file);
    const etag = `"${st.size.toString(16)}-${st.mtimeMs.toString(16)}"`;
    this.files.set(path, { content: { kind: 'file', file, size: st.size, etag }, type, headers: {}, modified: st.mtime.toUTCString() });
  }

  delete(path: string): void {
    this.files.delete(path);
  }

  count(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  /** GETs received on every path. */
  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  setCorrupt(path: string, on: boolean): void {
    if (on) this.corrupt.add(path);
    else this.corrupt.delete(path);
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method === 'GET') this.counts.set(path, this.count(path) + 1);
      const f = this.files.get(path);
      if (!f) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      const base = { 'content-type': f.type, etag: f.content.etag, 'last-modified': f.modified, ...f.headers };
      if (req.headers['if-none-match'] === f.content.etag) {
        this.notModified.set(path, (this.notModified.get(path) ?? 0) + 1);
        return void res.writeHead(304, base).end();
      }
      const size = f.content.kind === 'buffer' ? f.content.body.length : f.content.size;
      res.writeHead(200, { ...base, 'content-length': String(size) });
      if (req.method === 'HEAD') return void res.end();
      if (f.content.kind === 'file') return void createReadStream(f.content.file).pipe(res);
      const body = Buffer.from(f.content.body);
      if (this.corrupt.has(path)) body[body.length - 1] = body[body.length - 1]! ^ 0xff;
      res.end(body);
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Closes the port (requests are refused until `start(sameport)`). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Listens again on the port it had. */
  restart(): Promise<this> {
    return this.start(this.port);
  }
}
