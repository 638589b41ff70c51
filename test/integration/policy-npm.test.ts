/**
 * The supply-chain policy with the real npm client: versions published
 * "now", "2 days ago" and "a month ago" under `minAge: 7d`, a pinned young
 * version, and a MAL- OSV record for one version of another package.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { runNpm } from '../helpers/npm-fixture/project.js';
import { packFiles, type PackedTarball } from '../helpers/npm-fixture/tarball.js';

const DAY = 86_400_000;
const NPM_FLAGS = ['--no-audit', '--no-fund', '--ignore-scripts'];
/** Package → version → age in ms; the last one listed is `latest`. */
const PACKAGES: Record<string, Record<string, number>> = {
  foo: { '1.0.0': 30 * DAY, '2.0.0': 2 * DAY, '3.0.0': 0 },
  bar: { '1.0.0': 60 * DAY, '1.0.1': 40 * DAY },
  baz: { '1.0.0': 60 * DAY },
};

let root = '';
let upstream: Server;
let daemon: TestDaemon;
let registry = '';
let runs = 0;
const tarballs = new Map<string, PackedTarball>();

async function startUpstream(): Promise<string> {
  const now = Date.now();
  const docs = new Map<string, (base: string) => unknown>();
  for (const [name, versions] of Object.entries(PACKAGES)) {
    for (const v of Object.keys(versions)) {
      tarballs.set(
        `/${name}/-/${name}-${v}.tgz`,
        await packFiles(join(root, 'scratch'), { 'package.json': JSON.stringify({ name, version: v }) }),
      );
    }
    docs.set(`/${name}`, (base) => {
      const list = Object.entries(versions);
      const time: Record<string, string> = { created: new Date(now - 90 * DAY).toISOString(), modified: new Date(now).toISOString() };
      const out: Record<string, unknown> = {};
      for (const [v, age] of list) {
        const t = tarballs.get(`/${name}/-/${name}-${v}.tgz`)!;
        time[v] = new Date(now - age).toISOString();
        out[v] = { name, version: v, dist: { tarball: `${base}/${name}/-/${name}-${v}.tgz`, integrity: t.integrity, shasum: t.shasum } };
      }
      return { name, 'dist-tags': { latest: list.at(-1)![0] }, versions: out, time };
    });
  }
  upstream = createServer((req, res) => {
    const base = `http://${req.headers.host}`;
    const t = tarballs.get(req.url ?? '');
    const doc = docs.get(req.url ?? '');
    if (t) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(t.buffer);
    else if (doc) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc(base)));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

before(async () => {
  root = await tempDir('larder-policy-npm-');
  const osv = join(root, 'osv');
  await mkdir(osv, { recursive: true });
  await writeFile(
    join(osv, 'MAL-2026-0001.json'),
    JSON.stringify({
      id: 'MAL-2026-0001',
      summary: 'Malicious code in bar (npm)',
      affected: [{ package: { ecosystem: 'npm', name: 'bar' }, versions: ['1.0.1'] }],
    }),
  );
  const url = await startUpstream();
  daemon = await startTestDaemon({
    remotes: { local: { type: 'npm', url: `${url}/` } },
    policy: { minAge: '7d', blocklist: { osv } },
  });
  registry = `${daemon.url}/npm/`;
});

after(async () => {
  await daemon?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  if (root) await rm(root, { recursive: true, force: true });
});

/** Runs npm in a fresh project with a fresh npm cache. */
async function npm(args: string[]): Promise<{ stdout: string; dir: string }> {
  const dir = join(root, `app-${++runs}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const { stdout } = await runNpm([...args, ...NPM_FLAGS], { cwd: dir, registry, cacheDir: join(root, `cache-${runs}`) });
  return { stdout, dir };
}

async function installed(dir: string, name: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

test('under minAge 7d npm installs the month-old version and sees latest retargeted', async () => {
  const { dir } = await npm(['install', 'foo']);
  assert.equal(await installed(dir, 'foo'), '1.0.0');
  const tags = JSON.parse((await npm(['view', 'foo', 'dist-tags', '--json'])).stdout) as Record<string, string>;
  assert.deepEqual(tags, { latest: '1.0.0' });
  const versions = JSON.parse((await npm(['view', 'foo', 'versions', '--json'])).stdout) as unknown;
  assert.deepEqual([versions].flat(), ['1.0.0']);
  const time = JSON.parse((await npm(['view', 'foo', 'time', '--json'])).stdout) as Record<string, string>;
  assert.deepEqual(Object.keys(time).sort(), ['1.0.0', 'created', 'modified']);
});

test('npm install of a held-back version fails with a message naming the policy', async () => {
  await assert.rejects(npm(['install', 'foo@2.0.0']), /foo@2\.0\.0 is held back by the Larder policy minAge 7d: published .*allowed from/);
  const res = await fetch(`${registry}foo/-/foo-3.0.0.tgz`);
  assert.equal(res.status, 403);
  const body = (await res.json()) as { error: string };
  assert.match(body.error, /foo@3\.0\.0 is held back by the Larder policy minAge 7d: published \S+, allowed from \S+/);
});

test('a pinned young version installs', async () => {
  const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
  await admin.ok('POST', '/pins', { ref: 'npm:foo@3.0.0' });
  const { dir } = await npm(['install', 'foo@3.0.0']);
  assert.equal(await installed(dir, 'foo'), '3.0.0');
  await assert.rejects(npm(['install', 'foo@2.0.0']), /held back by the Larder policy/, 'only the pinned one');
});

test('a MAL- record refuses its version, even pinned and cached; the other versions install', async () => {
  await assert.rejects(npm(['install', 'bar@1.0.1']), /bar@1\.0\.1 is blocked by the Larder policy blocklist: MAL-2026-0001/);
  const { dir } = await npm(['install', 'bar']);
  assert.equal(await installed(dir, 'bar'), '1.0.0');
  const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
  await admin.ok('POST', '/pins', { ref: 'npm:bar@1.0.1' });
  const res = await fetch(`${registry}bar/-/bar-1.0.1.tgz`);
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { error: string }).error, /blocked by the Larder policy blocklist: MAL-2026-0001/);
});

test('/metrics counts the refused requests by remote and reason', async () => {
  const text = await (await fetch(`${daemon.url}/metrics`)).text();
  assert.match(text, /larder_policy_requests_total\{remote="local",reason="held"\} [1-9]/);
  assert.match(text, /larder_policy_requests_total\{remote="local",reason="blocked"\} [1-9]/);
});

test('a package with nothing held back is served from its cached form; one with a version held back is filtered', async () => {
  const res = await fetch(`${registry}baz`);
  const doc = (await res.json()) as Record<string, unknown>;
  assert.equal(doc.policyRestrictions, undefined);
  assert.deepEqual(doc['dist-tags'], { latest: '1.0.0' });
  assert.doesNotMatch(res.headers.get('etag') ?? '', /-policy-/);
  for (const accept of ['application/json', 'application/vnd.npm.install-v1+json']) {
    const foo = await fetch(`${registry}foo`, { headers: { accept } });
    assert.match(foo.headers.get('etag') ?? '', /-policy-[0-9a-f]{12}"$/, 'a filtered form has an ETag of its own');
    const body = (await foo.json()) as { versions: Record<string, unknown>; policyRestrictions: { versions: Record<string, unknown> } };
    assert.deepEqual(Object.keys(body.versions).sort(), ['1.0.0', '3.0.0'], `${accept}: the pinned one is shown`);
    assert.deepEqual(Object.keys(body.policyRestrictions.versions), ['2.0.0']);
  }
});
