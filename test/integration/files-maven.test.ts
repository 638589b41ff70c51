/**
 * mvn (Debian's Maven 3.8.7) resolving through Larder's generic remote
 * (`layout: maven`) with `<mirrorOf>*</mirrorOf>`, a private settings.xml
 * and an empty local repository, against a local Maven-layout upstream with
 * `.sha1` sidecars and maven-metadata.xml.
 *
 * What resolves: the project declares a build extension
 * (com.example:ext:1.0) whose POM depends on com.example:lib:[1.0,2.0). Maven
 * core resolves build extensions and their dependencies while it reads the
 * project, so `mvn validate` downloads POMs, jars, sidecars and the
 * version-range metadata without running any plugin (nothing needed from
 * the internet). Maven adds org.codehaus.plexus:plexus-utils:1.1 to every
 * extension's class path; the fixture publishes a stand-in for it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { MavenRepo, runMvn, sha1Hex, writeMavenProject } from '../helpers/files-fixture/maven-repo.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

const EXT = { group: 'com.example', artifact: 'ext', version: '1.0' };
const lib = (version: string) => ({ group: 'com.example', artifact: 'lib', version });
const METADATA = '/com/example/lib/maven-metadata.xml';

let dir: string;
let repo: MavenRepo;
let up: StaticUpstream;
let d: TestDaemon;
let project: string;
let settings: string;
let runs = 0;

before(async () => {
  dir = await tempDir('larder-mvn-');
  repo = new MavenRepo(join(dir, 'upstream'));
  await repo.artifact({ group: 'org.codehaus.plexus', artifact: 'plexus-utils', version: '1.1' });
  for (const v of ['1.0', '1.1']) await repo.artifact(lib(v));
  await repo.metadata('com.example', 'lib', ['1.0', '1.1']);
  await repo.artifact(EXT, [{ group: 'com.example', artifact: 'lib', version: '[1.0,2.0)' }]);
  up = await startStaticUpstream(repo.root);
  d = await startTestDaemon({
    remotes: {
      central: {
        type: 'http',
        url: `${up.url}/`,
        layout: 'maven',
        // Metadata is revalidated on every use (Last-Modified heuristic capped at 0).
        rules: [{ match: '**/maven-metadata.xml*', policy: 'mutable', ttl: 0 }],
      },
    },
  });
  ({ project, settings } = await writeMavenProject(dir, EXT, `${d.url}/files/central/`));
});

after(async () => {
  await d.close();
  await up.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh, empty local repository per run. */
const mvn = () => runMvn(project, settings, join(dir, `m2-${++runs}`));
const local = (run: number, path: string) => join(dir, `m2-${run}`, path);

test('mvn resolves through <mirrorOf>*</mirrorOf>; a second cold client is served from the cache', async () => {
  const r1 = await mvn();
  assert.equal(r1.code, 0, r1.output);
  assert.match(r1.output, /BUILD SUCCESS/);
  const jarPath = MavenRepo.path(lib('1.1'), 'jar');
  const upstreamJar = await readFile(join(repo.root, jarPath));
  assert.equal(sha1Hex(await readFile(local(runs, jarPath))), sha1Hex(upstreamJar));
  for (const p of [`/${jarPath}`, `/${jarPath}.sha1`, `/${MavenRepo.path(EXT, 'jar')}`, `/${MavenRepo.path(EXT, 'pom')}`]) {
    assert.equal(up.hitCount(p), 1, p);
  }
  const r2 = await mvn();
  assert.equal(r2.code, 0, r2.output);
  for (const p of [`/${jarPath}`, `/${jarPath}.sha1`, `/${MavenRepo.path(EXT, 'jar')}`, `/${MavenRepo.path(EXT, 'pom')}.sha1`]) {
    assert.equal(up.hitCount(p), 1, `${p} came from the cache`);
  }
  assert.equal(up.hitCount(METADATA), 2, 'metadata revalidated');
  assert.equal(up.log.filter((l) => l.path === METADATA).at(-1)?.status, 304);
});

test('a new version in maven-metadata.xml is seen on the next resolution', async () => {
  await repo.artifact(lib('1.2'));
  await repo.metadata('com.example', 'lib', ['1.0', '1.1', '1.2']);
  const r = await mvn();
  assert.equal(r.code, 0, r.output);
  const jar = await readFile(local(runs, MavenRepo.path(lib('1.2'), 'jar')));
  assert.equal(sha1Hex(jar), sha1Hex(await readFile(join(repo.root, MavenRepo.path(lib('1.2'), 'jar')))));
});

test('a jar that does not match its .sha1 sidecar fails mvn, is never committed, and is refetched once fixed', async () => {
  await repo.artifact(lib('1.3'));
  await repo.metadata('com.example', 'lib', ['1.0', '1.1', '1.2', '1.3']);
  const jarPath = `/${MavenRepo.path(lib('1.3'), 'jar')}`;
  up.corrupt.add(jarPath);
  try {
    const bad = await mvn();
    assert.notEqual(bad.code, 0, bad.output);
    assert.match(bad.output, /lib-1\.3\.jar/);
    const good = await readFile(join(repo.root, jarPath));
    const corrupted = Buffer.from(good);
    corrupted[Math.floor(corrupted.length / 2)]! ^= 0xff;
    const hex = createHash('sha256').update(corrupted).digest('hex');
    await assert.rejects(access(join(d.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)));
    const failedHits = up.hitCount(jarPath);
    assert.ok(failedHits >= 1);
    up.corrupt.delete(jarPath);
    const ok = await mvn();
    assert.equal(ok.code, 0, ok.output);
    assert.equal(up.hitCount(jarPath), failedHits + 1);
    assert.equal(sha1Hex(await readFile(local(runs, jarPath.slice(1)))), sha1Hex(good));
  } finally {
    up.corrupt.delete(jarPath);
  }
});

test('with the upstream down, a cold client still resolves the warm workload', async () => {
  up.down = 503;
  try {
    const r = await mvn();
    assert.equal(r.code, 0, r.output);
    assert.ok((await readFile(local(runs, MavenRepo.path(lib('1.3'), 'jar')))).length > 0);
  } finally {
    up.down = undefined;
  }
});
