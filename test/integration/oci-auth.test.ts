/**
 * Upstream authentication against real docker-registry instances: htpasswd
 * (Basic), token auth with credentials (Bearer, Basic to the token service)
 * and anonymous pull tokens (Docker Hub style). Proves tokens are cached per
 * scope until they expire, wrong or missing credentials give OCI
 * UNAUTHORIZED, several remotes are routed by host, and the configured
 * secrets (from ${ENV}) never appear in the daemon's logs.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type RunningDaemon } from '../../daemon/main.js';
import { tempDir } from '../helpers/daemon.js';
import { MANIFEST_ACCEPT } from '../helpers/oci/client.js';
import { buildSmallLayout, type FixtureLayout } from '../helpers/oci/images.js';
import { inspectRaw, pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';

const PASSWORD = 'oci-auth-test-secret-9f3a';
const REPO = 'team/app';
let basicReg: RunningRegistry;
let tokenReg: RunningRegistry;
let anonReg: RunningRegistry;
let small: FixtureLayout;
let larder: RunningDaemon;
let dataDir: string;
let logs = '';

const viaHost = (host: string) => ({ host: `127.0.0.1:${larder.port}/${host}`, credentials: null });
const manifest = async (path: string, method = 'GET'): Promise<Response> => {
  const res = await fetch(`${larder.url}${path}`, { method, headers: { accept: MANIFEST_ACCEPT } });
  await res.arrayBuffer();
  return res;
};
const codeOf = async (path: string): Promise<{ status: number; code: string | undefined }> => {
  const res = await fetch(`${larder.url}${path}`, { headers: { accept: MANIFEST_ACCEPT } });
  const body = (await res.json()) as { errors?: Array<{ code?: string }> };
  return { status: res.status, code: body.errors?.[0]?.code };
};

describe('OCI upstream auth: Basic, Bearer tokens, anonymous tokens', { timeout: 150_000 }, () => {
  before(async () => {
    small = await buildSmallLayout();
    [basicReg, tokenReg, anonReg] = await Promise.all([
      startRegistry({ auth: 'htpasswd', password: PASSWORD }),
      startRegistry({ auth: 'token', password: PASSWORD }),
      startRegistry({ auth: 'token', password: PASSWORD, anonymousPull: true, tokenExpiresIn: 5 }),
    ]);
    await Promise.all(
      [basicReg, tokenReg, anonReg].map(async (r) => {
        for (const tag of ['single', 'multi']) await pushImage(small, tag, r, REPO);
        await pushImage(small, 'single', r, 'team/other', 'v1');
      }),
    );
    process.env.LARDER_TEST_OCI_USER = 'larder';
    process.env.LARDER_TEST_OCI_PASSWORD = PASSWORD;
    const creds = { username: '${LARDER_TEST_OCI_USER}', password: '${LARDER_TEST_OCI_PASSWORD}' };
    dataDir = await tempDir('larder-oci-auth-');
    const cfg = validateConfig(
      {
        listen: '127.0.0.1:0',
        dataDir,
        remotes: {
          basic: { type: 'oci', url: basicReg.url, host: 'basic.test', auth: creds },
          token: { type: 'oci', url: tokenReg.url, host: 'token.test', auth: creds, ttl: 0 },
          anon: { type: 'oci', url: anonReg.url, host: 'anon.test', ttl: 0 },
          nocreds: { type: 'oci', url: basicReg.url, host: 'nocreds.test' },
          wrong: { type: 'oci', url: tokenReg.url, host: 'wrong.test', auth: { username: 'larder', password: 'not-the-password' } },
        },
      },
      'test',
    );
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs += chunk.toString('utf8');
        cb();
      },
    });
    larder = await startDaemon(cfg, { log: createLogger('trace', sink) });
  });
  after(async () => {
    await larder?.stop();
    await Promise.all([basicReg, tokenReg, anonReg].map((r) => r?.stop()));
    await Promise.all([small && rm(small.dir, { recursive: true, force: true }), dataDir && rm(dataDir, { recursive: true, force: true })]);
  });

  test('skopeo reads byte-exact manifests through each authenticated remote (routed by host)', async () => {
    for (const host of ['basic.test', 'token.test', 'anon.test']) {
      for (const tag of ['single', 'multi']) {
        const raw = await inspectRaw(viaHost(host), REPO, tag);
        assert.ok(raw.equals(small.images[tag]!.manifest), `${host} ${tag}`);
      }
    }
    const dest = join(await tempDir('larder-oci-auth-copy-'), 'token-copy');
    await skopeo([
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--src-no-creds',
      `docker://127.0.0.1:${larder.port}/token.test/${REPO}:multi`,
      `oci:${dest}:multi`,
    ]);
    const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    assert.equal(index.manifests[0]?.digest, small.images.multi!.digest);
    await rm(join(dest, '..'), { recursive: true, force: true });
    assert.ok(basicReg.requests().some((r) => r.status === 200 && r.path.startsWith(`/v2/${REPO}/manifests/`)));
  });

  test('Bearer tokens are fetched with the configured credentials and cached per scope', async () => {
    const tokensBefore = tokenReg.tokenRequests;
    const headsBefore = tokenReg.requests().filter((r) => r.method === 'HEAD').length;
    for (let i = 0; i < 10; i++) {
      const res = await manifest(`/v2/team/other/manifests/v1?ns=token.test`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-content-digest'), small.images.single!.digest);
    }
    assert.ok(
      tokenReg.requests().filter((r) => r.method === 'HEAD').length >= headsBefore + 10,
      'each request revalidated upstream (ttl 0)',
    );
    assert.equal(tokenReg.tokenRequests - tokensBefore, 1, '10 upstream manifest requests, 1 token request');
    const last = tokenReg.token!.requests.at(-1)!;
    assert.equal(last.user, 'larder');
    assert.deepEqual(last.scopes, ['repository:team/other:pull']);
  });

  test('anonymous pull tokens are used and renewed after they expire', async () => {
    const before = anonReg.tokenRequests;
    for (let i = 0; i < 5; i++) assert.equal((await manifest('/v2/anon.test/team/other/manifests/v1')).status, 200);
    assert.equal(anonReg.tokenRequests - before, 1);
    assert.equal(anonReg.token!.requests.at(-1)!.user, null, 'anonymous token request');
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal((await manifest('/v2/anon.test/team/other/manifests/v1')).status, 200);
    assert.equal(anonReg.tokenRequests - before, 2, 'a new token after expires_in');
  });

  test('missing or wrong credentials give OCI UNAUTHORIZED', async () => {
    assert.deepEqual(await codeOf(`/v2/nocreds.test/${REPO}/manifests/single`), { status: 401, code: 'UNAUTHORIZED' });
    assert.deepEqual(await codeOf(`/v2/wrong.test/${REPO}/manifests/single`), { status: 401, code: 'UNAUTHORIZED' });
    assert.deepEqual(await codeOf(`/v2/nocreds.test/${REPO}/blobs/${small.images.single!.blobs[0]!.digest}`), {
      status: 401,
      code: 'UNAUTHORIZED',
    });
  });

  test('credentials never reach the logs', () => {
    assert.ok(logs.includes('"msg":"request"'), 'the daemon logged requests');
    for (const secret of [PASSWORD, Buffer.from(`larder:${PASSWORD}`).toString('base64'), 'not-the-password']) {
      assert.ok(!logs.includes(secret), 'a credential appeared in the logs');
    }
    assert.ok(!/Bearer [A-Za-z0-9_-]{20,}/.test(logs), 'a token appeared in the logs');
  });
});
