/**
 * A local PyPI-like upstream for tests, on two loopback ports (index host and
 * files host, like pypi.org and files.pythonhosted.org):
 *
 *   index  /simple/…          PEP 691 JSON when asked, else PEP 503 HTML; file URLs on the files host
 *          /static/simple/…   HTML only, relative file URLs (a static directory tree)
 *          /files/<f>         files for the relative URLs
 *   files  /files/<f>[.metadata]
 *
 * Pages carry ETags and answer 304; hits are counted per path; files can be
 * served corrupted on demand.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BuiltWheel } from './wheels.js';

export interface ListedFile {
  wheel: BuiltWheel;
  yanked?: string;
  /** Which PEP 658 attribute the upstream uses for the .metadata file (default core). */
  metadata?: 'core' | 'legacy' | 'none';
  /** Listed at this absolute URL instead of the upstream's own hosts. */
  foreignUrl?: string;
  /** PEP 700 `upload-time` given on JSON pages (ISO 8601). */
  uploadTime?: string;
}

const norm = (n: string): string => n.replace(/[-_.]+/g, '-').toLowerCase();
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export class PypiUpstream {
  readonly hits = new Map<string, number>();
  readonly corrupt = new Set<string>();
  notModified = 0;
  private servers: Server[] = [];
  indexUrl = '';
  filesUrl = '';

  private constructor(private readonly projects: Record<string, ListedFile[]>) {}

  static async start(projects: Record<string, ListedFile[]>): Promise<PypiUpstream> {
    const up = new PypiUpstream(projects);
    const index = await listen((req, res) => up.handle(req, res, 'index'));
    const files = await listen((req, res) => up.handle(req, res, 'files'));
    up.servers = [index.server, files.server];
    up.indexUrl = index.url;
    up.filesUrl = files.url;
    return up;
  }

  /** Upstream requests seen for a path (both hosts). */
  hit(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse, host: 'index' | 'files'): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    if (path.startsWith('/files/')) {
      this.file(path.slice('/files/'.length), res);
      return;
    }
    const m = /^\/(static\/)?simple\/(?:([^/]+)\/)?$/.exec(path);
    if (host !== 'index' || !m) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    const staticTree = m[1] !== undefined;
    const json = !staticTree && (req.headers.accept ?? '').includes('application/vnd.pypi.simple.v1+json');
    let body: string;
    if (m[2] === undefined) {
      const names = Object.keys(this.projects);
      body = json
        ? JSON.stringify({ meta: { 'api-version': '1.0' }, projects: names.map((name) => ({ name })) })
        : `<html><body>\n${names.map((n) => `<a href="/simple/${norm(n)}/">${esc(n)}</a>`).join('\n')}\n</body></html>\n`;
    } else {
      const name = Object.keys(this.projects).find((n) => norm(n) === m[2]);
      if (!name) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such project\n');
      body = json ? this.jsonPage(name) : this.htmlPage(name, staticTree);
    }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}${json ? 'j' : 'h'}"`;
    if (req.headers['if-none-match'] === etag) {
      this.notModified++;
      return void res.writeHead(304, { etag }).end();
    }
    res.writeHead(200, { 'content-type': json ? 'application/vnd.pypi.simple.v1+json' : 'text/html; charset=utf-8', etag });
    res.end(body);
  }

  private href(f: ListedFile, staticTree: boolean): string {
    if (f.foreignUrl) return f.foreignUrl;
    return staticTree ? `../../../files/${f.wheel.filename}` : `${this.filesUrl}/files/${f.wheel.filename}`;
  }

  private htmlPage(name: string, staticTree: boolean): string {
    const lines = this.projects[name]!.map((f) => {
      let a = `<a href="${esc(this.href(f, staticTree))}#sha256=${f.wheel.sha256}"`;
      if (f.wheel.spec.requiresPython) a += ` data-requires-python="${esc(f.wheel.spec.requiresPython)}"`;
      if (f.yanked !== undefined) a += ` data-yanked="${esc(f.yanked)}"`;
      const kind = f.metadata ?? 'core';
      if (kind !== 'none') a += ` data-${kind === 'core' ? 'core' : 'dist-info'}-metadata="sha256=${f.wheel.metadataSha256}"`;
      return `${a}>${esc(f.wheel.filename)}</a><br/>`;
    });
    return `<!DOCTYPE html>\n<html><head><title>Links for ${esc(name)}</title></head><body>\n${lines.join('\n')}\n</body></html>\n`;
  }

  private jsonPage(name: string): string {
    const files = this.projects[name]!.map((f) => {
      const o: Record<string, unknown> = { filename: f.wheel.filename, url: this.href(f, false), hashes: { sha256: f.wheel.sha256 } };
      if (f.wheel.spec.requiresPython) o['requires-python'] = f.wheel.spec.requiresPython;
      if (f.yanked !== undefined) o.yanked = f.yanked || true;
      if (f.uploadTime) o['upload-time'] = f.uploadTime;
      const kind = f.metadata ?? 'core';
      if (kind !== 'none') o[kind === 'core' ? 'core-metadata' : 'dist-info-metadata'] = { sha256: f.wheel.metadataSha256 };
      return o;
    });
    return JSON.stringify({ meta: { 'api-version': '1.0' }, name: norm(name), files });
  }

  private file(name: string, res: ServerResponse): void {
    const metadata = name.endsWith('.metadata');
    const filename = metadata ? name.slice(0, -'.metadata'.length) : name;
    const listed = Object.values(this.projects)
      .flat()
      .find((f) => f.wheel.filename === filename && !f.foreignUrl);
    if (!listed) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file\n');
    let body = Buffer.from(metadata ? listed.wheel.metadata : listed.wheel.data);
    if (this.corrupt.has(filename)) {
      body = Buffer.from(body);
      const mid = Math.floor(body.length / 2);
      body[mid] = body[mid]! ^ 0xff;
    }
    res.writeHead(200, { 'content-type': metadata ? 'text/plain' : 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  }
}
