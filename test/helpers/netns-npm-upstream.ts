/**
 * The npm fixture upstream behind a rate-limited link, for a namespace of
 * its own: a registry on the namespace's loopback serving the generated
 * fixture (packuments, abbreviated or full, and tarballs), the thin link
 * (thin-link.ts) in front of it, and a TCP relay on the bridge address to
 * the link, so other hosts reach the registry only through the link. The
 * packuments' tarball URLs name the relay. A separate stats listener on the
 * bridge address (not through the link) answers `GET /` with
 * `UpstreamStats`: what crossed the link and which paths were asked for.
 * Prints `{"url": …, "stats": …}` once listening.
 * Usage: node --import tsx netns-npm-upstream.ts <fixture dir> <bridge IPv4> <bytes per second>
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRegistry } from './npm-fixture/generate.js';
import { normalizePath } from './npm-fixture/server.js';
import { UpstreamState, type RenderedDoc } from './npm-fixture/state.js';
import { startThinLink } from './thin-link.js';

export interface UpstreamStats {
  /** Bytes the link carried towards the hosts (responses, headers included). */
  linkBytes: number;
  /** Requests per path (tarballs and packuments). */
  paths: Record<string, number>;
  /** Tarball body bytes sent. */
  tarballBytes: number;
}

const ABBREVIATED = 'application/vnd.npm.install-v1+json';

function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  return once(server, 'listening').then(() => (server.address() as AddressInfo).port);
}

async function main(fixtureDir: string, address: string, rate: number): Promise<void> {
  const stats: UpstreamStats = { linkBytes: 0, paths: {}, tarballBytes: 0 };
  let linkPort = 0;
  const relay = createServer((client) => {
    const to = connect(linkPort, '127.0.0.1');
    client.on('error', () => to.destroy());
    to.on('error', () => client.destroy());
    to.on('data', (d: Buffer) => {
      stats.linkBytes += d.length;
    });
    client.pipe(to).pipe(client);
  });
  const url = `http://${address}:${await listen(relay, 0, address)}`;
  const state = await UpstreamState.load(await loadRegistry(fixtureDir), url, join(tmpdir(), `larder-netns-npm-${process.pid}`));

  const doc = (req: IncomingMessage, res: ServerResponse, d: RenderedDoc, type: string): void => {
    if ((req.headers['if-none-match'] ?? '').includes(d.etag)) return void res.writeHead(304, { ETag: d.etag }).end();
    res.writeHead(200, { ETag: d.etag, 'Last-Modified': d.lastModified, 'Content-Type': type, 'Content-Length': d.body.length });
    res.end(req.method === 'HEAD' ? undefined : d.body);
  };
  const registry = createHttpServer((req, res) => {
    const path = normalizePath(req.url ?? '/');
    stats.paths[path] = (stats.paths[path] ?? 0) + 1;
    const t = state.tarball(path);
    if (t) {
      res.writeHead(200, { ETag: t.etag, 'Content-Type': 'application/octet-stream', 'Content-Length': t.body.length });
      if (req.method === 'HEAD') return void res.end();
      stats.tarballBytes += t.body.length;
      return void res.end(t.body);
    }
    const entry = state.get(path.slice(1));
    if (!entry) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"Not found"}');
    const short = (req.headers.accept ?? '').includes(ABBREVIATED);
    doc(req, res, short ? entry.abbreviated : entry.full, short ? ABBREVIATED : 'application/json');
  });
  const link = await startThinLink(await listen(registry, 0, '127.0.0.1'), rate);
  linkPort = Number(new URL(link.url).port);

  const statsServer = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stats));
  });
  const statsUrl = `http://${address}:${await listen(statsServer, 0, address)}`;
  process.stdout.write(`${JSON.stringify({ url, stats: statsUrl })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void main(process.argv[2] ?? '', process.argv[3] ?? '', Number(process.argv[4] ?? '0'));
}
