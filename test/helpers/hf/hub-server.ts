/**
 * A local Hugging Face Hub on 127.0.0.1 that answers as the Hub does: the
 * repository info, tree (paged, `Link: rel="next"`) and paths-info APIs,
 * `resolve` with `X-Repo-Commit`, regular files served with their git blob
 * id as ETag, LFS files answered with `X-Linked-Etag`/`X-Linked-Size` and a
 * 302 to a separate CDN server, a gated repository that needs its token,
 * and the Hub's JSON errors with `X-Error-Code`. Range requests are
 * honoured (the JS client probes with `bytes=0-0`). Every request is
 * recorded with the Authorization header it carried.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HubRepos, listTree, treeEntry, type HubRepo, type HubRepoType } from './repos.js';

export interface Seen {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  auth: string | undefined;
}

const PAGE = 3;
const PLURAL: Record<string, HubRepoType> = { models: 'model', datasets: 'dataset', spaces: 'space' };

function send(res: ServerResponse, req: IncomingMessage, status: number, headers: Record<string, string>, body: Buffer): void {
  let code = status;
  let out = body;
  const h: Record<string, string> = { ...headers, 'accept-ranges': 'bytes' };
  const m = status === 200 ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null;
  if (m) {
    const start = Number(m[1]);
    const end = Math.min(m[2] ? Number(m[2]) : body.length - 1, body.length - 1);
    code = 206;
    out = body.subarray(start, end + 1);
    h['content-range'] = `bytes ${start}-${end}/${body.length}`;
  }
  h['content-length'] = String(out.length);
  res.writeHead(code, h);
  res.end(req.method === 'HEAD' ? undefined : out);
}

function hubError(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): void {
  send(
    res,
    req,
    status,
    { 'content-type': 'application/json', 'x-error-code': code, 'x-error-message': message },
    Buffer.from(JSON.stringify({ error: message })),
  );
}

export class FakeHub {
  readonly repos = new HubRepos();
  readonly seen: Seen[] = [];
  /** LFS files (by sha256) the CDN serves with one wrong byte. */
  readonly corrupt = new Set<string>();
  url = '';
  cdnUrl = '';
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private ports: number[] = [0, 0];

  /** Starts the Hub and its CDN (again on the same ports after a stop). */
  async start(): Promise<void> {
    const hub = createServer((req, res) => this.hub(req, res));
    const cdn = createServer((req, res) => this.cdn(req, res));
    for (const [i, s] of [hub, cdn].entries()) {
      s.on('connection', (c) => {
        this.sockets.add(c);
        c.once('close', () => this.sockets.delete(c));
      });
      await new Promise<void>((resolve) => s.listen(this.ports[i], '127.0.0.1', resolve));
      this.ports[i] = (s.address() as AddressInfo).port;
      this.servers.push(s);
    }
    this.url = `http://127.0.0.1:${this.ports[0]}`;
    this.cdnUrl = `http://127.0.0.1:${this.ports[1]}`;
  }

  /** Closes both ports: every later request is refused. */
  async stop(): Promise<void> {
    for (const c of this.sockets) c.destroy();
    await Promise.all(this.servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  count(pred: (s: Seen) => boolean): number {
    return this.seen.filter(pred).length;
  }

  private record(server: Seen['server'], req: IncomingMessage): string {
    const path = req.url ?? '/';
    this.seen.push({ server, method: req.method ?? 'GET', path, auth: req.headers.authorization });
    return path;
  }

  private cdn(req: IncomingMessage, res: ServerResponse) {
    const path = this.record('cdn', req);
    const sha = /^\/blobs\/([0-9a-f]{64})(\?.*)?$/.exec(path)?.[1];
    const body = sha ? this.repos.lfsBody(sha) : undefined;
    if (!sha || !body) return send(res, req, 404, { 'content-type': 'text/plain' }, Buffer.from('no such blob'));
    let out = body;
    if (this.corrupt.has(sha)) {
      out = Buffer.from(body);
      out[out.length - 1] = out[out.length - 1]! ^ 0xff;
    }
    send(res, req, 200, { 'content-type': 'binary/octet-stream', etag: `"${sha}"` }, out);
  }

  private findRepo(type: HubRepoType, segs: string[]): { repo: HubRepo; rest: string[] } | undefined {
    for (const n of [2, 1]) {
      const repo = this.repos.get(type, segs.slice(0, n).join('/'));
      if (repo) return { repo, rest: segs.slice(n) };
    }
    return undefined;
  }

  private hub(req: IncomingMessage, res: ServerResponse) {
    const target = new URL(this.record('hub', req), this.url);
    const segs = target.pathname.slice(1).split('/').map(decodeURIComponent);
    if (segs[0] === 'api') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => this.api(req, res, segs.slice(1), target, body));
      return;
    }
    const type: HubRepoType = segs[0] === 'datasets' ? 'dataset' : segs[0] === 'spaces' ? 'space' : 'model';
    const found = this.findRepo(type, type === 'model' ? segs : segs.slice(1));
    if (!found) return hubError(res, req, 401, 'RepoNotFound', 'Repository not found');
    const [action, rev, ...file] = found.rest;
    if (action !== 'resolve' || rev === undefined) return hubError(res, req, 404, 'EntryNotFound', 'Not found');
    this.resolveFile(req, res, found.repo, rev, file.join('/'));
  }

  private resolveFile(req: IncomingMessage, res: ServerResponse, repo: HubRepo, rev: string, path: string) {
    if (repo.gatedToken !== undefined && req.headers.authorization !== `Bearer ${repo.gatedToken}`) {
      const status = req.headers.authorization ? 403 : 401;
      return hubError(res, req, status, 'GatedRepo', `Access to model ${repo.name} is restricted.`);
    }
    const commit = this.repos.resolve(repo, rev);
    if (!commit) return hubError(res, req, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const f = repo.commits.get(commit)!.get(path);
    if (!f) return hubError(res, req, 404, 'EntryNotFound', `${path} does not exist`);
    const common = { 'x-repo-commit': commit };
    if (!f.lfs) return send(res, req, 200, { ...common, 'content-type': 'text/plain; charset=utf-8', etag: `"${f.oid}"` }, f.body);
    res.writeHead(302, {
      ...common,
      location: `${this.cdnUrl}/blobs/${f.lfs}?X-Amz-Signature=abc`,
      etag: `"${f.lfs}"`,
      'x-linked-etag': `"${f.lfs}"`,
      'x-linked-size': String(f.body.length),
      'x-xet-hash': 'f'.repeat(64),
      link: `<${this.url}/api/models/${repo.name}/xet-read-token/${commit}>; rel="xet-auth"`,
      'content-length': '0',
    });
    res.end();
  }

  private api(req: IncomingMessage, res: ServerResponse, segs: string[], target: URL, body: string) {
    const type = PLURAL[segs[0] ?? ''];
    const found = type ? this.findRepo(type, segs.slice(1)) : undefined;
    if (!found) return hubError(res, req, 401, 'RepoNotFound', 'Repository not found');
    const { repo, rest } = found;
    const [action, rev = 'main', ...more] = rest;
    const commit = this.repos.resolve(repo, rev);
    if (!commit) return hubError(res, req, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const snapshot = repo.commits.get(commit)!;
    const json = (value: unknown, headers: Record<string, string> = {}): void =>
      send(res, req, 200, { 'content-type': 'application/json; charset=utf-8', ...headers }, Buffer.from(JSON.stringify(value)));
    if (action === undefined || action === 'revision') {
      return json({
        _id: `id-${repo.name}`,
        id: repo.name,
        sha: commit,
        private: false,
        gated: repo.gatedToken === undefined ? false : 'manual',
        likes: 0,
        downloads: 0,
        lastModified: new Date(0).toISOString(),
        pipeline_tag: 'text-generation',
        xetEnabled: true,
        siblings: [...snapshot.keys()].map((rfilename) => ({ rfilename })),
      });
    }
    if (action === 'tree') {
      const listing = listTree(snapshot, more.join('/'), target.searchParams.get('recursive') === 'true');
      if (!listing) return hubError(res, req, 404, 'EntryNotFound', `${more.join('/')} does not exist`);
      const from = Number(target.searchParams.get('cursor') ?? 0);
      const next = new URL(target);
      next.searchParams.set('cursor', String(from + PAGE));
      const headers: Record<string, string> = from + PAGE < listing.length ? { link: `<${next}>; rel="next"` } : {};
      return json(listing.slice(from, from + PAGE), headers);
    }
    if (action === 'paths-info' && req.method === 'POST') {
      const ask = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(body) as { paths: string[] }).paths
        : new URLSearchParams(body).getAll('paths');
      return json(ask.flatMap((p) => (snapshot.has(p) ? [treeEntry(snapshot.get(p)!)] : [])));
    }
    return hubError(res, req, 404, 'EntryNotFound', 'Not found');
  }
}
