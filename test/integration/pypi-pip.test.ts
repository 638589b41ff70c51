/**
 * PyPI through Larder with Debian's pip 23.0.1 in a venv, against a local
 * index + files host serving hand-built wheels: HTML/JSON negotiation,
 * rewritten file URLs with hashes, PEP 658 metadata, --require-hashes,
 * integrity, coalescing, revalidation and stale serving.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { PypiUpstream } from '../helpers/pypi/index-server.js';
import { startHtmlOnlyProxy, Venv } from '../helpers/pypi/pip.js';
import { buildWheel } from '../helpers/pypi/wheels.js';

const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const alpha09 = buildWheel({ name: 'Alpha', version: '0.9' });
const alpha10 = buildWheel({ name: 'Alpha', version: '1.0', requiresPython: '>=3.7', requiresDist: ['Beta_Pkg>=1.0'] });
const beta10 = buildWheel({ name: 'Beta_Pkg', version: '1.0' });
const beta11 = buildWheel({ name: 'Beta_Pkg', version: '1.1', requiresPython: '>=3.7' });
const beta90 = buildWheel({ name: 'Beta_Pkg', version: '9.0', requiresPython: '>=4' });
const gamma = buildWheel({ name: 'gamma', version: '2.0' });
const faraway = buildWheel({ name: 'faraway', version: '1.0' });

async function blobNames(dataDir: string): Promise<Set<string>> {
  const root = join(dataDir, 'blobs', 'sha256');
  const out = new Set<string>();
  for (const d of await readdir(root).catch(() => [] as string[])) for (const f of await readdir(join(root, d))) out.add(f);
  return out;
}

describe('pypi with pip', () => {
  let up: PypiUpstream;
  let daemon: TestDaemon;
  let venv: Venv;
  let work: string;

  before(async () => {
    work = await tempDir('larder-pip-');
    up = await PypiUpstream.start({
      Alpha: [{ wheel: alpha09, yanked: 'broken build' }, { wheel: alpha10 }],
      Beta_Pkg: [{ wheel: beta10, metadata: 'none' }, { wheel: beta11, metadata: 'legacy' }, { wheel: beta90 }],
      gamma: [{ wheel: gamma }],
      faraway: [{ wheel: faraway, foreignUrl: `http://127.0.0.1:9/elsewhere/${faraway.filename}` }],
    });
    daemon = await startTestDaemon({
      remotes: {
        pyjson: { type: 'pypi', url: `${up.indexUrl}/simple/`, filesUrl: `${up.filesUrl}/`, ttl: '1s' },
        pyhtml: { type: 'pypi', url: `${up.indexUrl}/static/simple/`, ttl: '1s' },
      },
      pypi: { default: 'pyjson' },
    });
    venv = await Venv.create(join(work, 'venv'));
  });

  after(async () => {
    await daemon?.close();
    await up?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const get = (path: string, accept?: string): Promise<Response> =>
    fetch(`${daemon.url}${path}`, { headers: accept ? { accept } : {}, redirect: 'manual' });

  it('negotiates HTML and JSON from one upstream fetch and redirects to normalized names', async () => {
    let r = await get('/pypi/pyjson/simple/Beta.Pkg/');
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), `${daemon.url}/pypi/pyjson/simple/beta-pkg/`);
    r = await get('/pypi/simple/beta-pkg');
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), `${daemon.url}/pypi/simple/beta-pkg/`);

    r = await get('/pypi/pyjson/simple/beta-pkg/', PIP_ACCEPT);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/vnd.pypi.simple.v1+json');
    assert.equal(r.headers.get('vary'), 'Accept');
    const text = await r.text();
    assert.ok(!text.includes('dist-info-metadata'), 'JSON must not carry dist-info-metadata (pip 23.0.1 crashes on it)');
    const page = JSON.parse(text) as { meta: { 'api-version': string }; name: string; files: Array<Record<string, unknown>> };
    assert.equal(page.meta['api-version'], '1.0');
    assert.equal(page.name, 'beta-pkg');
    assert.deepEqual(
      page.files.map((f) => f.filename),
      [beta10.filename, beta11.filename, beta90.filename],
    );
    assert.equal(page.files[1]!.url, `${daemon.url}/pypi/pyjson/files/beta-pkg/${beta11.filename}`);
    assert.deepEqual(page.files[1]!.hashes, { sha256: beta11.sha256 });
    assert.deepEqual(page.files[1]!['core-metadata'], { sha256: beta11.metadataSha256 });
    assert.equal(page.files[0]!['core-metadata'], undefined);
    assert.equal(page.files[2]!['requires-python'], '>=4');

    r = await get('/pypi/pyjson/simple/beta-pkg/', 'text/html');
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await r.text();
    const meta = `sha256=${beta11.metadataSha256}`;
    assert.ok(html.includes(`href="${daemon.url}/pypi/pyjson/files/beta-pkg/${beta11.filename}#sha256=${beta11.sha256}"`));
    assert.ok(html.includes(`data-dist-info-metadata="${meta}" data-core-metadata="${meta}"`));
    assert.ok(html.includes('data-requires-python="&gt;=4"'));
    r = await get('/pypi/pyjson/simple/beta-pkg/', 'application/vnd.pypi.simple.v1+html');
    assert.equal(r.headers.get('content-type'), 'application/vnd.pypi.simple.v1+html');
    assert.equal((await get('/pypi/pyjson/simple/beta-pkg/', 'application/xml')).status, 406);
    assert.equal(up.hit('/simple/beta-pkg/'), 1, 'every form is derived from one upstream fetch');

    const alpha = await (await get('/pypi/pyjson/simple/alpha/', 'text/html')).text();
    assert.match(alpha, /alpha-0\.9-py3-none-any\.whl#sha256=[0-9a-f]{64}" data-yanked="broken build"/);

    const fromHtml = (await (await get('/pypi/pyhtml/simple/alpha/', PIP_ACCEPT)).json()) as { files: Array<Record<string, unknown>> };
    assert.deepEqual(fromHtml.files[1], {
      filename: alpha10.filename,
      url: `${daemon.url}/pypi/pyhtml/files/alpha/${alpha10.filename}`,
      hashes: { sha256: alpha10.sha256 },
      'requires-python': '>=3.7',
      'core-metadata': { sha256: alpha10.metadataSha256 },
    });
    assert.equal((fromHtml.files[0] as { yanked?: unknown }).yanked, 'broken build');

    const list = await (await get('/pypi/pyhtml/simple/')).text();
    assert.ok(list.includes('<a href="beta-pkg/">beta-pkg</a>'));
    const listJson = (await (await get('/pypi/pyhtml/simple/', PIP_ACCEPT)).json()) as { projects: Array<{ name: string }> };
    assert.deepEqual(
      listJson.projects.map((p) => p.name),
      ['alpha', 'beta-pkg', 'gamma', 'faraway'],
    );

    const far = (await (await get('/pypi/pyjson/simple/faraway/', PIP_ACCEPT)).json()) as { files: Array<{ url: string }> };
    assert.equal(far.files[0]!.url, `http://127.0.0.1:9/elsewhere/${faraway.filename}`, 'files on other origins are not proxied');
    r = await get(`/pypi/pyjson/files/faraway/${faraway.filename}`);
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
  });

  it('pip download and pip install --require-hashes over the JSON API (default remote)', async () => {
    const dl = join(work, 'dl-json');
    const index = `${daemon.url}/pypi/simple/`;
    // Lower-case on purpose: over HTML, pip 23.0.1 compares the metadata Name un-normalized (see below).
    const res = await venv.pip(['download', 'alpha==1.0', '-d', dl, '-i', index, '--retries', '0']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.deepEqual((await readdir(dl)).sort(), [alpha10.filename, beta11.filename]);
    assert.ok((await readFile(join(dl, alpha10.filename))).equals(alpha10.data));
    assert.ok((await readFile(join(dl, beta11.filename))).equals(beta11.data));
    assert.equal(up.hit(`/files/${alpha10.filename}`), 1);
    assert.equal(up.hit(`/files/${alpha10.filename}.metadata`), 0, 'pip 23.0.1 ignores core-metadata in JSON');

    const req = join(work, 'requirements.txt');
    await writeFile(req, `alpha==1.0 --hash=sha256:${alpha10.sha256}\nbeta-pkg==1.1 --hash=sha256:${beta11.sha256}\n`);
    const inst = await venv.pip(['install', '--require-hashes', '-r', req, '-i', index, '--retries', '0']);
    assert.equal(inst.code, 0, inst.stderr + inst.stdout);
    const out = await venv.exec(['-c', 'import alpha, beta_pkg; print(alpha.VALUE, "|", beta_pkg.VALUE)']);
    assert.equal(out.stdout.trim(), 'Alpha 1.0 | Beta_Pkg 1.1');
    assert.equal(up.hit(`/files/${alpha10.filename}`), 1, 'the install was served from the cache');
    assert.equal(up.hit(`/files/${beta11.filename}`), 1);
  });

  it('pip over HTML pages uses the legacy metadata attribute and .metadata files', async () => {
    const proxy = await startHtmlOnlyProxy(daemon.url);
    try {
      const dl = join(work, 'dl-html');
      // pip 23.0.1 checks a PEP 658 file's Name against the requirement exactly as typed
      // (raw_name != req.name), so the requirement is spelled as the project publishes it.
      const res = await venv.pip(['download', 'Alpha==1.0', '-d', dl, '-i', `${proxy.url}/pypi/pyhtml/simple/`, '--retries', '0']);
      assert.equal(res.code, 0, res.stderr + res.stdout);
      assert.deepEqual((await readdir(dl)).sort(), [alpha10.filename, beta11.filename]);
      assert.ok(proxy.seen.includes('/pypi/pyhtml/simple/alpha/'));
      assert.equal(up.hit(`/files/${alpha10.filename}.metadata`), 1, 'pip fetched the PEP 658 metadata through Larder');
      assert.equal(up.hit(`/files/${beta11.filename}.metadata`), 1);
    } finally {
      await proxy.close();
    }
    const r = await get(`/pypi/pyhtml/files/alpha/${alpha10.filename}.metadata`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'HIT');
    assert.equal(sha256(Buffer.from(await r.arrayBuffer())), alpha10.metadataSha256);
  });

  it('a corrupt upstream file fails pip and is never committed', async () => {
    up.corrupt.add(gamma.filename);
    const bad = Buffer.from(gamma.data);
    const mid = Math.floor(bad.length / 2);
    bad[mid] = bad[mid]! ^ 0xff;
    const dl = join(work, 'dl-corrupt');
    await mkdir(dl);
    const res = await venv.pip(['download', 'gamma==2.0', '-d', dl, '-i', `${daemon.url}/pypi/simple/`, '--retries', '0']);
    assert.notEqual(res.code, 0, 'pip must fail on a corrupt transfer');
    assert.deepEqual(await readdir(dl), []);
    let blobs = await blobNames(daemon.dataDir);
    assert.ok(!blobs.has(sha256(bad)) && !blobs.has(gamma.sha256), 'nothing was committed');
    const hits = up.hit(`/files/${gamma.filename}`);
    assert.ok(hits >= 1);

    up.corrupt.delete(gamma.filename);
    const ok = await venv.pip(['download', 'gamma==2.0', '-d', dl, '-i', `${daemon.url}/pypi/simple/`, '--retries', '0']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.ok((await readFile(join(dl, gamma.filename))).equals(gamma.data));
    assert.equal(up.hit(`/files/${gamma.filename}`), hits + 1, 'the failure was not negative-cached');
    // Committed once the clients pause (write-behind).
    for (let i = 0; i < 100 && !(await blobNames(daemon.dataDir)).has(gamma.sha256); i++) await new Promise((r) => setTimeout(r, 50));
    blobs = await blobNames(daemon.dataDir);
    assert.ok(blobs.has(gamma.sha256));
  });

  it('concurrent cold requests for a file make one upstream fetch', async () => {
    const bodies = await Promise.all(
      Array.from({ length: 12 }, async () =>
        Buffer.from(await (await get(`/pypi/pyjson/files/beta-pkg/${beta10.filename}`)).arrayBuffer()),
      ),
    );
    for (const b of bodies) assert.ok(b.equals(beta10.data));
    assert.equal(up.hit(`/files/${beta10.filename}`), 1);
  });

  it('revalidates pages after their TTL and serves them stale when the upstream is down', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const before304 = up.notModified;
    let r = await get('/pypi/pyjson/simple/alpha/', PIP_ACCEPT);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'REVALIDATED');
    assert.equal(up.notModified, before304 + 1, 'revalidation used the upstream ETag');

    await up.stop();
    await new Promise((r) => setTimeout(r, 1100));
    r = await get('/pypi/pyjson/simple/alpha/', PIP_ACCEPT);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'STALE');
    const dl = join(work, 'dl-offline');
    const res = await venv.pip(['download', 'Alpha==1.0', '-d', dl, '-i', `${daemon.url}/pypi/simple/`, '--retries', '0']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.ok((await readFile(join(dl, alpha10.filename))).equals(alpha10.data));
  });
});
