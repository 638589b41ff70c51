/**
 * Pre-warm jobs and pins for PyPI and Go through the admin API: a
 * requirements.txt with --hash fetches exactly the hashed files (plus their
 * PEP 658 metadata), a hash the upstream disagrees with and a corrupt upstream
 * file fail as E_INTEGRITY with nothing stored, a go.sum warms .info/.mod/.zip,
 * and then Debian's pip (--require-hashes) and go (`go mod download`) are
 * served with both upstreams stopped.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job, Pin } from '../../daemon/admin/contract.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { goEnv, runGo } from '../helpers/go/go-tool.js';
import { buildModule, goSum, writeProxyDir, type BuiltModule } from '../helpers/go/modules.js';
import { serveProxyDir, type StaticProxy } from '../helpers/go/proxy-server.js';
import { PypiUpstream } from '../helpers/pypi/index-server.js';
import { Venv } from '../helpers/pypi/pip.js';
import { buildWheel, type BuiltWheel } from '../helpers/pypi/wheels.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A listed file that is not a wheel (only its bytes matter to the mirror). */
function fakeSdist(name: string, version: string): BuiltWheel {
  const w = buildWheel({ name, version });
  const data = Buffer.from(`sdist of ${name} ${version}\n`.repeat(50));
  return { ...w, filename: `${name}-${version}.tar.gz`, data, sha256: sha256(data) };
}

const delta10 = buildWheel({ name: 'Delta', version: '1.0' });
const delta10sdist = fakeSdist('delta', '1.0');
const delta20 = buildWheel({ name: 'Delta', version: '2.0' });
const epsilon = buildWheel({ name: 'epsilon', version: '1.0' });
const zeta = buildWheel({ name: 'zeta', version: '1.0' });
const eta = buildWheel({ name: 'eta', version: '1.0' });

const modA = buildModule({ path: 'example.com/warm/a', version: 'v1.0.0', files: { 'a.go': 'package a\n\nconst A = "a"\n' } });
const modB = buildModule({ path: 'example.com/Warm/B', version: 'v1.2.0', files: { 'b.go': 'package b\n\nconst B = "b"\n' } });
const pinned = buildModule({ path: 'example.com/pinme', version: 'v0.3.0', files: { 'p.go': 'package pinme\n' } });
const goBytes = (m: BuiltModule): number => m.info.length + m.mod.length + m.zip.length;

async function blobNames(dataDir: string): Promise<Set<string>> {
  const root = join(dataDir, 'blobs', 'sha256');
  const out = new Set<string>();
  for (const d of await readdir(root).catch(() => [] as string[])) for (const f of await readdir(join(root, d))) out.add(f);
  return out;
}

describe('pre-warm and pins for PyPI and Go', () => {
  let work: string;
  let up: PypiUpstream;
  let proxy: StaticProxy;
  let daemon: TestDaemon;
  let token: string;
  let venv: Promise<Venv>;

  before(async () => {
    work = await tempDir('larder-prewarm-pg-');
    venv = Venv.create(join(work, 'venv'));
    up = await PypiUpstream.start({
      Delta: [{ wheel: delta10 }, { wheel: delta10sdist, metadata: 'none' }, { wheel: delta20 }],
      epsilon: [{ wheel: epsilon, metadata: 'none' }],
      zeta: [{ wheel: zeta }],
      eta: [{ wheel: eta, metadata: 'none' }],
    });
    await writeProxyDir(join(work, 'proxy'), [modA, modB, pinned]);
    proxy = await serveProxyDir(join(work, 'proxy'));
    daemon = await startTestDaemon({
      remotes: {
        pyup: { type: 'pypi', url: `${up.indexUrl}/simple/`, filesUrl: `${up.filesUrl}/`, ttl: '1s' },
        goup: { type: 'go', url: `${proxy.url}/`, ttl: '1s' },
      },
      pypi: { default: 'pyup' },
      go: { default: 'goup' },
    });
    token = (await readFile(join(daemon.dataDir, 'admin-token'), 'utf8')).trim();
  });

  after(async () => {
    await daemon?.close();
    await up?.stop().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    await venv?.catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> => {
    const r = await fetch(`${daemon.url}/_/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, data: (await r.json()) as T };
  };

  /** Starts a job from files and waits for it to finish. */
  const runJob = async (files: Array<{ name: string; content: string }>): Promise<Job> => {
    const started = await api<Job>('POST', '/jobs', { files });
    assert.equal(started.status, 201, JSON.stringify(started.data));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { data } = await api<Job>('GET', `/jobs/${started.data.id}`);
      if (data.state !== 'queued' && data.state !== 'running') return data;
      assert.ok(Date.now() < deadline, `job still ${data.state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const requirements = `# pinned with hashes\nDelta==1.0 \\\n    --hash=sha256:${delta10.sha256}\nepsilon==1.0 --hash=sha256:${epsilon.sha256}\n`;

  it('a requirements.txt job fetches exactly the hashed files and their metadata', async () => {
    const job = await runJob([{ name: 'requirements.txt', content: requirements }]);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(
      job.items.map((i) => [i.ref, i.state]),
      [
        ['pypi:Delta==1.0', 'done'],
        ['pypi:epsilon==1.0', 'done'],
      ],
    );
    const expected = delta10.data.length + delta10.metadata.length + epsilon.data.length;
    assert.equal(job.bytes, expected);
    assert.equal(job.items[0]!.totalBytes, delta10.data.length + delta10.metadata.length);
    assert.equal(up.hit(`/files/${delta10.filename}`), 1);
    assert.equal(up.hit(`/files/${delta10.filename}.metadata`), 1);
    assert.equal(up.hit(`/files/${epsilon.filename}`), 1);
    assert.equal(up.hit(`/files/${delta10sdist.filename}`), 0, 'the sdist is not among the hashes');
    assert.equal(up.hit(`/files/${delta20.filename}`), 0, 'other versions are left alone');
    const blobs = await blobNames(daemon.dataDir);
    for (const h of [delta10.sha256, delta10.metadataSha256, epsilon.sha256]) assert.ok(blobs.has(h), h);

    const again = await runJob([{ name: 'requirements.txt', content: requirements }]);
    assert.deepEqual(
      again.items.map((i) => i.state),
      ['cached', 'cached'],
    );
    assert.equal(again.bytes, 0);
    assert.equal(up.hit(`/files/${delta10.filename}`), 1);
  });

  it('a hash the upstream disagrees with, and a corrupt upstream file, fail as E_INTEGRITY and store nothing', async () => {
    up.corrupt.add(eta.filename);
    const wrong = 'ab'.repeat(32);
    const job = await runJob([
      { name: 'requirements-dev.txt', content: `zeta==1.0 --hash=sha256:${wrong}\neta==1.0 --hash=sha256:${eta.sha256}\n` },
    ]);
    assert.equal(job.state, 'failed');
    const [z, e] = job.items;
    assert.equal(z!.state, 'failed');
    assert.match(z!.error ?? '', /^E_INTEGRITY: pypi:zeta==1\.0: hash mismatch/);
    assert.ok(z!.error!.includes(zeta.sha256), 'the message names what the upstream lists');
    assert.equal(z!.attempts, 1, 'integrity failures are not retried');
    assert.equal(up.hit(`/files/${zeta.filename}`), 0, 'nothing was fetched for a mismatching hash');
    assert.equal(e!.state, 'failed');
    assert.match(e!.error ?? '', /^E_INTEGRITY: pypi:eta==1\.0: eta-1\.0-py3-none-any\.whl does not match the sha256/);
    assert.equal(up.hit(`/files/${eta.filename}`), 1);
    const bad = Buffer.from(eta.data);
    bad[Math.floor(bad.length / 2)] = bad[Math.floor(bad.length / 2)]! ^ 0xff;
    const blobs = await blobNames(daemon.dataDir);
    for (const h of [zeta.sha256, eta.sha256, sha256(bad)]) assert.ok(!blobs.has(h), `${h} must not be stored`);
    const r = await fetch(`${daemon.url}/pypi/pyup/files/eta/${eta.filename}`, { method: 'HEAD' });
    // Never committed: asked again, the (small) file is fetched and refused again before anything is answered.
    assert.equal(r.status, 502, 'the corrupt file was never committed');
    assert.notEqual(r.headers.get('x-larder-cache'), 'HIT');
    assert.equal(up.hit(`/files/${eta.filename}`), 2);
    up.corrupt.delete(eta.filename);
  });

  it('pins a PyPI version (every file of it) and a Go module version', async () => {
    const py = await api<Pin>('POST', '/pins', { ref: 'pypi:delta==1.0' });
    assert.equal(py.status, 201, JSON.stringify(py.data));
    assert.equal(py.data.status, 'ok', JSON.stringify(py.data));
    assert.equal(py.data.resolved, '1.0');
    assert.equal(py.data.items, 4, 'page, wheel, wheel metadata and sdist');
    assert.equal(up.hit(`/files/${delta10sdist.filename}`), 1);
    assert.equal(up.hit(`/files/${delta10.filename}`), 1, 'the wheel came from the cache');

    const go = await api<Pin>('POST', '/pins', { ref: `go:${pinned.path}@${pinned.version}` });
    assert.equal(go.status, 201, JSON.stringify(go.data));
    assert.equal(go.data.status, 'ok', JSON.stringify(go.data));
    assert.equal(go.data.resolved, 'v0.3.0');
    assert.equal(go.data.items, 3);
    assert.equal(go.data.size, goBytes(pinned));
    assert.equal(go.data.mutable, false);
    for (const ext of ['info', 'mod', 'zip']) assert.equal(proxy.hit(`/example.com/pinme/@v/v0.3.0.${ext}`), 1, ext);
  });

  it('a go.sum job warms .info, .mod and .zip of every module', async () => {
    const job = await runJob([{ name: 'go.sum', content: goSum([modA, modB]) }]);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(
      job.items.map((i) => i.ref),
      [`go:${modA.path}@v1.0.0`, `go:${modB.path}@v1.2.0`],
    );
    assert.equal(job.bytes, goBytes(modA) + goBytes(modB));
    for (const ext of ['info', 'mod', 'zip']) {
      assert.equal(proxy.hit(`/example.com/warm/a/@v/v1.0.0.${ext}`), 1);
      assert.equal(proxy.hit(`/example.com/!warm/!b/@v/v1.2.0.${ext}`), 1, 'case-encoded upstream path');
    }
    const blobs = await blobNames(daemon.dataDir);
    assert.ok(blobs.has(sha256(modB.zip)));
  });

  it('with both upstreams stopped, pip --require-hashes and go mod download are served from the cache', async () => {
    await up.stop();
    await proxy.close();
    await new Promise((r) => setTimeout(r, 1100)); // past the pages' TTL: they are served stale

    const req = join(work, 'requirements.txt');
    await writeFile(req, requirements);
    const dl = join(work, 'dl');
    const pip = await (await venv).pip([
      'download',
      '--require-hashes',
      '-r',
      req,
      '-d',
      dl,
      '-i',
      `${daemon.url}/pypi/simple/`,
      '--retries',
      '0',
    ]);
    assert.equal(pip.code, 0, pip.stderr + pip.stdout);
    assert.deepEqual((await readdir(dl)).sort(), [delta10.filename, epsilon.filename]);
    assert.ok((await readFile(join(dl, delta10.filename))).equals(delta10.data));
    assert.ok((await readFile(join(dl, epsilon.filename))).equals(epsilon.data));

    const app = join(work, 'app');
    await mkdir(app, { recursive: true });
    const mods = [modA, modB, pinned];
    await writeFile(
      join(app, 'go.mod'),
      `module example.com/app\n\ngo 1.19\n\nrequire (\n${mods.map((m) => `\t${m.path} ${m.version}\n`).join('')})\n`,
    );
    await writeFile(join(app, 'go.sum'), goSum(mods));
    const home = join(work, 'gohome');
    const go = await runGo(['mod', 'download'], app, goEnv(home, { GOPROXY: `${daemon.url}/go` }));
    assert.equal(go.code, 0, go.stderr);
    const cache = join(home, 'modcache', 'cache', 'download', 'example.com');
    assert.ok((await readFile(join(cache, 'warm', 'a', '@v', 'v1.0.0.zip'))).equals(modA.zip));
    assert.ok((await readFile(join(cache, '!warm', '!b', '@v', 'v1.2.0.zip'))).equals(modB.zip));
    assert.ok((await readFile(join(cache, 'pinme', '@v', 'v0.3.0.zip'))).equals(pinned.zip));
  });
});
