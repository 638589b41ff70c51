/**
 * `access: { anonymous: false }`: protocol reads and /metrics need a token,
 * and the real clients present a `read` token their usual way: npm
 * `_authToken` (Bearer), pip credentials in the index URL (Basic), skopeo
 * `--creds` (Basic, after the `WWW-Authenticate: Basic` challenge of
 * `/v2/`), and Maven `<server>` credentials (Basic, after the challenge).
 * Without a token each protocol answers 401 in its own error format with a
 * Basic challenge; the token is never forwarded upstream.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TokenCreated } from '../../daemon/admin/contract.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { MavenRepo, runMvn, writeMavenProject } from '../helpers/files-fixture/maven-repo.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { runNpm } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { buildSmallLayout, type FixtureLayout } from '../helpers/oci/images.js';
import { inspectRaw, pushImage } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';
import { PypiUpstream } from '../helpers/pypi/index-server.js';
import { Venv } from '../helpers/pypi/pip.js';
import { buildWheel } from '../helpers/pypi/wheels.js';

const wheel = buildWheel({ name: 'gamma', version: '2.0' });
const EXT = { group: 'com.example', artifact: 'ext', version: '1.0' };

describe('token-required reads with the real clients', { timeout: 600_000 }, () => {
  let work: string;
  let fixture: RegistryFixture;
  let npmUp: NpmUpstream;
  let pypiUp: PypiUpstream;
  let mavenUp: StaticUpstream;
  let reg: RunningRegistry;
  let small: FixtureLayout;
  let daemon: TestDaemon;
  let token = '';

  before(async () => {
    work = await tempDir('larder-access-');
    fixture = await generateRegistry(join(work, 'registry'));
    const repo = new MavenRepo(join(work, 'maven'));
    await repo.artifact({ group: 'org.codehaus.plexus', artifact: 'plexus-utils', version: '1.1' });
    await repo.artifact(EXT);
    [npmUp, pypiUp, mavenUp, reg, small] = await Promise.all([
      startNpmUpstream(fixture),
      PypiUpstream.start({ gamma: [{ wheel }] }),
      startStaticUpstream(repo.root),
      startRegistry(),
      buildSmallLayout(),
    ]);
    await pushImage(small, 'single', reg, 'fixtures/small');
    daemon = await startTestDaemon({
      access: { anonymous: false },
      remotes: {
        local: { type: 'npm', url: npmUp.url },
        py: { type: 'pypi', url: `${pypiUp.indexUrl}/simple/`, filesUrl: `${pypiUp.filesUrl}/` },
        hub: { type: 'oci', url: reg.url, host: 'docker.io' },
        central: { type: 'http', url: `${mavenUp.url}/`, layout: 'maven' },
      },
      pypi: { default: 'py' },
    });
    const res = await fetch(`${daemon.url}/_/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await adminToken(daemon.dataDir)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', scope: 'read' }),
    });
    token = ((await res.json()) as TokenCreated).token;
  });

  after(async () => {
    await daemon?.close();
    await Promise.all([npmUp?.close(), pypiUp?.stop(), mavenUp?.stop(), reg?.stop()]);
    if (small) await rm(small.dir, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('answers 401 without a token, in each protocol format, with a Basic challenge', async () => {
    const pkg = fixture.packages.find((p) => !p.name.startsWith('@'))!;
    for (const path of [`/npm/${pkg.name}`, '/pypi/simple/gamma/', '/v2/', '/files/central/com/example/ext/1.0/ext-1.0.pom', '/metrics']) {
      const res = await fetch(`${daemon.url}${path}`);
      const body = await res.text();
      assert.equal(res.status, 401, `${path}: ${body}`);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="larder"', path);
      if (path === '/v2/') assert.equal((JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]?.code, 'UNAUTHORIZED');
      const wrong = await fetch(`${daemon.url}${path}`, { headers: { authorization: 'Bearer lrd_nope' } });
      await wrong.arrayBuffer();
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
      const ok = await fetch(`${daemon.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await ok.arrayBuffer();
      assert.notEqual(ok.status, 401, `${path} with the token`);
    }
    assert.equal((await fetch(`${daemon.url}/healthz`)).status, 200, 'health checks stay open');
  });

  it('npm installs with _authToken; the token is not forwarded upstream', async () => {
    const pkg = fixture.packages.find((p) => !p.name.startsWith('@') && p.tarballs.length > 0)!;
    const dir = join(work, 'npm-app');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const registry = `${daemon.url}/npm/`;
    const opts = { cwd: dir, registry, cacheDir: join(work, 'npm-cache-1') };
    await assert.rejects(runNpm(['install', pkg.name, '--no-audit', '--no-fund', '--ignore-scripts'], opts), /E401|401/);
    await writeFile(join(dir, '.npmrc'), `//${daemon.url.replace('http://', '')}/:_authToken=${token}\n`);
    await runNpm(['install', pkg.name, '--no-audit', '--no-fund', '--ignore-scripts'], { ...opts, cacheDir: join(work, 'npm-cache-2') });
    assert.ok((await readdir(join(dir, 'node_modules'))).includes(pkg.name));
    assert.ok(npmUp.requests.length > 0);
    for (const r of npmUp.requests) assert.equal(r.headers.authorization, undefined, `${r.path} carried Authorization upstream`);
  });

  it('pip downloads with the token as the password in the index URL', async () => {
    const venv = await Venv.create(join(work, 'venv'));
    const host = daemon.url.replace('http://', '');
    const denied = await venv.pip([
      'download',
      'gamma==2.0',
      '-d',
      join(work, 'dl-0'),
      '-i',
      `${daemon.url}/pypi/simple/`,
      '--retries',
      '0',
    ]);
    assert.notEqual(denied.code, 0);
    const dl = join(work, 'dl-1');
    const res = await venv.pip(['download', 'gamma==2.0', '-d', dl, '-i', `http://ci:${token}@${host}/pypi/simple/`, '--retries', '0']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.deepEqual(await readdir(dl), [wheel.filename]);
  });

  it('skopeo inspects with --creds (Basic after the /v2/ challenge)', async () => {
    const target = (credentials: { username: string; password: string } | null) => ({
      host: `127.0.0.1:${daemon.port}/docker.io`,
      credentials,
    });
    await assert.rejects(inspectRaw(target(null), 'fixtures/small', 'single'));
    const raw = await inspectRaw(target({ username: 'ci', password: token }), 'fixtures/small', 'single');
    assert.ok(raw.equals(small.images.single!.manifest));
  });

  it('mvn resolves with <server> credentials for the mirror (Basic after the challenge)', async () => {
    const mdir = join(work, 'mvn');
    const { project, settings } = await writeMavenProject(mdir, EXT, `${daemon.url}/files/central/`);
    const denied = await runMvn(project, settings, join(mdir, 'm2-0'));
    assert.notEqual(denied.code, 0, 'no credentials: refused');
    const withServer = `<settings><servers><server><id>larder</id><username>ci</username><password>${token}</password></server></servers><mirrors><mirror><id>larder</id><mirrorOf>*</mirrorOf><url>${daemon.url}/files/central/</url></mirror></mirrors></settings>\n`;
    await writeFile(settings, withServer);
    const r = await runMvn(project, settings, join(mdir, 'm2-1'));
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /BUILD SUCCESS/);
  });
});
