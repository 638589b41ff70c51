/**
 * `podman pull` (Debian podman 4.3, as root, vfs storage, isolated config)
 * through a registries.conf mirror entry that points at Larder with a path
 * prefix, against the real docker-registry: the multi-arch index resolves
 * to the requested platform, and a second pull with the upstream stopped is
 * served from Larder.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildSmallLayout, type FixtureLayout } from '../helpers/oci/images.js';
import { pushImage } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';

const run = promisify(execFile);
let reg: RunningRegistry;
let small: FixtureLayout;
let larder: TestDaemon;
let dir: string;
let env: NodeJS.ProcessEnv;

async function podman(args: string[]): Promise<string> {
  const r = await run('podman', args, { env, encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return r.stdout;
}

interface Inspected {
  Id: string;
  Digest: string;
  Architecture: string;
}

describe('podman pull through a registries.conf mirror', { timeout: 150_000 }, () => {
  before(async () => {
    [reg, small, dir] = await Promise.all([startRegistry(), buildSmallLayout(), tempDir('larder-podman-')]);
    await pushImage(small, 'multi', reg, 'app/svc', 'v1');
    larder = await startTestDaemon({ remotes: { reg: { type: 'oci', url: reg.url, host: 'registry.test', ttl: 0 } } });
    await mkdir(join(dir, 'xdg'), { mode: 0o700 });
    await writeFile(join(dir, 'auth.json'), JSON.stringify({ auths: {} }));
    await writeFile(
      join(dir, 'registries.conf'),
      [
        'unqualified-search-registries = []',
        '[[registry]]',
        'prefix = "registry.test"',
        'location = "registry.test"',
        '[[registry.mirror]]',
        `location = "127.0.0.1:${larder.port}/registry.test"`,
        'insecure = true',
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${dir}/run"\ngraphroot = "${dir}/root"\n`);
    await writeFile(join(dir, 'containers.conf'), '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      XDG_RUNTIME_DIR: join(dir, 'xdg'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    };
  });
  after(async () => {
    await larder?.close();
    await reg?.stop();
    await Promise.all([small && rm(small.dir, { recursive: true, force: true }), dir && rm(dir, { recursive: true, force: true })]);
  });

  test('pulls the arm64 image of a multi-arch index, then again with the upstream stopped', async () => {
    const multi = small.images.multi!;
    const arm = multi.children.find((c) => c.platform?.architecture === 'arm64')!;
    const config = arm.blobs.find((b) => b.mediaType.includes('config'))!;
    for (const phase of ['cold', 'upstream down']) {
      if (phase === 'upstream down') {
        await podman(['rmi', '--all', '--force']);
        await reg.down();
      }
      try {
        await podman(['pull', '--arch', 'arm64', 'registry.test/app/svc:v1']);
        const [img] = JSON.parse(await podman(['image', 'inspect', 'registry.test/app/svc:v1'])) as Inspected[];
        assert.ok(img, phase);
        assert.equal(`sha256:${img.Id}`, config.digest, `${phase}: image id is the arm64 config digest`);
        assert.equal(img.Digest, multi.digest, `${phase}: pulled by the index digest`);
        assert.equal(img.Architecture, 'arm64');
      } finally {
        if (phase === 'upstream down') await reg.up();
      }
    }
    const blobGets = reg.requests().filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
    assert.equal(blobGets.length, arm.blobs.length, 'each blob fetched upstream once');
  });
});
