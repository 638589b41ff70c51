/**
 * The shared admin client (daemon/admin/client.ts) against a real node http
 * server on port 0: every way an exchange fails is decoded into an
 * AdminError with a stable code (the API's own, E_HTTP_<status>, E_NETWORK,
 * E_TIMEOUT, E_BAD_RESPONSE), the auth options send what they say, a token
 * function is asked again after a 401, and the CLI's adapter maps the same
 * errors to its exit codes, for JSON calls and for bundle streams alike.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AdminClient, type AdminClientOptions } from '../../daemon/admin/client.js';
import { AdminError } from '../../daemon/admin/client-decode.js';
import { AdminClient as CliAdminClient, CliError, EXIT } from '../../daemon/cli/admin-client.js';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base = '';
let handler: Handler = (_req, res) => res.end('{}');
const seen: Seen[] = [];

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** Asserts that `p` rejects with an AdminError of this code and status. */
async function failsWith(p: Promise<unknown>, code: string, status: number, message?: RegExp): Promise<AdminError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => (caught = e),
  );
  assert.ok(caught instanceof AdminError, `an AdminError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.status, status);
  if (message) assert.match(caught.message, message);
  return caught;
}

describe('shared admin client against a real http server', () => {
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
        handler(req, res, body);
      });
    });
    base = await listen(server);
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const client = (over: Partial<AdminClientOptions> = {}): AdminClient =>
    new AdminClient({ baseUrl: base, auth: { bearer: 'tok' }, ...over });

  it("decodes the API's error body into its code, status and message", async () => {
    handler = (_req, res) => json(res, 404, { error: { code: 'E_NOT_FOUND', message: 'job j1 not found' } });
    const e = await failsWith(client().job('j1'), 'E_NOT_FOUND', 404, /^job j1 not found$/);
    assert.equal(e.unauthorized, false);
    handler = (_req, res) => json(res, 400, { error: { code: 'E_BAD_REQUEST', message: 'expected {"ref": "<reference>"}' } });
    await failsWith(client().addPin({ ref: 'npm:' }), 'E_BAD_REQUEST', 400, /expected/);
  });

  it('gives answers without an API error body E_HTTP_<status>, with their text', async () => {
    handler = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>');
    await failsWith(client().stats(), 'E_HTTP_502', 502, /Bad gateway/);
    handler = (_req, res) => json(res, 500, { error: 'boom' });
    await failsWith(client().stats(), 'E_HTTP_500', 500);
    handler = (_req, res) => res.writeHead(503).end();
    await failsWith(client().stats(), 'E_HTTP_503', 503, /Service Unavailable/);
  });

  it('turns a 2xx answer that is not JSON into E_BAD_RESPONSE', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>a proxy login page</html>');
    await failsWith(client().pins(), 'E_BAD_RESPONSE', 200);
  });

  it('turns a refused connection into E_NETWORK (status 0) and a silent server into E_TIMEOUT', async () => {
    const gone = createServer();
    const url = await listen(gone);
    await new Promise<void>((r) => gone.close(() => r()));
    await failsWith(new AdminClient({ baseUrl: url, auth: { bearer: 't' } }).stats(), 'E_NETWORK', 0, /ECONNREFUSED/);
    const silent = createServer(() => undefined);
    const silentUrl = await listen(silent);
    try {
      await failsWith(new AdminClient({ baseUrl: silentUrl, auth: { bearer: 't' }, timeoutMs: 200 }).stats(), 'E_TIMEOUT', 0);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('sends typed requests: method, path, query and JSON body', async () => {
    handler = (_req, res) => json(res, 200, []);
    seen.length = 0;
    const c = client();
    await c.activity({ kind: ['pin', 'job'], limit: 5 });
    await c.scrub({ now: true });
    await c.removePin('a/b');
    await c.entries({ protocol: 'npm', limit: 2 });
    await c.feed({ since: 3, wait: 0 });
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url} ${s.body}`),
      [
        'GET /_/api/v1/activity?kind=pin%2Cjob&limit=5 ',
        'POST /_/api/v1/scrub {"now":true}',
        'DELETE /_/api/v1/pins/a%2Fb ',
        'GET /_/api/v1/entries?protocol=npm&limit=2 ',
        'GET /_/api/v1/feed?since=3&wait=0 ',
      ],
    );
    assert.ok(seen.every((s) => s.authorization === 'Bearer tok'));
  });

  it('asks a token function again after a 401, keeps a fixed token, and sends no token for a session', async () => {
    const refused = { error: { code: 'E_UNAUTHORIZED', message: 'no' } };
    handler = (req, res) => (req.headers.authorization === 'Bearer new' ? json(res, 200, { offline: true }) : json(res, 401, refused));
    let reads = 0;
    const rotating = new AdminClient({ baseUrl: base, auth: { bearer: async () => (reads++ === 0 ? 'old' : 'new') } });
    assert.deepEqual(await rotating.setOffline(true), { offline: true });
    assert.equal(reads, 2);
    const e = await failsWith(client().stats(), 'E_UNAUTHORIZED', 401);
    assert.equal(e.unauthorized, true);
    seen.length = 0;
    await failsWith(new AdminClient({ baseUrl: base, auth: { session: 'same-origin' } }).stats(), 'E_UNAUTHORIZED', 401);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.authorization, undefined);
  });

  it('uses the rotated token after rotateToken()', async () => {
    let token = 'tok';
    handler = (req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) return json(res, 401, { error: { code: 'E_UNAUTHORIZED', message: 'no' } });
      if (req.url === '/_/api/v1/token/rotate') {
        token = 'rotated';
        return json(res, 200, { token });
      }
      json(res, 200, []);
    };
    const c = client();
    assert.deepEqual(await c.rotateToken(), { token: 'rotated' });
    assert.deepEqual(await c.pins(), []);
  });

  it("maps the same decoded errors to the CLI's exit codes, for calls and bundle streams", async () => {
    const cli = new CliAdminClient({ baseUrl: base, auth: { bearer: 'tok' } });
    const exit = async (p: Promise<unknown>): Promise<CliError> => {
      const e = await p.then(
        () => assert.fail('expected a CliError'),
        (err: unknown) => err,
      );
      assert.ok(e instanceof CliError, String(e));
      return e;
    };
    handler = (_req, res) => json(res, 400, { error: { code: 'E_BAD_REQUEST', message: 'not a bundle' } });
    const streamed = await exit(cli.stream('POST', '/import', { stream: Readable.from([Buffer.from('junk')]), type: 'application/x-tar' }));
    assert.equal(streamed.message, 'not a bundle [E_BAD_REQUEST]');
    assert.equal(streamed.exitCode, EXIT.failed);
    assert.equal(streamed.code, 'E_BAD_REQUEST');
    const called = await exit(cli.call('POST', '/pins', { ref: 'x' }));
    assert.equal(called.message, streamed.message);
    handler = (_req, res) => json(res, 401, { error: { code: 'E_UNAUTHORIZED', message: 'no' } });
    assert.equal((await exit(cli.stats())).exitCode, EXIT.unauthorized);
    assert.equal((await exit(cli.stream('POST', '/export', { json: {} }))).exitCode, EXIT.unauthorized);
    const gone = createServer();
    const url = await listen(gone);
    await new Promise<void>((r) => gone.close(() => r()));
    const dead = new CliAdminClient({ baseUrl: url, auth: { bearer: 't' } });
    for (const e of [await exit(dead.call('GET', '/stats')), await exit(dead.stream('POST', '/export', { json: {} }))]) {
      assert.equal(e.exitCode, EXIT.unreachable);
      assert.equal(e.message, `no Larder daemon answers at ${url}`);
    }
  });
});
