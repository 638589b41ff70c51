/**
 * The real npm client installs the realistic fixture project through the
 * daemon: cold then warm (fresh npm caches, same daemon), and with a
 * lockfile made against the upstream (npm rewrites its `resolved` URLs onto
 * the mirror; pacote's `new URL(pathname, registry)` drops `/npm/` and asks
 * for tarballs at the root).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeProject, readLockfile, runNpm } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { get, npmHttpLog, setupFixture, sri512, startLoggingDaemon, treeDigest, type LoggingDaemon } from '../helpers/npm-e2e.js';

const NPM_FLAGS = ['--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=http'];
let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let daemon: LoggingDaemon;
/** node_modules of the first install, shared with the lockfile-from-upstream test. */
let installedTree: Map<string, string> | undefined;

before(async () => {
  ({ root, fixture } = await setupFixture('larder-npm-install-'));
  upstream = await startNpmUpstream(fixture);
  daemon = await startLoggingDaemon({ remotes: { local: { type: 'npm', url: upstream.url } } }, join(root, 'data'));
});

after(async () => {
  await daemon?.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Upstream requests made by something other than Larder (i.e. npm going around the mirror). */
const direct = (u: NpmUpstream) => u.requests.filter((r) => !String(r.headers['user-agent']).startsWith('larder/'));
const tarballRequests = (u: NpmUpstream) => u.requests.filter((r) => r.path.endsWith('.tgz'));
/** `.package-lock.json` inside node_modules records resolved URLs, which differ between registries. */
const skipHidden = (rel: string) => rel === '.package-lock.json';

/** GETs `url` until it is a HIT (a just-finished fill may still be committing); every answer must be `body`. */
async function untilHit(url: string, body: Buffer): Promise<string | null> {
  let state: string | null = null;
  for (let i = 0; i < 50 && state !== 'HIT'; i++) {
    if (i > 0) await sleep(100);
    const res = await get(url);
    assert.ok(res.body.equals(body));
    state = res.headers.get('x-larder-cache');
  }
  return state;
}

test('npm ci through the mirror: cold, then warm with a fresh npm cache', async () => {
  const registry = `${daemon.url}/npm/`;
  const dir = join(root, 'app');
  const project = await makeProject(dir, fixture, registry, { cacheDir: join(root, 'cache-lock') });
  const entries = project.installed.filter(([, e]) => e.resolved);
  assert.ok(entries.length >= 30, `a realistic tree (${entries.length} packages)`);
  assert.ok(
    entries.some(([p]) => p.includes('node_modules/@')),
    'scoped packages',
  );
  assert.ok(
    entries.some(([p]) => p.endsWith(`node_modules/${fixture.bigPackage}`)),
    'the multi-MB package',
  );
  for (const [, e] of entries) assert.ok(e.resolved!.startsWith(`${registry}`), `${e.resolved} is on the mirror`);
  const docLog = daemon.requests.filter((r) => !r.path.endsWith('.tgz'));
  assert.ok(docLog.length >= entries.length / 2 && docLog.every((r) => r.status === 200));
  assert.ok(docLog.some((r) => r.cache === 'MISS'));

  upstream.resetHits();
  daemon.requests.length = 0;
  const cold = await runNpm(['ci', ...NPM_FLAGS], { cwd: dir, registry, cacheDir: join(root, 'cache-cold') });
  const tarballs = new Set(entries.map(([, e]) => new URL(e.resolved!).pathname.slice('/npm'.length)));
  assert.equal(direct(upstream).length, 0, 'npm never went around the mirror');
  assert.deepEqual(new Set(tarballRequests(upstream).map((r) => r.path)), tarballs);
  assert.equal(tarballRequests(upstream).length, tarballs.size, 'each tarball fetched upstream exactly once');
  const coldFetches = npmHttpLog(cold.stderr).filter((f) => f.url.endsWith('.tgz'));
  assert.deepEqual(new Set(coldFetches.map((f) => new URL(f.url).pathname.slice('/npm'.length))), tarballs);
  const coldLog = daemon.requests.filter((r) => r.path.endsWith('.tgz'));
  assert.ok(
    coldLog.every((r) => r.status === 200 && (r.cache === 'MISS' || r.cache === 'HIT')),
    JSON.stringify(coldLog),
  );
  const coldTree = await treeDigest(join(dir, 'node_modules'), skipHidden);

  const big = fixture.packages.find((p) => p.name === fixture.bigPackage)!;
  const bigVersion = (JSON.parse(await readFile(join(dir, 'node_modules', big.name, 'package.json'), 'utf8')) as { version: string })
    .version;
  const blobSize = (await stat(join(dir, 'node_modules', big.name, 'data', 'blob.bin'))).size;
  assert.equal(blobSize, fixture.bigTarballBytes, `${big.name}@${bigVersion} unpacked completely`);
  const lock = await readLockfile(dir);
  for (const [path, e] of Object.entries(lock.packages)) {
    if (!path || !e.version) continue;
    const pj = JSON.parse(await readFile(join(dir, path, 'package.json'), 'utf8')) as { version: string };
    assert.equal(pj.version, e.version, path);
  }

  await rm(join(dir, 'node_modules'), { recursive: true, force: true });
  upstream.resetHits();
  daemon.requests.length = 0;
  const warm = await runNpm(['ci', '--prefer-online', ...NPM_FLAGS], { cwd: dir, registry, cacheDir: join(root, 'cache-warm') });
  assert.equal(tarballRequests(upstream).length, 0, 'warm: no tarball from the upstream');
  assert.ok(npmHttpLog(warm.stderr).filter((f) => f.url.endsWith('.tgz')).length >= tarballs.size);
  const warmTarballs = daemon.requests.filter((r) => r.path.endsWith('.tgz'));
  assert.deepEqual(new Set(warmTarballs.map((r) => r.path.slice('/npm'.length))), tarballs);
  assert.ok(
    warmTarballs.every((r) => r.cache === 'HIT' && r.status === 200),
    JSON.stringify(warmTarballs.slice(0, 3)),
  );
  const warmTree = await treeDigest(join(dir, 'node_modules'), skipHidden);
  assert.deepEqual(warmTree, coldTree);
  installedTree = coldTree;

  // X-Larder-Cache on a tarball nobody asked for yet: MISS, then HIT once the fill has committed.
  const spare = fixture.packages.flatMap((p) => p.tarballs).find((t) => !tarballs.has(t.urlPath))!;
  const first = await get(`${daemon.url}/npm${spare.urlPath}`);
  assert.equal(first.headers.get('x-larder-cache'), 'MISS');
  assert.equal(sri512(first.body), spare.integrity);
  assert.equal((await get(`${registry}${spare.name.replace('/', '%2f')}`)).headers.get('x-larder-cache'), 'HIT');
  assert.equal(await untilHit(`${daemon.url}/npm${spare.urlPath}`, first.body), 'HIT');
  assert.equal(upstream.hits(spare.urlPath), 1);
});

test('a lockfile made against the upstream installs through the mirror, root tarball paths included', async () => {
  const fresh = await startLoggingDaemon({ remotes: { local: { type: 'npm', url: upstream.url } } }, join(root, 'data-2'));
  try {
    const registry = `${fresh.url}/npm/`;
    const big = `${registry}${fixture.bigPackage}`;
    const states = [(await get(big)).headers.get('x-larder-cache'), (await get(big)).headers.get('x-larder-cache')];
    assert.deepEqual(states, ['MISS', 'HIT'], 'a packument: MISS, then HIT');
    const dir = join(root, 'app-upstream');
    const project = await makeProject(dir, fixture, upstream.url, { cacheDir: join(root, 'cache-up') });
    const upstreamHost = new URL(upstream.url).hostname;
    upstream.resetHits();
    // The lockfile pins upstream URLs; replace-registry-host makes npm swap that host for the mirror.
    const run = await runNpm(['ci', `--replace-registry-host=${upstreamHost}`, ...NPM_FLAGS], {
      cwd: dir,
      registry,
      cacheDir: join(root, 'cache-up-ci'),
    });
    assert.equal(direct(upstream).length, 0, 'npm fetched nothing from the upstream itself');
    const fetched = npmHttpLog(run.stderr).filter((f) => f.url.endsWith('.tgz'));
    const locked = new Set(project.installed.filter(([, e]) => e.resolved).map(([, e]) => new URL(e.resolved!).pathname));
    assert.deepEqual(new Set(fetched.map((f) => new URL(f.url).pathname.replace(/^\/npm\//, '/'))), locked);
    assert.ok(
      fetched.every((f) => f.url.startsWith(`${fresh.url}/`) && f.status === 200),
      JSON.stringify(fetched[0]),
    );
    assert.equal(tarballRequests(upstream).length, locked.size, 'each tarball fetched upstream exactly once');
    assert.ok(installedTree, 'the first test installed the same tree');
    assert.deepEqual(await treeDigest(join(dir, 'node_modules'), skipHidden), installedTree);

    // pacote's RemoteFetcher with replace-registry-host=always: new URL(resolved.pathname, registry)
    // drops the /npm/ prefix, so the tarballs are asked for at the root of the mirror.
    const scoped = fixture.packages.find((p) => p.name.startsWith('@'))!.tarballs[0]!;
    const plain = fixture.packages.find((p) => p.name === fixture.oldStylePackage)!.tarballs[0]!;
    const urls = [scoped, plain].map((t) => `${upstream.url.replace(/\/$/, '')}${t.urlPath}`);
    fresh.requests.length = 0;
    const packDir = join(root, 'packed');
    await mkdir(packDir);
    const packed = await runNpm(
      ['pack', ...urls, '--json', `--pack-destination=${packDir}`, '--replace-registry-host=always', '--loglevel=http'],
      {
        cwd: root,
        registry,
        cacheDir: join(root, 'cache-pack'),
      },
    );
    const roots = fresh.requests.filter((r) => r.path.endsWith('.tgz'));
    assert.deepEqual(new Set(roots.map((r) => r.path)), new Set([scoped.urlPath, plain.urlPath]), 'asked at the root, without /npm/');
    assert.ok(
      roots.every((r) => r.status === 200 || r.status === 304),
      JSON.stringify(roots),
    );
    assert.ok(roots.some((r) => r.status === 200 && r.cache === 'MISS'));
    const results = JSON.parse(packed.stdout) as Array<{ name: string; integrity: string; shasum: string }>;
    assert.deepEqual(results.map((r) => r.integrity).sort(), [scoped.integrity, plain.integrity].sort());
    assert.equal(direct(upstream).length, 0);

    // Berry's encoded form at the root, served from the cache now.
    const berry = await get(`${fresh.url}${scoped.urlPath.replace(/^\/(@[^/]+)\//, '/$1%2f')}`);
    assert.equal(berry.status, 200);
    assert.equal(berry.headers.get('x-larder-cache'), 'HIT');
    assert.equal(sri512(berry.body), scoped.integrity);
  } finally {
    await fresh.close();
  }
});
