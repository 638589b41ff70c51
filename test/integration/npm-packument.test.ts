/**
 * Packument forms through the daemon: full vs abbreviated by Accept,
 * `Vary: Accept`, per-form ETags and 304s, the three scoped-name encodings,
 * absolute `dist.tarball` at the configured publicUrl with integrity and
 * shasum untouched, and an upstream publish becoming visible to the real
 * `npm view` once the remote's TTL has passed.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runNpm } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { NpmAbbreviatedPackument, NpmPackument, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { CORGI_ACCEPT, get, setupFixture, startLoggingDaemon, type LoggingDaemon } from '../helpers/npm-e2e.js';

const PUBLIC_URL = 'http://mirror.larder.test:7420';
let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let daemon: LoggingDaemon;

before(async () => {
  ({ root, fixture } = await setupFixture('larder-npm-packument-'));
  upstream = await startNpmUpstream(fixture);
  daemon = await startLoggingDaemon({ publicUrl: PUBLIC_URL, remotes: { local: { type: 'npm', url: upstream.url } } }, join(root, 'data'));
});

after(async () => {
  await daemon?.close();
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const json = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;
const scopedName = (): string => fixture.scopedPackages[0]!;

test('full and abbreviated forms by Accept, Vary, distinct ETags, 304s', async () => {
  const name = fixture.installScriptPackage;
  const url = `${daemon.url}/npm/${name}`;
  const full = await get(url);
  const abbr = await get(url, { headers: { accept: CORGI_ACCEPT } });
  assert.equal(full.status, 200);
  assert.equal(abbr.status, 200);
  assert.match(full.headers.get('content-type') ?? '', /^application\/json/);
  assert.match(abbr.headers.get('content-type') ?? '', /^application\/vnd\.npm\.install-v1\+json/);
  for (const r of [full, abbr]) assert.equal(r.headers.get('vary'), 'Accept');
  const fullEtag = full.headers.get('etag')!;
  const abbrEtag = abbr.headers.get('etag')!;
  assert.ok(fullEtag && abbrEtag && fullEtag !== abbrEtag, `${fullEtag} vs ${abbrEtag}`);

  const f = json<NpmPackument>(full.body);
  const a = json<NpmAbbreviatedPackument>(abbr.body);
  assert.ok(f.readme && f.time && f.maintainers, 'the full form keeps readme, time, maintainers');
  assert.deepEqual(Object.keys(a).sort(), ['dist-tags', 'modified', 'name', 'versions']);
  assert.deepEqual(Object.keys(a.versions), Object.keys(f.versions));
  const latest = a.versions[f['dist-tags'].latest!]!;
  assert.equal(latest.hasInstallScript, true);
  assert.equal(Object.hasOwn(latest, 'scripts') || Object.hasOwn(latest, '_npmUser') || Object.hasOwn(latest, 'readme'), false);

  for (const [etag, accept] of [
    [fullEtag, undefined],
    [abbrEtag, CORGI_ACCEPT],
  ] as const) {
    const headers: Record<string, string> = { 'if-none-match': etag };
    if (accept) headers.accept = accept;
    const nm = await get(url, { headers });
    assert.equal(nm.status, 304);
    assert.equal(nm.body.length, 0);
    assert.equal(nm.headers.get('vary'), 'Accept', '304 repeats Vary');
    assert.equal(nm.headers.get('etag'), etag);
  }
  const cross = await get(url, { headers: { 'if-none-match': abbrEtag } });
  assert.equal(cross.status, 200, 'the abbreviated ETag does not validate the full form');
  assert.ok(cross.body.equals(full.body));
});

test('scoped names in all three encodings give the same bodies', async () => {
  const name = scopedName();
  const [scope, bare] = name.split('/') as [string, string];
  for (const accept of [undefined, CORGI_ACCEPT]) {
    const init = accept ? { headers: { accept } } : {};
    const forms = await Promise.all(
      [`${scope}%2f${bare}`, `${scope}%2F${bare}`, `${scope}/${bare}`].map((p) => get(`${daemon.url}/npm/${p}`, init)),
    );
    for (const r of forms) assert.equal(r.status, 200);
    assert.ok(forms[1]!.body.equals(forms[0]!.body) && forms[2]!.body.equals(forms[0]!.body));
    assert.equal(new Set(forms.map((r) => r.headers.get('etag'))).size, 1);
    assert.equal(json<NpmPackument>(forms[0]!.body).name, name);
  }
  assert.equal(upstream.hits(`/${name}`), 1, 'one upstream fetch for all encodings and both forms');
});

test('dist.tarball is absolute at publicUrl; everything else is as upstream', async () => {
  for (const name of [scopedName(), fixture.oldStylePackage, fixture.bigPackage]) {
    const mine = json<NpmPackument>((await get(`${daemon.url}/npm/${name}`)).body);
    const theirs = upstream.packument(name)!;
    const bare = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
    for (const [v, doc] of Object.entries(theirs.versions)) {
      const got = mine.versions[v]!;
      assert.equal(got.dist.tarball, `${PUBLIC_URL}/npm/${name}/-/${bare}-${v}.tgz`);
      assert.equal(got.dist.integrity, doc.dist.integrity);
      assert.equal(got.dist.shasum, doc.dist.shasum);
      assert.deepEqual({ ...got, dist: { ...got.dist, tarball: '' } }, { ...doc, dist: { ...doc.dist, tarball: '' } });
    }
    assert.deepEqual({ ...mine, versions: {} }, { ...theirs, versions: {} });
    const abbr = json<NpmAbbreviatedPackument>((await get(`${daemon.url}/npm/${name}`, { headers: { accept: CORGI_ACCEPT } })).body);
    for (const [v, doc] of Object.entries(abbr.versions)) assert.equal(doc.dist.tarball, mine.versions[v]!.dist.tarball);
  }
  const old = json<NpmPackument>((await get(`${daemon.url}/npm/${fixture.oldStylePackage}`)).body);
  assert.ok(Object.values(old.versions).every((d) => d.dist.integrity === undefined && /^[0-9a-f]{40}$/.test(d.dist.shasum)));
  // Version documents and dist-tags come from the same cached packument.
  const name = scopedName();
  const latest = upstream.packument(name)!['dist-tags'].latest!;
  const byTag = json<{ version: string; dist: { tarball: string } }>(
    (await get(`${daemon.url}/npm/${name.replace('/', '%2f')}/latest`)).body,
  );
  assert.equal(byTag.version, latest);
  assert.ok(byTag.dist.tarball.startsWith(`${PUBLIC_URL}/npm/`));
  const tags = json<Record<string, string>>((await get(`${daemon.url}/npm/-/package/${name.replace('/', '%2f')}/dist-tags`)).body);
  assert.deepEqual(tags, upstream.packument(name)!['dist-tags']);
  assert.equal((await get(`${daemon.url}/npm/${name}/9.9.9`)).status, 404);
});

test('a version published upstream is visible after the TTL, also to npm view', async () => {
  const short = await startLoggingDaemon({ remotes: { local: { type: 'npm', url: upstream.url, ttl: '1s' } } }, join(root, 'data-ttl'));
  try {
    const name = fixture.binPackage;
    const registry = `${short.url}/npm/`;
    const view = async (i: number): Promise<string> =>
      (
        await runNpm(['view', name, 'dist-tags.latest', '--prefer-online'], {
          cwd: root,
          registry,
          cacheDir: join(root, `cache-view-${i}`),
        })
      ).stdout.trim();
    const before = upstream.packument(name)!['dist-tags'].latest!;
    assert.equal(await view(0), before);
    const [maj, min] = before.split('.').map(Number) as [number, number];
    const next = `${maj}.${min + 1}.0`;
    const firstEtag = (await get(`${registry}${name}`)).headers.get('etag');
    await upstream.publish(name, next);
    await sleep(1100);
    const after = await get(`${registry}${name}`, { headers: { accept: CORGI_ACCEPT } });
    assert.equal(after.headers.get('x-larder-cache'), 'REVALIDATED');
    assert.equal(json<NpmAbbreviatedPackument>(after.body)['dist-tags'].latest, next);
    assert.notEqual((await get(`${registry}${name}`)).headers.get('etag'), firstEtag, 'a new ETag for the new content');
    assert.equal(await view(1), next);
    const tgz = await get(`${registry}${name}/-/${name.split('/').pop()}-${next}.tgz`);
    assert.equal(tgz.status, 200);
    assert.equal(tgz.headers.get('x-larder-cache'), 'MISS');
  } finally {
    await short.close();
  }
});
