/**
 * An https→http redirect on the same host and port (one listener that
 * speaks TLS and plain HTTP, told apart by the first byte, as
 * `https://h/` → `http://h/` is on the default ports): got keeps
 * Authorization and cookies because host and port are unchanged, so the
 * client drops them itself on a downgrade; the request is still followed.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { createServer as createHttp, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { connect, createServer as createNet, type AddressInfo, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { GotUpstreamClient } from '../../daemon/upstream/client.js';
import { tempDir } from '../helpers/daemon.js';
import { issueServerCert, makeCa } from '../helpers/tls.js';

let dir = '';
let port = 0;
const seen: Array<{ tls: boolean; url: string; headers: IncomingHttpHeaders }> = [];
let close: () => Promise<void> = async () => {};
let caPem = Buffer.alloc(0);

before(async () => {
  dir = await tempDir('larder-downgrade-');
  const ca = await makeCa(dir);
  caPem = await readFile(ca.caCert);
  const cert = await issueServerCert(ca, 'server', 1);
  const handler =
    (tls: boolean): RequestListener =>
    (req, res) => {
      seen.push({ tls, url: req.url ?? '', headers: req.headers });
      if (tls && req.url === '/start') {
        res.writeHead(302, { location: `http://localhost:${port}/target` }).end();
      } else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    };
  const https = createHttps({ cert: await readFile(cert.cert), key: await readFile(cert.key) }, handler(true));
  const http = createHttp(handler(false));
  await Promise.all([https, http].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const backend = (s: typeof http | typeof https): number => (s.address() as AddressInfo).port;
  // The front listener relays each connection, by its first byte (a TLS handshake or not), to one of them.
  const net = createNet((sock: Socket) => {
    sock.once('data', (first: Buffer) => {
      const to = connect(backend(first[0] === 0x16 ? https : http), '127.0.0.1');
      to.write(first);
      sock.pipe(to).pipe(sock);
      to.on('error', () => sock.destroy());
      sock.on('error', () => to.destroy());
    });
  });
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  port = (net.address() as AddressInfo).port;
  close = () =>
    new Promise<void>((r) => {
      https.closeAllConnections();
      http.closeAllConnections();
      https.close();
      http.close();
      net.close(() => r());
    });
});

after(async () => {
  await close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('credentials do not follow an https→http redirect on the same host and port', async () => {
  const client = new GotUpstreamClient({ ca: caPem });
  const res = await client.request({
    url: `https://localhost:${port}/start`,
    headers: { authorization: 'Bearer secret-upstream-token', cookie: 'session=secret' },
  });
  assert.equal(res.status, 200);
  for await (const _ of res.body as Readable) void _;
  assert.deepEqual(
    seen.map((s) => [s.tls, s.url]),
    [
      [true, '/start'],
      [false, '/target'],
    ],
  );
  assert.equal(seen[0]?.headers.authorization, 'Bearer secret-upstream-token', 'sent over TLS');
  assert.equal(seen[1]?.headers.authorization, undefined, 'not sent in clear text');
  assert.equal(seen[1]?.headers.cookie, undefined);
});
