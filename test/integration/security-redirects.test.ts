/**
 * Redirects and token realms (issue 14): an upstream may not send Larder to
 * an address more private than its own (loopback, link-local, LAN), and
 * credentials never follow a redirect to another host.
 *
 * Every test server is on 127.0.0.1, so a "public" remote is a made-up name
 * (public.test) that the client's connection lookup points at 127.0.0.1
 * while the redirect check's resolver gives it a public address
 * (203.0.113.x): the check sees what it would see for a real public
 * registry, the bytes still flow locally. Literal addresses (127.0.0.1,
 * 169.254.169.254) are classified without any lookup.
 */
import assert from 'node:assert/strict';
import { lookup as dnsLookup } from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isLarderError } from '../../daemon/core/errors.js';
import type { UpstreamRequest, UpstreamResponse } from '../../daemon/core/ports.js';
import { TokenCache } from '../../daemon/protocols/oci/auth.js';
import { classifyAddress, hostClass, type Resolver } from '../../daemon/upstream/address-class.js';
import { GotUpstreamClient } from '../../daemon/upstream/client.js';

const PUBLIC: Record<string, string[]> = { 'public.test': ['203.0.113.10'], 'cdn.public.test': ['203.0.113.11'], 'lan.test': ['10.1.2.3'] };
const resolve: Resolver = async (h) => {
  const a = PUBLIC[h];
  if (!a) throw new Error(`ENOTFOUND ${h}`);
  return a;
};
/** Connection lookup: every made-up name is this machine. */
const connectLookup = ((host: string, opts: unknown, cb: unknown) =>
  host.endsWith('.test')
    ? (cb as (e: null, a: string | Array<{ address: string; family: number }>, f?: number) => void)(
        null,
        (opts as { all?: boolean }).all ? [{ address: '127.0.0.1', family: 4 }] : '127.0.0.1',
        4,
      )
    : dnsLookup(host, opts as never, cb as never)) as unknown as typeof dnsLookup;

test('addresses are classed public < private < loopback', async () => {
  for (const a of ['127.0.0.1', '127.9.9.9', '::1', '0.0.0.0', '::ffff:127.0.0.1']) assert.equal(classifyAddress(a), 'loopback', a);
  for (const a of ['10.0.0.1', '172.16.5.5', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', 'fd00::1', 'fe80::1'])
    assert.equal(classifyAddress(a), 'private', a);
  for (const a of ['8.8.8.8', '172.32.0.1', '203.0.113.10', '2001:db8::1', '::ffff:8.8.8.8']) assert.equal(classifyAddress(a), 'public', a);
  assert.equal(await hostClass('localhost', resolve), 'loopback');
  assert.equal(await hostClass('[::1]', resolve), 'loopback');
  assert.equal(await hostClass('lan.test', resolve), 'private');
  assert.equal(await hostClass('public.test', resolve), 'public');
  assert.equal(await hostClass('unresolvable.example', resolve), 'public', 'nothing to reach');
});

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
}

async function server(
  handle: (path: string, res: import('node:http').ServerResponse) => void,
): Promise<{ s: Server; port: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  const s = createServer((req, res) => {
    hits.push({ path: req.url ?? '', headers: req.headers });
    handle(req.url ?? '', res);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { s, port: (s.address() as AddressInfo).port, hits };
}

describe('redirects through the upstream client', () => {
  let origin: Awaited<ReturnType<typeof server>>;
  let target: Awaited<ReturnType<typeof server>>;
  const client = new GotUpstreamClient({ timeoutMs: 5000, resolve, dnsLookup: connectLookup });
  const read = async (r: UpstreamResponse): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks).toString();
  };
  const get = async (req: UpstreamRequest): Promise<{ status: number; body: string } | { refused: string }> => {
    try {
      const r = await client.request(req);
      return { status: r.status, body: await read(r) };
    } catch (e) {
      assert.ok(isLarderError(e), String(e));
      return { refused: `${e.code}: ${e.message}` };
    }
  };

  before(async () => {
    target = await server((_p, res) => res.end('secret'));
    origin = await server((p, res) => {
      const to = decodeURIComponent(p.slice(1)).replace('PORT', String(target.port));
      res.writeHead(302, { location: to }).end();
    });
  });

  after(() => {
    origin.s.close();
    target.s.close();
  });

  const via = (host: string, to: string): string => `http://${host}:${origin.port}/${encodeURIComponent(to)}`;

  test('a public remote cannot redirect to loopback, link-local or LAN addresses', async () => {
    for (const to of [
      'http://127.0.0.1:PORT/admin',
      'http://localhost:PORT/admin',
      'http://169.254.169.254/latest/meta-data/',
      'http://lan.test:PORT/x',
    ]) {
      const r = await get({ url: via('public.test', to) });
      assert.ok('refused' in r, `${to} was followed: ${JSON.stringify(r)}`);
      assert.match(r.refused, /^E_UPSTREAM: upstream redirect to a (loopback|private or link-local) address refused/);
      assert.ok(!r.refused.includes('127.0.0.1') && !r.refused.includes('169.254'), r.refused);
    }
    assert.equal(target.hits.length, 0, 'nothing reached the private target');
  });

  test('a public remote may redirect to another public host; credentials stay behind', async () => {
    const r = await get({ url: via('public.test', 'http://cdn.public.test:PORT/blob'), headers: { authorization: 'Bearer s3cret' } });
    assert.deepEqual(r, { status: 200, body: 'secret' });
    assert.equal(target.hits.length, 1);
    assert.equal(target.hits[0]!.headers.authorization, undefined, 'credentials never follow a redirect to another host');
  });

  test('a LAN remote may redirect within the LAN but not to loopback; a loopback remote anywhere', async () => {
    const lan = await get({ url: via('lan.test', 'http://127.0.0.1:PORT/x') });
    assert.ok('refused' in lan, JSON.stringify(lan));
    const local = await get({ url: via('127.0.0.1', 'http://localhost:PORT/x') });
    assert.deepEqual(local, { status: 200, body: 'secret' });
  });
});

describe('OCI token realms', () => {
  const ok = (): Promise<UpstreamResponse> =>
    Promise.resolve({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Readable.from([Buffer.from('{"token":"t1"}')]),
      url: 'http://x/',
    });

  test('a realm more private than the registry is refused before anything is sent', async () => {
    const sent: string[] = [];
    const tokens = new TokenCache({ now: () => 0 }, resolve);
    const send = (r: UpstreamRequest): Promise<UpstreamResponse> => {
      sent.push(r.url);
      return ok();
    };
    const creds = { username: 'u', password: 'p' };
    for (const realm of ['http://127.0.0.1:1/token', 'http://169.254.169.254/token', 'http://lan.test/token']) {
      await assert.rejects(
        tokens.get(realm, 'svc', 'repository:a:pull', creds, send, 'https://public.test/'),
        (e) => isLarderError(e) && e.code === 'E_UPSTREAM' && /token realm to a .* address refused/.test(e.message),
        realm,
      );
    }
    assert.deepEqual(sent, [], 'no token request, no credentials sent');
    assert.equal(await tokens.get('https://auth.public.test/token', 'svc', 'repository:a:pull', creds, send, 'https://public.test/'), 't1');
    assert.equal(await tokens.get('http://127.0.0.1:2/token', 'svc', 'repository:b:pull', creds, send, 'http://127.0.0.1:1/'), 't1');
    assert.equal(sent.length, 2, 'a public realm for a public registry, and a loopback realm for a loopback registry');
  });
});
