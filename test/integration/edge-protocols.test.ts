/**
 * Every protocol through a chain of three daemons (root → region → edge).
 * The region's and the edge's own upstreams are dead ports (no fallback), so
 * whatever the edge serves came through its parent: OCI (real skopeo, path-
 * prefix layout), PyPI (project page and a file listed on it), Go modules
 * and generic HTTP files, byte for byte, each fetched upstream once; and an
 * OCI pin made at the root is replicated to the edge.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { buildModule, writeProxyDir } from '../helpers/go/modules.js';
import { serveProxyDir, type StaticProxy } from '../helpers/go/proxy-server.js';
import { buildSmallLayout, type FixtureImage, type FixtureLayout } from '../helpers/oci/images.js';
import { pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';
import { PypiUpstream } from '../helpers/pypi/index-server.js';
import { buildWheel } from '../helpers/pypi/wheels.js';
import type { Pin } from '../../daemon/admin/contract.js';
import { api, startNode, until, type ChainDaemon } from '../helpers/edge-chain.js';

const DEAD = 'http://127.0.0.1:9';
const wheel = buildWheel({ name: 'Chain_Pkg', version: '1.2' });
const mod = buildModule({ path: 'example.com/chain', version: 'v1.0.0', files: { 'c.go': 'package chain\n\nconst Hops = 3\n' } });
const sha = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

let work = '';
let reg: RunningRegistry;
let small: FixtureLayout;
let py: PypiUpstream;
let goProxy: StaticProxy;
let files: StaticUpstream;
const nodes: ChainDaemon[] = [];
let edge: ChainDaemon;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'larder-edge-protocols-'));
  [reg, small, py] = await Promise.all([startRegistry(), buildSmallLayout(), PypiUpstream.start({ Chain_Pkg: [{ wheel }] })]);
  await pushImage(small, 'multi', reg, 'fixtures/small');
  await pushImage(small, 'single', reg, 'fixtures/small');
  await writeProxyDir(join(work, 'goproxy'), [mod]);
  goProxy = await serveProxyDir(join(work, 'goproxy'));
  await mkdir(join(work, 'files', 'dist'), { recursive: true });
  await writeFile(join(work, 'files', 'dist', 'tool-1.0.tar.gz'), Buffer.from('tool bytes '.repeat(5000)));
  files = await startStaticUpstream(join(work, 'files'));
  const remotes = (live: boolean) => ({
    remotes: {
      hub: { type: 'oci' as const, url: live ? reg.url : DEAD, host: 'docker.io' },
      py: {
        type: 'pypi' as const,
        url: live ? `${py.indexUrl}/simple/` : `${DEAD}/simple/`,
        ...(live ? { filesUrl: `${py.filesUrl}/` } : {}),
      },
      gop: { type: 'go' as const, url: live ? `${goProxy.url}/` : `${DEAD}/` },
      web: { type: 'http' as const, url: live ? `${files.url}/` : `${DEAD}/`, rules: [{ match: 'dist/**', policy: 'immutable' as const }] },
    },
  });
  const root = await startNode(remotes(true));
  nodes.push(root);
  const region = await startNode(remotes(false), { url: root.d.url, token: root.token });
  nodes.push(region);
  edge = await startNode(remotes(false), { url: region.d.url, token: region.token });
  nodes.push(edge);
  reg.clearRequests();
});

after(async () => {
  for (const n of nodes.reverse()) await n.d.close();
  await reg?.stop();
  await py?.stop();
  await goProxy?.close();
  await files?.stop();
  if (small) await rm(small.dir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

const closure = (i: FixtureImage): string[] => [i.digest, ...i.children.flatMap(closure), ...i.blobs.map((b) => b.digest)];

test('OCI: skopeo copy --all from the edge, byte for byte; each blob pulled from the registry once', async () => {
  const out = join(work, 'oci-out');
  await skopeo([
    'copy',
    '--all',
    '--src-tls-verify=false',
    '--src-no-creds',
    `docker://127.0.0.1:${edge.d.port}/docker.io/fixtures/small:multi`,
    `oci:${out}:multi`,
  ]);
  const multi = small.images.multi!;
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0]?.digest, multi.digest);
  const names = await readdir(join(out, 'blobs', 'sha256'));
  for (const n of names) assert.equal(sha(await readFile(join(out, 'blobs', 'sha256', n))), n);
  assert.deepEqual(new Set(names.map((n) => `sha256:${n}`)), new Set(closure(multi)));
  const blobGets = reg.requests().filter((r) => r.method === 'GET' && r.path.includes('/blobs/') && r.status === 200);
  assert.equal(new Set(blobGets.map((r) => r.path)).size, blobGets.length, 'no blob was pulled twice');
});

test('PyPI: the project page and a file listed on it', async () => {
  const page = await fetch(`${edge.d.url}/pypi/py/simple/chain-pkg/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
  assert.equal(page.status, 200);
  const doc = (await page.json()) as { files: Array<{ filename: string; url: string; hashes: { sha256: string } }> };
  const f = doc.files.find((x) => x.filename === wheel.filename)!;
  assert.ok(f.url.startsWith(`${edge.d.url}/pypi/py/files/`), `${f.url} is on the edge`);
  assert.equal(f.hashes.sha256, wheel.sha256);
  const body = Buffer.from(await (await fetch(f.url)).arrayBuffer());
  assert.equal(sha(body), wheel.sha256);
  assert.equal(py.hit(`/files/${wheel.filename}`), 1);
});

test('Go modules: list, .info, .mod and .zip', async () => {
  const base = `${edge.d.url}/go/gop/example.com/chain/@v`;
  assert.match(await (await fetch(`${base}/list`)).text(), /v1\.0\.0/);
  assert.deepEqual(Buffer.from(await (await fetch(`${base}/v1.0.0.info`)).arrayBuffer()), mod.info);
  assert.deepEqual(Buffer.from(await (await fetch(`${base}/v1.0.0.mod`)).arrayBuffer()), mod.mod);
  const zip = Buffer.from(await (await fetch(`${base}/v1.0.0.zip`)).arrayBuffer());
  assert.equal(sha(zip), sha(mod.zip));
  assert.equal(goProxy.hit('/example.com/chain/@v/v1.0.0.zip'), 1);
});

test('generic HTTP files', async () => {
  const res = await fetch(`${edge.d.url}/files/web/dist/tool-1.0.tar.gz`);
  assert.equal(res.status, 200);
  assert.equal(sha(Buffer.from(await res.arrayBuffer())), sha(await readFile(join(work, 'files', 'dist', 'tool-1.0.tar.gz'))));
  assert.equal(files.hitCount('/dist/tool-1.0.tar.gz'), 1);
  const again = await fetch(`${edge.d.url}/files/web/dist/tool-1.0.tar.gz`);
  await again.arrayBuffer();
  assert.equal(files.hitCount('/dist/tool-1.0.tar.gz'), 1);
});

test('an OCI pin made at the root reaches the edge, closure included', async () => {
  const [root] = nodes;
  const ref = 'oci:docker.io/fixtures/small:single';
  await api(root!, '/pins', { method: 'POST', body: { ref } });
  const pin = await until(
    'the edge to hold the OCI pin',
    async () => {
      const p = (await api<Pin[]>(edge, '/pins')).find((x) => x.ref === ref);
      return p?.status === 'ok' && p.source === 'parent' ? p : undefined;
    },
    30_000,
    async () =>
      JSON.stringify(
        await Promise.all(
          nodes.map(async (n) => ({ pins: await api(n, '/pins'), rep: (await api<{ replication?: unknown }>(n, '/stats')).replication })),
        ),
      ),
  );
  const single = small.images.single!;
  assert.equal(pin.resolved, single.digest);
  for (const b of single.blobs) {
    const res = await fetch(`${edge.d.url}/v2/docker.io/fixtures/small/blobs/${b.digest}`);
    assert.equal(sha(Buffer.from(await res.arrayBuffer())), b.digest.slice(7));
    assert.equal(res.headers.get('x-larder-cache'), 'HIT', `${b.digest} was fetched before the pin was reported`);
  }
});
