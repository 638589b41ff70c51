/**
 * HTTPS on the listen port (`tls: { cert, key }`) with a CA the test makes
 * with openssl: the real npm (cafile), pip (--cert) and skopeo
 * (--src-cert-dir) install and copy through it; a client that does not
 * trust the CA is refused; the CLI's admin client reaches the https daemon
 * with NODE_EXTRA_CA_CERTS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { runNpm } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { buildSmallLayout, type FixtureLayout } from '../helpers/oci/images.js';
import { pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';
import { PypiUpstream } from '../helpers/pypi/index-server.js';
import { Venv } from '../helpers/pypi/pip.js';
import { buildWheel } from '../helpers/pypi/wheels.js';
import { issueServerCert, makeCa, type TestCa } from '../helpers/tls.js';

const run = promisify(execFile);
const wheel = buildWheel({ name: 'tlsdemo', version: '1.0' });
let work = '';
let ca: TestCa;
let fixture: RegistryFixture;
let npmUp: NpmUpstream;
let pypi: PypiUpstream;
let reg: RunningRegistry;
let small: FixtureLayout;
let daemon: TestDaemon;

before(async () => {
  work = await tempDir('larder-tls-');
  ca = await makeCa(work);
  const server = await issueServerCert(ca, 'server', 1);
  [fixture, reg, small, pypi] = await Promise.all([
    generateRegistry(join(work, 'registry'), { packages: 12, bigTarballBytes: 64 * 1024 }),
    startRegistry(),
    buildSmallLayout(),
    PypiUpstream.start({ tlsdemo: [{ wheel }] }),
  ]);
  npmUp = await startNpmUpstream(fixture);
  await pushImage(small, 'multi', reg, 'fixtures/small');
  daemon = await startTestDaemon({
    tls: { cert: server.cert, key: server.key },
    remotes: {
      local: { type: 'npm', url: npmUp.url },
      py: { type: 'pypi', url: `${pypi.indexUrl}/simple/`, filesUrl: `${pypi.filesUrl}/` },
      hub: { type: 'oci', url: reg.url, host: 'docker.io' },
    },
  });
});

after(async () => {
  await daemon?.close();
  await npmUp?.close();
  await pypi?.stop();
  await reg?.stop();
  if (small) await rm(small.dir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

test('the daemon answers HTTPS on its port, and a client without the CA is refused', async () => {
  assert.match(daemon.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  await assert.rejects(fetch(`${daemon.url}/_/health`), /fetch failed/);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${daemon.url}/npm/${fixture.packages[0]!.name}`, { ca: [] as string[] }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  }).catch((err: NodeJS.ErrnoException) => err.code);
  assert.equal(status, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('npm installs through https with the CA as cafile', async () => {
  const app = join(work, 'npm-app');
  await mkdir(app, { recursive: true });
  const pkg = fixture.packages.find((p) => !p.name.startsWith('@'))!;
  await run('sh', ['-c', `echo '{"name":"app","version":"1.0.0"}' > package.json`], { cwd: app });
  await runNpm(['install', '--no-audit', '--no-fund', '--ignore-scripts', pkg.name], {
    cwd: app,
    registry: `${daemon.url}/npm/`,
    cacheDir: join(work, 'npm-cache'),
    env: { npm_config_cafile: ca.caCert },
  });
  const installed = JSON.parse(await readFile(join(app, 'node_modules', pkg.name, 'package.json'), 'utf8')) as { version: string };
  assert.equal(installed.version, pkg.distTags.latest);
  const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { resolved?: string }>;
  };
  assert.ok(lock.packages[`node_modules/${pkg.name}`]?.resolved?.startsWith(`${daemon.url}/npm/`), 'resolved through the https mirror');
});

test('pip installs through https with --cert', async () => {
  const venv = await Venv.create(join(work, 'venv'));
  const r = await venv.pip(['install', '--index-url', `${daemon.url}/pypi/py/simple/`, '--cert', ca.caCert, 'tlsdemo']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Successfully installed tlsdemo-1\.0/);
  const without = await venv.pip(['install', '--force-reinstall', '--index-url', `${daemon.url}/pypi/py/simple/`, 'tlsdemo']);
  assert.notEqual(without.code, 0, 'pip without the CA must not trust the daemon');
  assert.match(without.stdout + without.stderr, /CERTIFICATE_VERIFY_FAILED|SSLError/);
});

test('skopeo copies through https with the CA in --src-cert-dir', async () => {
  const certs = join(work, 'certs.d');
  await mkdir(certs, { recursive: true });
  await copyFile(ca.caCert, join(certs, 'ca.crt'));
  const out = join(work, 'oci-out');
  await skopeo([
    'copy',
    '--all',
    '--src-cert-dir',
    certs,
    '--src-no-creds',
    `docker://127.0.0.1:${daemon.port}/docker.io/fixtures/small:multi`,
    `oci:${out}:multi`,
  ]);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0]?.digest, small.images.multi!.digest);
  assert.ok((await readdir(join(out, 'blobs', 'sha256'))).length > 2);
});

test('the CLI reaches the https daemon with NODE_EXTRA_CA_CERTS', async () => {
  const cfg = join(work, 'cli.yaml');
  await run('sh', ['-c', `printf 'tls:\\n  cert: x.pem\\n  key: x.key\\n' > ${cfg}`]);
  const args = ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), 'status', '--json', '--config', cfg];
  args.push('--listen', `127.0.0.1:${daemon.port}`, '--data-dir', daemon.dataDir);
  const r = await run(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caCert } });
  assert.ok(JSON.parse(r.stdout), r.stderr);
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  await assert.rejects(run(process.execPath, args, { cwd: ROOT, env }), 'without the CA the CLI does not trust the daemon');
});
