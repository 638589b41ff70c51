/**
 * Request loops in mirror hierarchies are refused with 508 Loop Detected, in
 * each protocol's error format: a daemon that is its own parent, and two
 * daemons that are each other's parent (A → B → A). Parent credentials never
 * reach an upstream, and upstream credentials never reach the parent.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { api, startNode, until, type ChainDaemon } from '../helpers/edge-chain.js';
import { get } from '../helpers/npm-e2e.js';

const started: ChainDaemon[] = [];
after(async () => {
  for (const n of started) await n.d.close();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const config = {
  remotes: {
    local: { type: 'npm' as const, url: 'http://127.0.0.1:9/' },
    files: { type: 'http' as const, url: 'http://127.0.0.1:9/files/' },
  },
};

test('a daemon configured as its own parent refuses the loop with 508, in the protocol format', async () => {
  const port = await freePort();
  const self = await startNode(config, { url: `http://127.0.0.1:${port}`, token: 'x'.repeat(20) }, { listen: `127.0.0.1:${port}` });
  started.push(self);
  const t0 = Date.now();
  const res = await get(`${self.d.url}/npm/left-pad`);
  assert.equal(res.status, 508);
  assert.equal((JSON.parse(res.body.toString()) as { code: string }).code, 'E_LOOP');
  assert.ok(Date.now() - t0 < 5_000, 'refused at once, not after timeouts');
  const file = await get(`${self.d.url}/files/files/a/b.txt`);
  assert.equal(file.status, 508);
  // Its replication refuses to follow itself too.
  const s = await until('the sync to report the loop', async () => {
    const st = await fetch(`${self.d.url}/_/api/v1/stats`, { headers: { authorization: `Bearer ${self.token}` } });
    const body = (await st.json()) as { replication?: { connected: boolean; lastError?: string } };
    return body.replication?.lastError ? body.replication : undefined;
  });
  assert.equal(s.connected, false);
  assert.match(s.lastError!, /own ancestor|itself|token/);
});

test('A → B → A: the request comes back to A and is refused; both answer 508', async () => {
  const [pa, pb] = [await freePort(), await freePort()];
  const a = await startNode(config, { url: `http://127.0.0.1:${pb}`, token: 'a'.repeat(20) }, { listen: `127.0.0.1:${pa}` });
  started.push(a);
  const b = await startNode(config, { url: `http://127.0.0.1:${pa}`, token: 'b'.repeat(20) }, { listen: `127.0.0.1:${pb}` });
  started.push(b);
  const res = await get(`${a.d.url}/npm/@scope%2fthing`);
  assert.equal(res.status, 508);
  assert.match(res.body.toString(), /loop/);
  // The same check in the OCI error format, for a request that already passed through B.
  const oci = await get(`${b.d.url}/v2/library/alpine/manifests/3`, { headers: { via: `1.1 proxy, 1.1 larder-${b.id}` } });
  assert.equal(oci.status, 508);
  const errors = (JSON.parse(oci.body.toString()) as { errors: Array<{ code: string; message: string }> }).errors;
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /loop/);
});

test('parent and upstream credentials stay apart; fallback uses the own upstream with its own credentials', async () => {
  const seen: Array<{ path: string; auth: string | undefined; via: string | undefined }> = [];
  const fake = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization, via: req.headers.via });
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  const upstreamUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/`;
  const npmRemote = (token: string) => ({ remotes: { local: { type: 'npm' as const, url: upstreamUrl, auth: { token } } } });
  try {
    const parent = await startNode(npmRemote('P-secret'));
    started.push(parent);
    const child = await startNode(npmRemote('C-secret'), { url: parent.d.url, token: parent.token });
    started.push(child);
    const deadParent = `http://127.0.0.1:${await freePort()}`;
    const fb = await startNode({ ...npmRemote('F-secret'), parent: { url: deadParent, token: 'd'.repeat(20), fallback: true } });
    started.push(fb);

    // Through the parent: the parent's upstream fails, and without fallback the child does not go around it.
    assert.equal((await get(`${child.d.url}/npm/left-pad`)).status, 502);
    // A pass-through endpoint with a client token: neither the client's nor the parent's token goes upstream.
    await get(`${child.d.url}/npm/-/v1/search?text=x`, { headers: { authorization: 'Bearer client-secret' } });
    // A forwarded request keeps its path in Via.
    await get(`${child.d.url}/npm/other-pkg`, { headers: { via: '1.1 larder-someoneelse' } });
    const viaParent = seen.splice(0);
    assert.ok(viaParent.length >= 3);
    assert.ok(
      viaParent.every((x) => x.auth === 'Bearer P-secret'),
      `only the parent's upstream credentials: ${JSON.stringify(viaParent)}`,
    );
    assert.ok(
      viaParent.every((x) => x.via?.startsWith('1.1 larder-someoneelse, ') || x.via === `1.1 larder-${child.id}, 1.1 larder-${parent.id}`),
    );
    assert.ok(viaParent.some((x) => x.via === `1.1 larder-someoneelse, 1.1 larder-${child.id}, 1.1 larder-${parent.id}`));

    // Parent unreachable, fallback on: the daemon's own upstream, with its own credentials only.
    assert.equal((await get(`${fb.d.url}/npm/left-pad`)).status, 502);
    const direct = seen.splice(0);
    assert.ok(direct.length >= 1);
    assert.ok(
      direct.every((x) => x.auth === 'Bearer F-secret' && x.via === `1.1 larder-${fb.id}`),
      JSON.stringify(direct),
    );

    const all = JSON.stringify([...viaParent, ...direct]);
    for (const secret of [parent.token, child.token, 'C-secret', 'client-secret', 'd'.repeat(20)]) assert.ok(!all.includes(secret));
    assert.ok(Array.isArray(await api(parent, '/children')));
  } finally {
    await new Promise<void>((r) => fake.close(() => r()));
  }
});
