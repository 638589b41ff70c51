/**
 * A local sparse registry shaped like crates.io, on 127.0.0.1:0: the index
 * (`/index/config.json` and index files at cargo's prefix paths, with ETag
 * and Last-Modified, 304 to conditional requests) and a download API whose
 * `/api/v1/crates/<name>/<version>/download` redirects to a second origin
 * (the static host) holding the `.crate` files. Requests, the statuses
 * answered and the Authorization headers seen are recorded per host.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { indexPath } from '../../../daemon/protocols/cargo/names.js';
import type { BuiltCrate } from './crates.js';

export interface Seen {
  path: string;
  status: number;
  authorization: string | undefined;
}

class Host {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  readonly seen: Seen[] = [];
  url = '';

  constructor(private readonly answer: (req: IncomingMessage, res: ServerResponse) => void) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      res.once('finish', () => this.seen.push({ path, status: res.statusCode, authorization: req.headers.authorization }));
      this.answer(req, res);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

const LAST_MODIFIED = new Date(Date.UTC(2024, 0, 1)).toUTCString();

export class CargoRegistry {
  /** Index files by lower-cased crate name. */
  private readonly files = new Map<string, string>();
  private readonly crates = new Map<string, BuiltCrate>();
  /** Download paths on the static host answered with one wrong byte. */
  readonly corrupt = new Set<string>();
  /** Index paths answered with a fixed status (410, 451…). */
  readonly statuses = new Map<string, number>();
  readonly index = new Host((req, res) => this.answerIndex(req, res));
  readonly static = new Host((req, res) => this.answerStatic(req, res));

  static async start(crates: BuiltCrate[]): Promise<CargoRegistry> {
    const r = new CargoRegistry();
    for (const c of crates) r.publish(c);
    await r.index.start();
    await r.static.start();
    return r;
  }

  /** The index root, as a cargo remote's `url`. */
  get indexUrl(): string {
    return `${this.index.url}/index/`;
  }

  publish(c: BuiltCrate): void {
    const key = c.name.toLowerCase();
    this.files.set(key, `${this.files.get(key) ?? ''}${c.line}\n`);
    this.crates.set(`${key}/${c.version}`, c);
  }

  /** Path of a crate's file on the static host. */
  staticPath(name: string, version: string): string {
    return `/crates/${name}/${name}-${version}.crate`;
  }

  /** GETs of a path on the static host (each a download of that `.crate`). */
  downloads(name: string, version: string): number {
    const p = this.staticPath(name, version);
    return this.static.seen.filter((s) => s.path === p).length;
  }

  async stop(): Promise<void> {
    await this.index.stop();
    await this.static.stop();
  }

  private answerIndex(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/index/config.json') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ dl: `${this.index.url}/api/v1/crates`, api: this.index.url }));
      return;
    }
    const dl = /^\/api\/v1\/crates\/([^/]+)\/([^/]+)\/download$/.exec(path);
    if (dl) {
      res.writeHead(302, { location: `${this.static.url}${this.staticPath(dl[1]!, dl[2]!)}` }).end();
      return;
    }
    const status = this.statuses.get(path);
    if (status) return void res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
    const name = path.startsWith('/index/') ? path.slice(path.lastIndexOf('/') + 1) : '';
    const body = this.files.get(name);
    if (body === undefined || path !== `/index/${indexPath(name)}`) return void res.writeHead(404).end('not found');
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
    res.writeHead(200, { 'content-type': 'text/plain', etag, 'last-modified': LAST_MODIFIED }).end(body);
  }

  private answerStatic(req: IncomingMessage, res: ServerResponse): void {
    const m = /^\/crates\/([^/]+)\/([^/]+)\.crate$/.exec((req.url ?? '/').split('?')[0]!);
    const c = m ? this.crates.get(`${m[1]!.toLowerCase()}/${m[2]!.slice(m[1]!.length + 1)}`) : undefined;
    if (!c) return void res.writeHead(404).end('not found');
    const body = Buffer.from(c.body);
    if (this.corrupt.has(this.staticPath(c.name, c.version))) body[body.length - 1] = body[body.length - 1]! ^ 0xff;
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) }).end(body);
  }
}
