/**
 * npm registry signatures with the real npm client: a local upstream signs
 * its versions with an EC P-256 key it serves at `/-/npm/v1/keys`; one
 * version's `dist.signatures` is tampered with, one has none. Under
 * `npmSignatures: require` those are refused and the others install (and
 * `npm audit signatures` through Larder passes); under `warn` they are
 * served and counted.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestDaemon, type TestDaemon, tempDir } from '../helpers/daemon.js';
import { runNpm } from '../helpers/npm-fixture/project.js';
import { type PackedTarball, packFiles } from '../helpers/npm-fixture/tarball.js';

const NPM_FLAGS = ['--no-audit', '--no-fund', '--ignore-scripts'];
const KEYID = 'SHA256:larder-test-key';
/** Version → how its signature is made; the last one is `latest`. */
const VERSIONS: Record<string, 'good' | 'tampered' | 'missing'> = { '1.0.0': 'good', '1.0.1': 'missing', '1.1.0': 'tampered' };

let root = '';
let upstream: Server;
let requireDaemon: TestDaemon;
let warnDaemon: TestDaemon;
let runs = 0;
let keyRequests = 0;
const tarballs = new Map<string, PackedTarball>();

async function startUpstream(): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = JSON.stringify({
    keys: [
      {
        expires: null,
        keyid: KEYID,
        keytype: 'ecdsa-sha2-nistp256',
        scheme: 'ecdsa-sha2-nistp256',
        key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      },
    ],
  });
  const signed = (data: string) => sign('sha256', Buffer.from(data, 'utf8'), privateKey).toString('base64');
  for (const v of Object.keys(VERSIONS)) {
    tarballs.set(
      `/foo/-/foo-${v}.tgz`,
      await packFiles(join(root, 'scratch'), { 'package.json': JSON.stringify({ name: 'foo', version: v }) }),
    );
  }
  const packument = (base: string) => {
    const versions: Record<string, unknown> = {};
    for (const [v, how] of Object.entries(VERSIONS)) {
      const t = tarballs.get(`/foo/-/foo-${v}.tgz`)!;
      const dist: Record<string, unknown> = { tarball: `${base}/foo/-/foo-${v}.tgz`, integrity: t.integrity, shasum: t.shasum };
      if (how === 'good') dist.signatures = [{ keyid: KEYID, sig: signed(`foo@${v}:${t.integrity}`) }];
      if (how === 'tampered') dist.signatures = [{ keyid: KEYID, sig: signed(`foo@${v}:sha512-tampered`) }];
      versions[v] = { name: 'foo', version: v, dist };
    }
    return { name: 'foo', 'dist-tags': { latest: Object.keys(VERSIONS).at(-1) }, versions };
  };
  upstream = createServer((req, res) => {
    const t = tarballs.get(req.url ?? '');
    if (t) return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(t.buffer);
    if (req.url === '/-/npm/v1/keys') {
      keyRequests++;
      return res.writeHead(200, { 'content-type': 'application/json' }).end(keys);
    }
    if (req.url === '/foo') {
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument(`http://${req.headers.host}`)));
    }
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

before(async () => {
  root = await tempDir('larder-policy-npm-sig-');
  const url = await startUpstream();
  const remotes = { local: { type: 'npm' as const, url: `${url}/` } };
  requireDaemon = await startTestDaemon({ remotes, policy: { npmSignatures: 'require' } });
  warnDaemon = await startTestDaemon({ remotes, policy: { npmSignatures: 'warn' } });
});

after(async () => {
  await requireDaemon?.close();
  await warnDaemon?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  if (root) await rm(root, { recursive: true, force: true });
});

/**
 * npm first asks Sigstore's TUF repository (on the internet) for a registry's keys and falls back
 * to `<registry>/-/npm/v1/keys` when the repository has no target for it, as for any registry but
 * npmjs.org. Offline, this preload answers "no target" at once instead of failing on the network.
 */
const NO_TUF = `const M = require('node:module'); const load = M._load;
M._load = function (req, ...rest) {
  if (req !== '@sigstore/tuf') return load.call(this, req, ...rest);
  const none = async () => { throw Object.assign(new Error('no TUF target offline'), { code: 'TUF_FIND_TARGET_ERROR' }); };
  return { initTUF: async () => ({ getTarget: none }) };
};`;

/** Runs npm in a fresh project with a fresh npm cache, against one daemon. */
async function npm(daemon: TestDaemon, args: string[], flags = NPM_FLAGS): Promise<{ stdout: string; dir: string }> {
  const dir = join(root, `app-${++runs}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const registry = `${daemon.url}/npm/`;
  const { stdout } = await runNpm([...args, ...flags], { cwd: dir, registry, cacheDir: join(root, `cache-${runs}`) });
  return { stdout, dir };
}

async function installed(dir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, 'node_modules', 'foo', 'package.json'), 'utf8')) as { version: string }).version;
}

test('under require, a tampered or missing signature is refused naming the signature; the signed version installs', async () => {
  await assert.rejects(
    npm(requireDaemon, ['install', 'foo@1.1.0']),
    /foo@1\.1\.0 has an invalid registry signature.*npmSignatures: require/,
  );
  await assert.rejects(npm(requireDaemon, ['install', 'foo@1.0.1']), /foo@1\.0\.1 has no registry signature/);
  const { dir } = await npm(requireDaemon, ['install', 'foo']);
  assert.equal(await installed(dir), '1.0.0', 'latest moves off the tampered version');
  const res = await fetch(`${requireDaemon.url}/npm/foo/-/foo-1.1.0.tgz`);
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { error: string }).error, /foo@1\.1\.0 has an invalid registry signature/);
  const doc = (await (await fetch(`${requireDaemon.url}/npm/foo`)).json()) as { versions: Record<string, unknown> };
  assert.deepEqual(Object.keys(doc.versions), ['1.0.0']);
});

test('npm audit signatures through Larder passes for the signed package, with the keys served from the cache', async () => {
  const { dir } = await npm(requireDaemon, ['install', 'foo@1.0.0']);
  const registry = `${requireDaemon.url}/npm/`;
  const preload = join(root, 'no-tuf.cjs');
  await writeFile(preload, NO_TUF);
  const env = { NODE_OPTIONS: `--require ${preload}` };
  const { stdout } = await runNpm(['audit', 'signatures'], { cwd: dir, registry, cacheDir: join(root, 'cache-audit'), env });
  assert.match(stdout, /1 package has a verified registry signature/);
  const keys = await fetch(`${registry}-/npm/v1/keys`);
  assert.equal(keys.status, 200);
  assert.equal(((await keys.json()) as { keys: Array<{ keyid: string }> }).keys[0]?.keyid, KEYID);
  assert.equal(keys.headers.get('x-larder-cache'), 'HIT');
});

test('under warn, the failing versions are served and counted in /metrics', async () => {
  const { dir } = await npm(warnDaemon, ['install', 'foo@1.1.0']);
  assert.equal(await installed(dir), '1.1.0');
  const text = await (await fetch(`${warnDaemon.url}/metrics`)).text();
  assert.match(text, /larder_policy_requests_total\{remote="local",reason="signature"\} [1-9]/);
});

test('the registry keys are fetched once per daemon, not per packument or hit', async () => {
  for (const daemon of [requireDaemon, warnDaemon]) {
    for (let i = 0; i < 3; i++) {
      assert.equal((await fetch(`${daemon.url}/npm/-/npm/v1/keys`)).status, 200);
      assert.equal((await fetch(`${daemon.url}/npm/foo/-/foo-1.0.0.tgz`)).status, 200);
    }
  }
  assert.equal(keyRequests, 2);
});
