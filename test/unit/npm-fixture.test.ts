/**
 * Self-test of the local npm upstream fixture (test/helpers/npm-fixture):
 * generation, serving (full/abbreviated/304/tarballs), fault injection and
 * a real `npm install --package-lock-only` against it. Loopback only.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { list as tarList } from 'tar';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { makeProject } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { NpmAbbreviatedPackument, NpmPackument, RegistryFixture } from '../helpers/npm-fixture/types.js';

const ABBREVIATED = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';
let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'larder-npm-fixture-test-'));
  fixture = await generateRegistry(join(root, 'registry'));
  upstream = await startNpmUpstream(fixture);
});

after(async () => {
  await upstream?.close();
  if (root !== '') await rm(root, { recursive: true, force: true });
});

function sha512(buf: Buffer): string {
  return `sha512-${createHash('sha512').update(buf).digest('base64')}`;
}

async function getJson<T>(path: string, headers: Record<string, string> = {}): Promise<{ res: Response; body: T }> {
  const res = await fetch(new URL(path, upstream.url), { headers });
  return { res, body: (await res.json()) as T };
}

async function getBytes(url: string): Promise<{ res: Response; buf: Buffer }> {
  const res = await fetch(url);
  return { res, buf: Buffer.from(await res.arrayBuffer()) };
}

function latestDoc(p: NpmPackument): NpmPackument['versions'][string] {
  const doc = p.versions[p['dist-tags'].latest ?? ''];
  assert.ok(doc, `latest version of ${p.name}`);
  return doc;
}

test('generates a realistic registry description', async () => {
  assert.equal(fixture.packages.length, 40);
  assert.ok(fixture.scopedPackages.length >= 5);
  assert.ok(fixture.scopedPackages.some((n) => n.startsWith('@corp/')));
  assert.ok(fixture.scopedPackages.some((n) => n.startsWith('@acme/')));
  assert.ok(fixture.reachable.length > 30);
  const big = fixture.packages.find((p) => p.name === fixture.bigPackage);
  assert.ok(big?.tarballs.every((t) => t.size > fixture.bigTarballBytes));
  const tgz = fixture.packages.find((p) => p.name === fixture.binPackage)?.tarballs[0];
  assert.ok(tgz);
  const paths: string[] = [];
  await tarList({ file: tgz.file, onReadEntry: (e) => void paths.push(e.path) });
  assert.equal(paths[0], 'package/package.json');
  assert.ok(paths.includes('package/bin/toolbox.js') && paths.includes('package/README.md'));
  assert.ok(paths.every((p) => p.startsWith('package/')));
});

test('serves full packuments for every scoped-name encoding', async () => {
  const name = fixture.binPackage;
  const [scope, bare] = name.split('/') as [string, string];
  const a = await getJson<NpmPackument>(`/${scope}%2f${bare}`);
  const b = await fetch(new URL(`/${scope}%2F${bare}`, upstream.url)).then((r) => r.text());
  const c = await fetch(new URL(`/${name}`, upstream.url)).then((r) => r.text());
  assert.equal(a.res.status, 200);
  assert.equal(JSON.stringify(a.body), b);
  assert.equal(b, c);
  const p = a.body;
  assert.equal(p._id, name);
  assert.ok(p.readme && p.time.created && p.time.modified && p.modified);
  for (const [v, doc] of Object.entries(p.versions)) {
    assert.ok(p.time[v], `time of ${v}`);
    assert.equal(doc.dist.tarball, `${upstream.url}${name}/-/${bare}-${v}.tgz`);
    assert.match(doc.dist.shasum, /^[0-9a-f]{40}$/);
    assert.match(doc.dist.integrity ?? '', /^sha512-[A-Za-z0-9+/]{86}==$/);
    assert.ok((doc.dist.fileCount ?? 0) > 0 && (doc.dist.unpackedSize ?? 0) > 0);
  }
  assert.deepEqual(latestDoc(p).bin, { toolbox: 'bin/toolbox.js' });
  assert.equal(a.res.headers.get('cache-control'), 'public, max-age=300');
  assert.equal(a.res.headers.get('vary'), 'Accept');
  assert.ok(a.res.headers.get('etag') && a.res.headers.get('last-modified'));
});

test('serves abbreviated packuments and 304s', async () => {
  const name = fixture.installScriptPackage;
  const full = await getJson<NpmPackument>(`/${name}`);
  const abbr = await getJson<NpmAbbreviatedPackument>(`/${name}`, { accept: ABBREVIATED });
  assert.match(abbr.res.headers.get('content-type') ?? '', /application\/vnd\.npm\.install-v1\+json/);
  assert.deepEqual(Object.keys(abbr.body).sort(), ['dist-tags', 'modified', 'name', 'versions']);
  const v = abbr.body.versions[full.body['dist-tags'].latest ?? ''];
  assert.ok(v);
  assert.equal(v.hasInstallScript, true);
  assert.equal(v._hasShrinkwrap, false);
  assert.deepEqual(v.dist, latestDoc(full.body).dist);
  assert.equal(Object.hasOwn(v, 'readme') || Object.hasOwn(v, '_npmUser') || Object.hasOwn(v, 'scripts'), false);
  const etag = abbr.res.headers.get('etag') ?? '';
  assert.notEqual(etag, full.res.headers.get('etag'));
  const again = await fetch(new URL(`/${name}`, upstream.url), { headers: { accept: ABBREVIATED, 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get('etag'), etag);
  const fullAgain = await fetch(new URL(`/${name}`, upstream.url), { headers: { 'if-none-match': etag } });
  assert.equal(fullAgain.status, 200, 'the abbreviated ETag must not validate the full document');
  await fullAgain.arrayBuffer();
});

test('tarballs match dist.integrity and shasum; corruption is detected', async () => {
  const p = upstream.packument(fixture.bigPackage);
  assert.ok(p);
  const dist = latestDoc(p).dist;
  const { res, buf } = await getBytes(dist.tarball);
  assert.equal(res.status, 200);
  assert.equal(Number(res.headers.get('content-length')), buf.length);
  assert.ok(buf.length > fixture.bigTarballBytes);
  assert.equal(sha512(buf), dist.integrity);
  assert.equal(createHash('sha1').update(buf).digest('hex'), dist.shasum);

  const path = new URL(dist.tarball).pathname;
  upstream.setCorrupt(path);
  const bad = await getBytes(dist.tarball);
  assert.equal(bad.buf.length, buf.length);
  assert.notEqual(sha512(bad.buf), dist.integrity);
  upstream.setCorrupt((x) => x.endsWith('.tgz'));
  assert.notEqual(sha512((await getBytes(dist.tarball)).buf), dist.integrity);
  upstream.setCorrupt(null);
  assert.equal(sha512((await getBytes(dist.tarball)).buf), dist.integrity);
  assert.ok(upstream.hits(path) >= 4);
});

test('old-style package versions only carry shasum', () => {
  const p = upstream.packument(fixture.oldStylePackage);
  assert.ok(p);
  for (const doc of Object.values(p.versions)) {
    assert.match(doc.dist.shasum, /^[0-9a-f]{40}$/);
    assert.equal(doc.dist.integrity, undefined);
  }
});

test('auxiliary endpoints: ping, whoami, search, audit, 404', async () => {
  assert.equal((await fetch(new URL('/-/ping', upstream.url))).status, 200);
  const good = await getJson<{ username: string }>('/-/whoami', { authorization: 'Bearer good-token' });
  assert.deepEqual(good.body, { username: 'tester' });
  assert.equal((await fetch(new URL('/-/whoami', upstream.url), { headers: { authorization: 'Bearer bad' } })).status, 401);
  const search = await getJson<{ objects: unknown[]; total: number }>(`/-/v1/search?text=${fixture.bigPackage}`);
  assert.equal(search.body.total, 1);
  const audit = { [fixture.bigPackage]: ['1.1.0'] };
  const posted = await fetch(new URL('/-/npm/v1/security/advisories/bulk', upstream.url), {
    method: 'POST',
    body: gzipSync(JSON.stringify(audit)),
    headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
  });
  assert.deepEqual(await posted.json(), {});
  assert.deepEqual(upstream.auditBodies.at(-1), audit);
  const missing = await getJson<{ error: string }>('/does-not-exist');
  assert.equal(missing.res.status, 404);
  assert.deepEqual(missing.body, { error: 'Not found' });
});

test('fault injection: down modes and slow downloads', async () => {
  const name = fixture.binPackage;
  upstream.setDown(true, '503');
  assert.equal((await fetch(new URL(`/${name}`, upstream.url))).status, 503);
  upstream.setDown(true, 'refuse');
  await assert.rejects(fetch(new URL(`/${name}`, upstream.url)));
  upstream.setDown(false);
  assert.equal((await fetch(new URL(`/${name}`, upstream.url))).status, 200);

  const dist = latestDoc(upstream.packument(fixture.bigPackage) as NpmPackument).dist;
  upstream.setDelay(50);
  const ac = new AbortController();
  const res = await fetch(dist.tarball, { signal: ac.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  assert.ok(first.value && first.value.length < fixture.bigTarballBytes);
  ac.abort();
  await assert.rejects(reader.read());
  upstream.setDelay(0);
  assert.equal(sha512((await getBytes(dist.tarball)).buf), dist.integrity);
});

test('publish creates packages, adds versions and changes ETag and modified', async () => {
  const name = '@acme/fresh-publish';
  assert.equal((await fetch(new URL(`/${name}`, upstream.url))).status, 404);
  await upstream.publish(name, '1.0.0');
  const before = await getJson<NpmPackument>(`/${name}`);
  assert.equal(before.res.status, 200);
  await upstream.publish(name, '1.1.0');
  const after = await getJson<NpmPackument>(`/${name}`, { 'if-none-match': before.res.headers.get('etag') ?? '' });
  assert.equal(after.res.status, 200);
  assert.equal(after.body['dist-tags'].latest, '1.1.0');
  assert.ok(after.body.modified > before.body.modified);
  const dist = latestDoc(after.body).dist;
  assert.equal(sha512((await getBytes(dist.tarball)).buf), dist.integrity);
});

test('makeProject runs the real npm client against the upstream', { timeout: 180_000 }, async () => {
  const result = await makeProject(join(root, 'app'), fixture, upstream.url);
  assert.ok(result.installed.length > 30, `only ${result.installed.length} lockfile entries`);
  for (const [path, entry] of result.installed) {
    assert.ok(entry.resolved?.startsWith(upstream.url), `${path} resolved ${entry.resolved}`);
    assert.ok(entry.integrity, `${path} has integrity`);
  }
  const legacy = result.lockfile.packages[`node_modules/${fixture.oldStylePackage}`];
  assert.match(legacy?.integrity ?? '', /^sha1-/, 'shasum-only packages get a sha1 integrity in the lockfile');
  const paths = result.installed.map(([p]) => p);
  assert.ok(paths.includes(`node_modules/${fixture.bigPackage}`));
  assert.ok(fixture.scopedPackages.some((n) => paths.includes(`node_modules/${n}`)));
  assert.ok(fixture.reachable.every((n) => paths.some((p) => p.endsWith(`node_modules/${n}`))));
});
