/**
 * Buffered answers are written straight to the socket (daemon/http/respond.ts):
 * the status and headers the adapter chose, a body only where HTTP allows one,
 * no length or type on 204/205/304, and Koa's error answer when a header
 * value is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { writeResponse } from '../../daemon/http/respond.js';
import type { ProtoResponse } from '../../daemon/protocols/adapter.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function serve(res: ProtoResponse, method = 'GET'): Promise<Answer> {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    try {
      await new Promise<void>((resolve) => writeResponse(ctx, { ...res, headers: { ...res.headers } }, () => resolve()));
    } catch {
      ctx.status = 502;
      ctx.body = 'refused';
    }
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', method, agent: false }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.close();
  }
}

const hello = Buffer.from('hello');

test('a 200 buffer goes out with its headers, length and X-Larder-Cache; HEAD gets the headers only', async () => {
  const res: ProtoResponse = {
    status: 200,
    headers: { 'content-type': 'text/plain', etag: '"e"' },
    body: { type: 'buffer', data: hello },
    cache: 'HIT',
  };
  const get = await serve(res);
  assert.equal(get.status, 200);
  assert.equal(get.body, 'hello');
  assert.equal(get.headers['content-length'], '5');
  assert.equal(get.headers['content-type'], 'text/plain');
  assert.equal(get.headers.etag, '"e"');
  assert.equal(get.headers['x-larder-cache'], 'HIT');
  const head = await serve(res, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], '5');
});

test('a buffer without a type is application/octet-stream', async () => {
  const a = await serve({ status: 200, headers: {}, body: { type: 'buffer', data: hello } });
  assert.equal(a.headers['content-type'], 'application/octet-stream');
});

for (const status of [204, 205, 304]) {
  test(`an adapter's ${status} carries no body, length or type`, async () => {
    const a = await serve({ status, headers: { 'content-type': 'text/plain', etag: '"e"' }, body: { type: 'empty' } });
    assert.equal(a.status, status);
    assert.equal(a.body, '');
    assert.equal(a.headers['content-length'], undefined);
    assert.equal(a.headers['content-type'], undefined);
    assert.equal(a.headers.etag, '"e"');
  });
}

test('a header value the server refuses becomes an error answer, not a hung request', async () => {
  const a = await serve({ status: 200, headers: { etag: 'bad\nvalue' }, body: { type: 'buffer', data: hello } });
  assert.equal(a.status, 502);
  assert.equal(a.body, 'refused');
});
