/**
 * A body that breaks after its head (the upstream resets the connection, or
 * stops sending past the timeout) reaches whoever reads it as E_UPSTREAM or
 * E_UPSTREAM_TIMEOUT, the codes the caches turn into a 502/504 or a STALE
 * answer; before, got's own error arrived and became E_INTERNAL (a 500).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { chunksOf } from '../../daemon/core/fill/chunks.js';
import { toLarderError } from '../../daemon/core/errors.js';
import { GotUpstreamClient } from '../../daemon/upstream/client.js';

let server: Server;
let origin = '';

before(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) });
    res.write(Buffer.alloc(64 * 1024, 1));
    // /reset: the connection is cut mid-body; /stall: nothing more is sent.
    if (req.url === '/reset') setTimeout(() => req.socket.destroy(), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function readError(path: string, timeoutMs?: number): Promise<string> {
  const client = new GotUpstreamClient({ timeoutMs: timeoutMs ?? 30_000 });
  const res = await client.request({ url: `${origin}${path}` });
  assert.equal(res.status, 200);
  try {
    for await (const _ of chunksOf(res.body)) {
      // read to the end
    }
  } catch (err) {
    return toLarderError(err).code;
  }
  return 'no error';
}

test('a connection reset mid-body reads as E_UPSTREAM', async () => {
  assert.equal(await readError('/reset'), 'E_UPSTREAM');
});

test('a body that stalls past the timeout reads as E_UPSTREAM_TIMEOUT', async () => {
  assert.equal(await readError('/stall', 300), 'E_UPSTREAM_TIMEOUT');
});

test('a body that breaks before anyone reads it is no uncaught error, and its reader later gets E_UPSTREAM', async () => {
  const client = new GotUpstreamClient({ timeoutMs: 30_000 });
  const res = await client.request({ url: `${origin}/reset` });
  // Nobody reads while the connection is cut (a fill still opening its temp file).
  await new Promise((r) => setTimeout(r, 300));
  let code = 'no error';
  try {
    for await (const _ of chunksOf(res.body)) {
      // read what is left
    }
  } catch (err) {
    code = toLarderError(err).code;
  }
  assert.equal(code, 'E_UPSTREAM');
});
