/**
 * Pre-warm jobs with the real daemon and the npm fixture upstream: a
 * package-lock.json posted to /jobs is fetched whole (per-item progress in
 * bytes), after which `npm ci` succeeds with the upstream down; a lockfile
 * whose integrity disagrees is reported and nothing is committed; a watched
 * folder warms lockfiles that appear or change there.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from '../../daemon/admin/contract.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { blobsOnDisk, get, setupFixture, sha256hex, sri512, tempFiles } from '../helpers/npm-e2e.js';
import { makeProject, runNpm, type PackageLock } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { adminClient, adminToken, type AdminClient } from '../helpers/admin-e2e.js';
import { waitFor } from '../helpers/wait.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let daemon: TestDaemon;
let admin: AdminClient;
let lock: PackageLock;
let lockText = '';
const watched = (): string => join(root, 'watched');

before(async () => {
  ({ root, fixture } = await setupFixture('larder-prewarm-'));
  upstream = await startNpmUpstream(fixture);
  await mkdir(watched());
  daemon = await startTestDaemon({
    remotes: { local: { type: 'npm', url: upstream.url } },
    prewarm: { concurrency: 4, retries: 1, watch: [`${watched()}/**/package-lock.json`] },
  });
  admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
  // A lockfile made by the real npm against the upstream itself (resolved URLs on the upstream).
  const project = await makeProject(join(root, 'app'), fixture, upstream.url, { cacheDir: join(root, 'npm-cache-lock') });
  lock = project.lockfile;
  lockText = await readFile(join(root, 'app', 'package-lock.json'), 'utf8');
  upstream.resetHits();
});

after(async () => {
  await daemon?.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const tarball = (name: string, version: string): FixtureTarball =>
  fixture.packages.find((p) => p.name === name)!.tarballs.find((t) => t.version === version)!;
/** The distinct tarballs a lockfile locks (one name@version may sit at several paths). */
const lockedTarballs = (l: PackageLock): FixtureTarball[] => [
  ...new Set(
    Object.entries(l.packages)
      .filter(([path, e]) => path !== '' && e.resolved)
      .map(([path, e]) => tarball(e.name ?? path.slice(path.lastIndexOf('node_modules/') + 13), e.version!)),
  ),
];
/** Tarballs no test has fetched yet: not in the app's lockfile, not taken before. */
const taken = new Set<string>();
function fresh(filter: (t: FixtureTarball) => boolean = () => true): FixtureTarball {
  const locked = new Set(lockedTarballs(lock).map((t) => t.urlPath));
  const t = fixture.packages
    .filter((p) => p.name !== fixture.bigPackage)
    .flatMap((p) => p.tarballs)
    .find((x) => !locked.has(x.urlPath) && !taken.has(x.name) && filter(x));
  assert.ok(t, 'the fixture has unlocked tarballs left');
  taken.add(t.name);
  return t;
}

test('a package-lock.json job fetches every locked tarball with byte progress; then npm ci works with the upstream down', async () => {
  const expected = lockedTarballs(lock);
  assert.ok(expected.length >= 30, `${expected.length} locked packages`);
  const created = await admin.ok<Job>('POST', '/jobs', { files: [{ name: 'package-lock.json', content: lockText }] });
  assert.equal(created.total, expected.length);
  assert.equal(created.source, 'package-lock.json');
  const job = await admin.waitJob(created.id, 90_000);
  assert.equal(job.state, 'done', JSON.stringify(job.items.filter((i) => i.state === 'failed')));
  assert.equal(job.done, expected.length);
  assert.equal(job.failed, 0);
  assert.equal(job.total, expected.length, 'a lockfile lists the whole tree: no dependency range is expanded');
  const bySpec = new Map(expected.map((t) => [`npm:${t.name}@${t.version}`, t]));
  for (const item of job.items) {
    const t = bySpec.get(item.ref);
    assert.ok(t, `${item.ref} is a locked package`);
    assert.equal(item.state, 'done');
    assert.equal(item.bytes, t.size, `${item.ref}: progress in bytes`);
    assert.equal(item.totalBytes, t.size);
    assert.equal(item.attempts, 1);
  }
  const total = expected.reduce((n, t) => n + t.size, 0);
  assert.equal(job.bytes, total);
  for (const t of expected) assert.equal(upstream.hits(t.urlPath), 1, `${t.urlPath} fetched once`);
  const onDisk = await blobsOnDisk(daemon.dataDir);
  for (const t of expected) assert.ok(onDisk.has(sha256hex(await readFile(t.file))), `${t.name}@${t.version} committed`);

  // A second identical job finds everything cached.
  const again = await admin.waitJob(
    (await admin.ok<Job>('POST', '/jobs', { files: [{ name: 'package-lock.json', content: lockText }] })).id,
  );
  assert.equal(again.state, 'done');
  assert.ok(again.items.every((i) => i.state === 'cached' && i.bytes === 0));
  assert.equal(again.bytes, 0);

  upstream.setDown(true);
  try {
    upstream.resetHits();
    const dir = join(root, 'offline-app');
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), await readFile(join(root, 'app', 'package.json')));
    await writeFile(join(dir, 'package-lock.json'), lockText);
    const registry = `${daemon.url}/npm/`;
    await runNpm(['ci', `--replace-registry-host=${new URL(upstream.url).hostname}`, '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: dir,
      registry,
      cacheDir: join(root, 'npm-cache-offline'),
    });
    for (const [path, e] of Object.entries(lock.packages)) {
      if (!path || !e.version) continue;
      const pj = JSON.parse(await readFile(join(dir, path, 'package.json'), 'utf8')) as { version: string };
      assert.equal(pj.version, e.version, path);
    }
    assert.equal(upstream.totalHits(), 0, 'the upstream was down and never reached');
  } finally {
    upstream.setDown(false);
  }
});

test('a lockfile whose integrity disagrees with the upstream is reported and nothing is committed', async () => {
  // Two packages nobody fetched yet: one whose packument carries an integrity, one with shasum only.
  const modern = fresh((t) => t.name !== fixture.oldStylePackage);
  const legacy = fresh((t) => t.name === fixture.oldStylePackage);
  const wrong = sri512(Buffer.from('not the tarball'));
  const entry = (t: FixtureTarball) => ({ version: t.version, resolved: `${upstream.url}${t.urlPath.slice(1)}`, integrity: wrong });
  const bad = {
    name: 'bad-app',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'bad-app' }, [`node_modules/${modern.name}`]: entry(modern), [`node_modules/${legacy.name}`]: entry(legacy) },
  };
  upstream.resetHits();
  const created = await admin.ok<Job>('POST', '/jobs', { files: [{ name: 'package-lock.json', content: JSON.stringify(bad) }] });
  const job = await admin.waitJob(created.id);
  assert.equal(job.state, 'failed');
  assert.equal(job.failed, 2);
  for (const item of job.items) {
    assert.equal(item.state, 'failed');
    assert.match(item.error ?? '', /^E_INTEGRITY: /, item.ref);
    assert.equal(item.attempts, 1, 'an integrity failure is not retried');
  }
  assert.match(job.items.find((i) => i.ref.includes(modern.name))!.error!, /lockfile's sha512 integrity differs from the upstream's/);
  assert.equal(upstream.hits(modern.urlPath), 0, 'caught from the packument, before any download');
  assert.equal(upstream.hits(legacy.urlPath), 1, 'shasum-only upstream: caught while verifying the download');
  const onDisk = await blobsOnDisk(daemon.dataDir);
  for (const t of [modern, legacy]) {
    assert.ok(!onDisk.has(sha256hex(await readFile(t.file))), `${t.name}@${t.version} never committed`);
    const entries = await admin.entries(`:tgz:${t.name}/${t.urlPath.split('/').pop()}`);
    assert.deepEqual(entries, [], `no index entry for ${t.name}@${t.version}`);
  }
  assert.deepEqual(await tempFiles(daemon.dataDir), []);

  // The same disagreement on a tarball that is already cached (verified against the upstream) is reported too.
  const cached = lockedTarballs(lock)[0]!;
  const stale = { ...bad, packages: { '': { name: 'bad-app' }, [`node_modules/${cached.name}`]: entry(cached) } };
  const j2 = await admin.waitJob(
    (await admin.ok<Job>('POST', '/jobs', { files: [{ name: 'package-lock.json', content: JSON.stringify(stale) }] })).id,
  );
  assert.equal(j2.items[0]!.state, 'failed');
  assert.match(j2.items[0]!.error!, /^E_INTEGRITY: /);
  const served = await get(`${daemon.url}/npm${cached.urlPath}`);
  assert.equal(sri512(served.body), cached.integrity, 'the verified cached tarball is untouched');
});

test('a watched folder warms a lockfile that appears, and again when it changes', async () => {
  const first = [fresh(), fresh()];
  const second = [...first, fresh()];
  const lockOf = (ts: FixtureTarball[]) => ({
    name: 'watched-app',
    lockfileVersion: 3,
    packages: Object.fromEntries([
      ['', { name: 'watched-app' }],
      ...ts.map((t) => [
        `node_modules/${t.name}`,
        { version: t.version, resolved: `${upstream.url}${t.urlPath.slice(1)}`, integrity: t.integrity },
      ]),
    ]),
  });
  const dir = join(watched(), 'team', 'service');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'package-lock.json');
  const jobsFor = async (): Promise<Job[]> => (await admin.ok<Job[]>('GET', '/jobs')).filter((j) => j.source === file);
  await writeFile(join(dir, 'notes.json'), '{}'); // not matched by the glob
  await writeFile(file, JSON.stringify(lockOf(first)));
  const j1 = await waitFor(async () => (await jobsFor()).find((j) => j.state === 'done'), 15_000, 'the watched lockfile to be warmed');
  assert.deepEqual(j1.items.map((i) => [i.ref, i.state]).sort(), first.map((t) => [`npm:${t.name}@${t.version}`, 'done']).sort());
  for (const t of first) {
    const r = await get(`${daemon.url}/npm${t.urlPath}`);
    assert.equal(r.headers.get('x-larder-cache'), 'HIT', t.urlPath);
    assert.equal(sri512(r.body), t.integrity);
  }

  // Rewriting the same content starts nothing; a changed lockfile warms only what is new.
  await writeFile(file, JSON.stringify(lockOf(first)));
  await sleep(1500);
  assert.equal((await jobsFor()).length, 1, 'unchanged content is not warmed again');
  await writeFile(file, JSON.stringify(lockOf(second)));
  const j2 = await waitFor(
    async () => (await jobsFor()).find((j) => j.id !== j1.id && j.state === 'done'),
    15_000,
    'the changed lockfile to be warmed',
  );
  const states = Object.fromEntries(j2.items.map((i) => [i.ref, i.state]));
  assert.deepEqual(states, Object.fromEntries(second.map((t, i) => [`npm:${t.name}@${t.version}`, i < 2 ? 'cached' : 'done'])));
  assert.equal(upstream.hits(second[2]!.urlPath), 1);
  assert.ok(!(await admin.ok<Job[]>('GET', '/jobs')).some((j) => j.source.endsWith('notes.json')));
  assert.ok((await readdir(dir)).includes('notes.json'));
});
