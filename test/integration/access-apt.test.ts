/**
 * `access: { anonymous: false }` with the real apt-get against a signed
 * repository on a local upstream: `apt-get update` is refused without
 * credentials, and `update` + `download` work with a `read` token as the
 * password of an auth.conf entry (`machine http://…`: apt sends auth.conf
 * credentials over plain HTTP only when the entry names the http scheme).
 * The token never reaches the upstream.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TokenCreated } from '../../daemon/admin/contract.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { createAptClient } from '../helpers/files-fixture/apt-client.js';
import { createAptRepo, type AptRepo } from '../helpers/files-fixture/apt-repo.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

let dir: string;
let repo: AptRepo;
let up: StaticUpstream;
let d: TestDaemon;
let token = '';

before(async () => {
  dir = await tempDir('larder-access-apt-');
  repo = await createAptRepo(dir);
  await repo.publish([{ name: 'tiny', version: '1.0' }]);
  up = await startStaticUpstream(repo.root);
  d = await startTestDaemon({ access: { anonymous: false }, remotes: { debian: { type: 'http', url: `${up.url}/`, layout: 'apt' } } });
  const res = await fetch(`${d.url}/_/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await adminToken(d.dataDir)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'apt-ci', scope: 'read' }),
  });
  token = ((await res.json()) as TokenCreated).token;
});

after(async () => {
  delete process.env.APT_CONFIG;
  await d?.close();
  await up?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('apt-get is refused without credentials and works with the token in auth.conf', async () => {
  const url = `${d.url}/files/debian`;
  const denied = await createAptClient(join(dir, 'client-0'), url, 'stable', repo.keyring);
  const u0 = await denied.update();
  assert.match(u0.output, /401/, u0.output);
  assert.equal(up.hits.size, 0, 'nothing was fetched for an anonymous client');

  const authConf = join(dir, 'auth.conf');
  await writeFile(authConf, `machine ${url} login apt-ci password ${token}\n`, { mode: 0o600 });
  const aptConf = join(dir, 'apt.conf');
  await writeFile(aptConf, `Dir::Etc::netrc "${authConf}";\nDir::Etc::netrcparts "/dev/null";\n`);
  // apt-get reads APT_CONFIG from the environment the helper passes on.
  process.env.APT_CONFIG = aptConf;
  const a = await createAptClient(join(dir, 'client-1'), url, 'stable', repo.keyring);
  const u1 = await a.update();
  assert.equal(u1.code, 0, u1.output);
  assert.doesNotMatch(u1.output, /^(W|E):/m, u1.output);
  const dl = await a.download('tiny');
  assert.equal(dl.code, 0, dl.output);
  assert.deepEqual(dl.files, ['tiny_1.0_all.deb']);
  assert.ok(up.hits.size > 0);
  for (const r of up.log) assert.equal(r.headers.authorization, undefined, `${r.path}: the token is not forwarded upstream`);
});
