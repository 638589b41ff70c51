/**
 * The Node.js floor of warm packument hits: a bare `node:http` server that
 * answers each packument with bytes it copied once from a primed Larder
 * (full and abbreviated forms, with their content type and ETag), with no
 * routing, cache lookup, policy or logging. No Node.js daemon can answer
 * these requests faster on the same machine and load generator, so a
 * target above this server's rate is out of reach for any design of the
 * daemon. With `koa` as a fourth argument the same answers go through a
 * one-middleware Koa application instead: the floor of a daemon built on
 * Koa, as Larder is.
 *
 *   node --import tsx bench/node-floor-child.ts PORT SOURCE_REGISTRY_URL PATHS_JSON_FILE [koa]
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Koa from 'koa';
import { ACCEPT_ABBREVIATED, ACCEPT_FULL } from './scenarios.js';

interface Answer {
  body: Buffer;
  headers: Record<string, string>;
}

async function copy(url: string, accept: string): Promise<Answer> {
  const res = await fetch(url, { headers: { accept } });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`node floor: GET ${url}: ${res.status}`);
  const headers: Record<string, string> = {
    'content-type': res.headers.get('content-type') ?? 'application/json',
    'content-length': String(body.length),
  };
  const etag = res.headers.get('etag');
  if (etag) headers.etag = etag;
  return { body, headers };
}

async function main(): Promise<void> {
  const [port, source, pathsFile, framework] = process.argv.slice(2);
  if (!port || !source || !pathsFile) throw new TypeError('usage: node-floor-child.ts PORT SOURCE_REGISTRY_URL PATHS_JSON_FILE');
  const paths = JSON.parse(readFileSync(pathsFile, 'utf8')) as string[];
  const full = new Map<string, Answer>();
  const abbreviated = new Map<string, Answer>();
  for (const p of paths) {
    full.set(p, await copy(source + p, ACCEPT_FULL));
    abbreviated.set(p, await copy(source + p, ACCEPT_ABBREVIATED));
  }
  const answer = (url: string, accept: string | undefined): Answer | undefined =>
    url === '/readyz'
      ? { body: Buffer.from('ok'), headers: {} }
      : (accept ?? '').includes('vnd.npm.install-v1')
        ? abbreviated.get(url)
        : full.get(url);
  let handler = (req: IncomingMessage, res: ServerResponse): void => {
    const a = answer(req.url ?? '/', req.headers.accept);
    if (!a) return void res.writeHead(404).end();
    res.writeHead(200, a.headers).end(a.body);
  };
  if (framework === 'koa') {
    const app = new Koa();
    app.use((ctx) => {
      const a = answer(ctx.url, ctx.get('accept'));
      if (!a) return;
      ctx.set(a.headers);
      ctx.body = a.body;
    });
    handler = app.callback();
  }
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), '127.0.0.1');
  // A normal exit, so that a --cpu-prof profile is written.
  process.once('SIGTERM', () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
