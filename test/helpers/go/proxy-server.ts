/**
 * Serves a GOPROXY directory over HTTP on a loopback port, counting requests
 * per path, with 404 for anything absent (as a static proxy does).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface StaticProxy {
  url: string;
  hits: Map<string, number>;
  hit(path: string): number;
  close(): Promise<void>;
}

export async function serveProxyDir(root: string): Promise<StaticProxy> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const file = normalize(join(root, decodeURIComponent(path)));
    if (!file.startsWith(root)) return void res.writeHead(400).end();
    readFile(file).then(
      (body) => {
        const type = path.endsWith('.zip') ? 'application/zip' : path.endsWith('.info') ? 'application/json' : 'text/plain; charset=utf-8';
        res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
      },
      () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    hit: (p) => hits.get(p) ?? 0,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
