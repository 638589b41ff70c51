/**
 * An upstream behind a rate-limited link, for a namespace of its own: an
 * HTTP server on the namespace's loopback serving `GET /blob/<n>` (n
 * deterministic bytes, see `blobBytes`), the thin link (thin-link.ts) in
 * front of it, and a TCP relay on the namespace's bridge address to the
 * link, so other hosts reach the upstream only through the link.
 * `GET /_/stats` answers `{"bytes": …}`, the blob bytes served so far.
 * Prints `{"url": "http://<address>:<port>"}` once listening.
 * Usage: node --import tsx netns-upstream.ts <bridge IPv4> <bytes per second>
 */
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startThinLink } from './thin-link.js';

/** The n bytes `/blob/<n>` serves. */
export function blobBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

async function main(address: string, rate: number): Promise<void> {
  let served = 0;
  const upstream = createHttpServer((req, res) => {
    const m = /^\/blob\/(\d+)$/.exec(req.url ?? '');
    if (m) {
      const body = blobBytes(Number(m[1]));
      served += body.length;
      res.writeHead(200, { 'content-length': body.length }).end(body);
    } else if (req.url === '/_/stats') {
      res.end(JSON.stringify({ bytes: served }));
    } else {
      res.writeHead(404).end();
    }
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const link = await startThinLink((upstream.address() as AddressInfo).port, rate);
  const linkPort = Number(new URL(link.url).port);
  const relay = createServer((client) => {
    const to = connect(linkPort, '127.0.0.1');
    client.on('error', () => to.destroy());
    to.on('error', () => client.destroy());
    client.pipe(to).pipe(client);
  });
  relay.listen(0, address);
  await once(relay, 'listening');
  process.stdout.write(`${JSON.stringify({ url: `http://${address}:${(relay.address() as AddressInfo).port}` })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void main(process.argv[2] ?? '', Number(process.argv[3] ?? '0'));
}
