/**
 * The Node.js floor of a cold pull: a bare `node:http` proxy that forwards
 * every request to the upstream over kept-alive connections and streams the
 * answer back, with no cache, lookup, policy or logging. In `verify` mode it
 * also does the least a verifying cache must do with each body: hash it
 * (sha256) and write it to a temp file while the client gets it (the file is
 * removed at the end), writing behind the network with one write in flight.
 * The plain proxy is the floor: no Node.js daemon pulls cold through
 * node:http faster on the same machine. The verifying one is a reference
 * for the least a cache adds on top (a faster design of it may exist).
 *
 *   node --import tsx bench/pass-through-child.ts PORT UPSTREAM_URL TEMP_DIR pipe|verify
 *
 * A path starting with `/v2/docker.io/` is forwarded as `/v2/` (the OCI
 * clients are pointed at it the way they are pointed at Larder).
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'proxy-connection', 'te', 'upgrade']);

function forwardHeaders(h: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/** Resolves on `drain`, or when `res` closes (a client that went away never drains). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Streams `up` to `res`, hashing it and writing it to `file` on the way.
 * The file is written behind the network, one write in flight (a chunk
 * waits only for the write before it), as a cache that does not let the
 * disk pace the upstream would.
 */
async function verifyAndSend(up: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const hash = createHash('sha256');
  const temp = await open(file, 'w');
  let at = 0;
  let writing: Promise<unknown> = Promise.resolve();
  try {
    for await (const chunk of up as AsyncIterable<Buffer>) {
      if (res.destroyed) throw new Error('the client went away');
      hash.update(chunk);
      await writing;
      writing = temp.write(chunk, 0, chunk.length, at);
      at += chunk.length;
      if (!res.write(chunk)) await drained(res);
    }
    await writing;
    hash.digest('hex');
    res.end();
  } finally {
    await writing.catch(() => undefined);
    await temp.close();
    await rm(file, { force: true });
  }
}

function main(): void {
  const [port, upstream, tempDir, mode = 'pipe'] = process.argv.slice(2);
  if (!port || !upstream || !tempDir || (mode !== 'pipe' && mode !== 'verify')) {
    throw new TypeError('usage: pass-through-child.ts PORT UPSTREAM_URL TEMP_DIR pipe|verify');
  }
  const base = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let n = 0;
  createServer((req, res) => {
    if (req.url === '/readyz') return void res.end('ok');
    const path = (req.url ?? '/').replace(/^\/v2\/docker\.io\//, '/v2/');
    const headers = forwardHeaders(req.headers);
    const out = request({ host: base.hostname, port: base.port, path, method: req.method, headers, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, forwardHeaders(up.headers));
      if (mode === 'pipe' || req.method === 'HEAD' || up.statusCode !== 200) return void up.pipe(res);
      verifyAndSend(up, res, join(tempDir, `body-${n++}`)).catch(() => {
        up.destroy();
        res.destroy();
      });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  }).listen(Number(port), '127.0.0.1');
}

main();
