/**
 * A child daemon holds only a `replicate` token of its parent (not the
 * parent's admin token): the parent requires a token for protocol reads
 * (`access.anonymous: false`), the child replicates a pin made at the parent
 * and serves its closure, and the token never reaches the parent's upstream.
 * A `read` token is refused on the feed (E_SCOPE), so such a child does not
 * replicate.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TokenCreated } from '../../daemon/admin/contract.js';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { get } from '../helpers/npm-e2e.js';
import { api, pins, startNode, stats, until, type ChainDaemon } from '../helpers/edge-chain.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let top: ChainDaemon;
let child: ChainDaemon;
let reader: ChainDaemon;
let replicateToken = '';

const remotes = (url: string) => ({ remotes: { local: { type: 'npm' as const, url } } });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'larder-tokens-edge-'));
  fixture = await generateRegistry(join(root, 'registry'));
  upstream = await startNpmUpstream(fixture);
  top = await startNode({ ...remotes(upstream.url), access: { anonymous: false } });
  replicateToken = (await api<TokenCreated>(top, '/tokens', { method: 'POST', body: { name: 'edge-1', scope: 'replicate' } })).token;
  const readToken = (await api<TokenCreated>(top, '/tokens', { method: 'POST', body: { name: 'reader', scope: 'read' } })).token;
  child = await startNode({ ...remotes(upstream.url), pins: { interval: '1h' } }, { url: top.d.url, token: replicateToken });
  reader = await startNode({ ...remotes(upstream.url), pins: { interval: '1h' } }, { url: top.d.url, token: readToken });
});

after(async () => {
  await reader?.d.close();
  await child?.d.close();
  await top?.d.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('a child with a replicate token mirrors a pin of its token-protected parent', async () => {
  const pkg = fixture.packages.find((p) => !p.name.startsWith('@') && p.tarballs.length > 0)!;
  const tarball = pkg.tarballs.find((t) => t.version === pkg.distTags.latest)!;
  // The parent really requires a token for reads.
  assert.equal((await get(`${top.d.url}/npm/${pkg.name}`)).status, 401);
  const ref = `npm:${pkg.name}@${tarball.version}`;
  await api(top, '/pins', { method: 'POST', body: { ref } });
  const pin = await until(
    'the child to hold the pin',
    async () => {
      const p = (await pins(child)).find((x) => x.ref === ref);
      return p?.status === 'ok' ? p : undefined;
    },
    30_000,
    async () => JSON.stringify((await stats(child)).replication),
  );
  assert.equal(pin.source, 'parent');
  const served = await get(`${child.d.url}/npm${tarball.urlPath}`);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get('x-larder-cache'), 'HIT');
  for (const r of upstream.requests) assert.equal(r.headers.authorization, undefined, `${r.path} carried an Authorization header`);
});

test('a child with a read token is refused on the feed (E_SCOPE) and does not replicate', async () => {
  const s = await until('the reader to report the refusal', async () => {
    const r = (await stats(reader)).replication;
    return r?.lastError ? r : undefined;
  });
  assert.equal(s.connected, false);
  assert.match(s.lastError ?? '', /refused the token/);
  const res = await fetch(`${top.d.url}/_/api/v1/feed`, { headers: { authorization: `Bearer ${replicateToken}x` } });
  assert.equal(res.status, 401, 'a wrong token is a 401');
  await res.arrayBuffer();
});
