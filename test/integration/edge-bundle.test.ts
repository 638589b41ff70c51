/**
 * Air-gap bundles with the real CLI: `larder export --sign` from a daemon that
 * has an upstream (a lockfile, a pin, cached OCI keys), checked with GNU tar,
 * then `larder import` into fresh daemons whose upstreams are gone (they
 * trust the source's bundle key), and the
 * real clients (`npm ci`, `skopeo copy`) served from them. Corrupt and cut
 * bundles are rejected without committing anything; a re-run completes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { ImportReport, Stats } from '../../daemon/admin/contract.js';
import { ROOT } from '../helpers/daemon.js';
import { api, startNode, type ChainDaemon } from '../helpers/edge-chain.js';
import { blobsOnDisk, tempFiles, treeDigest } from '../helpers/npm-e2e.js';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { makeProject, runNpm } from '../helpers/npm-fixture/project.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';
import { buildSmallLayout, type FixtureImage, type FixtureLayout } from '../helpers/oci/images.js';
import { pushImage, skopeo } from '../helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../helpers/oci/registry.js';

const run = promisify(execFile);
let work = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let reg: RunningRegistry;
let small: FixtureLayout;
let source: ChainDaemon;
/** The source's bundle signing key, trusted by the importing daemons. */
let sourceKey = '';
const started: ChainDaemon[] = [];

const config = (npmUrl: string, ociUrl: string, trustedKeys: string[] = []) => ({
  remotes: { local: { type: 'npm' as const, url: npmUrl }, hub: { type: 'oci' as const, url: ociUrl, host: 'docker.io' } },
  bundles: { trustedKeys },
});

/** The bundle's JSON-lines manifest, by kind. */
function manifestOf(text: string): {
  blobs: Array<{ digest: string; size: number }>;
  entries: Array<{ key: string }>;
  pins: Array<{ ref: string }>;
} {
  const lines = text
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as Record<string, never>);
  return {
    blobs: lines.flatMap((l) => (l.blob ? [l.blob] : [])),
    entries: lines.flatMap((l) => (l.entry ? [l.entry] : [])),
    pins: lines.flatMap((l) => (l.pin ? [l.pin] : [])),
  };
}

async function cli(n: ChainDaemon, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), ...args, '--listen', `127.0.0.1:${n.d.port}`, '--data-dir', n.d.dataDir],
      { cwd: ROOT, timeout: 120_000 },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const closure = (i: FixtureImage): string[] => [i.digest, ...i.children.flatMap(closure), ...i.blobs.map((b) => b.digest)];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'larder-edge-bundle-'));
  [fixture, reg, small] = await Promise.all([
    generateRegistry(join(work, 'registry'), { bigTarballBytes: 2 * 1024 * 1024 }),
    startRegistry(),
    buildSmallLayout(),
  ]);
  upstream = await startNpmUpstream(fixture);
  await pushImage(small, 'multi', reg, 'fixtures/small');
  source = await startNode(config(upstream.url, reg.url));
  started.push(source);
  const key = await cli(source, ['export', '--print-key']);
  assert.equal(key.code, 0, key.stderr);
  sourceKey = key.stdout.trim();
  assert.match(sourceKey, /^ed25519:[A-Za-z0-9+/]{43}=$/);
});

after(async () => {
  for (const n of started) await n.d.close();
  await upstream?.close();
  await reg?.stop();
  if (small) await rm(small.dir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

/** A daemon whose upstreams are unreachable (closed ports). */
async function isolated(): Promise<ChainDaemon> {
  const n = await startNode(config('http://127.0.0.1:9/', 'http://127.0.0.1:9', [sourceKey]));
  started.push(n);
  return n;
}

test('export a lockfile, a pin and cached OCI content; import into a daemon with no upstream; npm ci and skopeo copy from it', async () => {
  const app = join(work, 'app');
  const project = await makeProject(app, fixture, upstream.url, { cacheDir: join(work, 'npm-cache-lock') });
  const pinned = fixture.packages.find((p) => p.name === fixture.oldStylePackage)!;
  const pinRef = `npm:${pinned.name}@${pinned.distTags.latest}`;
  await api(source, '/pins', { method: 'POST', body: { ref: pinRef } });
  // OCI: pull once through the source daemon so the image is cached there.
  await skopeo([
    'copy',
    '--all',
    '--src-tls-verify=false',
    '--src-no-creds',
    `docker://127.0.0.1:${source.d.port}/docker.io/fixtures/small:multi`,
    `oci:${join(work, 'pulled')}:multi`,
  ]);

  const bundle = join(work, 'site.tar');
  const exp = await cli(source, [
    'export',
    '--sign',
    '--out',
    bundle,
    '--pins',
    '--lockfile',
    join(app, 'package-lock.json'),
    '--prefix',
    'oci:hub:',
  ]);
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(exp.stdout, /wrote .*site\.tar/);
  // Standard tools read it: GNU tar lists the manifest and its signature first and one file per blob, named by its sha256.
  const listing = (await run('tar', ['-tf', bundle])).stdout.trim().split('\n');
  assert.deepEqual(listing.slice(0, 2), ['manifest.jsonl', 'manifest.sig']);
  const manifest = manifestOf((await run('tar', ['-xOf', bundle, 'manifest.jsonl'], { maxBuffer: 64 * 1024 * 1024 })).stdout);
  assert.deepEqual(listing.slice(2).sort(), manifest.blobs.map((b) => `blobs/sha256/${b.digest.slice(7)}`).sort());
  const extracted = join(work, 'extracted');
  await run('mkdir', ['-p', extracted]);
  await run('tar', ['-xf', bundle, '-C', extracted]);
  for (const name of await readdir(join(extracted, 'blobs', 'sha256'))) {
    assert.equal(sha(await readFile(join(extracted, 'blobs', 'sha256', name))), `sha256:${name}`);
  }
  const tarballs = new Set(project.installed.map(([, e]) => e.resolved).filter(Boolean)).size;
  assert.ok(manifest.entries.filter((e) => e.key.includes(':tgz:')).length >= tarballs, 'every locked tarball is in the bundle');
  assert.ok(manifest.entries.some((e) => e.key.startsWith('oci:hub:blob:')));
  assert.deepEqual(
    manifest.pins.map((p) => p.ref),
    [pinRef],
  );

  // The upstreams go away; a fresh daemon that cannot reach them imports the bundle.
  await upstream.close();
  await reg.down();
  const site = await isolated();
  const imp = await cli(site, ['import', bundle, '--json']);
  assert.equal(imp.code, 0, imp.stderr);
  const report = JSON.parse(imp.stdout) as ImportReport;
  assert.equal(report.blobs.added, manifest.blobs.length);
  assert.equal(report.entries.added, manifest.entries.length);
  assert.equal(report.pins, 1);
  assert.deepEqual(report.unknownRemotes, []);
  assert.equal(report.signer, sourceKey);
  assert.deepEqual(await tempFiles(site.d.dataDir), []);
  const sitePins = await api<Array<{ ref: string; status: string; source: string }>>(site, '/pins');
  assert.deepEqual(
    sitePins.map((p) => [p.ref, p.status, p.source]),
    [[pinRef, 'ok', 'bundle']],
  );
  // Importing again adds nothing and changes nothing.
  const again = JSON.parse((await cli(site, ['import', bundle, '--json'])).stdout) as ImportReport;
  assert.deepEqual(
    [again.blobs.added, again.blobs.present, again.entries.added, again.entries.updated, again.pins],
    [0, manifest.blobs.length, 0, 0, 0],
  );

  // npm ci from the site (the lockfile's upstream host is swapped for the site by npm).
  const ci = join(work, 'ci');
  await run('mkdir', ['-p', ci]);
  await copyFile(join(app, 'package.json'), join(ci, 'package.json'));
  await copyFile(join(app, 'package-lock.json'), join(ci, 'package-lock.json'));
  await runNpm(['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--replace-registry-host=127.0.0.1'], {
    cwd: ci,
    registry: `${site.d.url}/npm/`,
    cacheDir: join(work, 'npm-cache-ci'),
  });
  const big = JSON.parse(await readFile(join(ci, 'node_modules', fixture.bigPackage, 'package.json'), 'utf8')) as { version: string };
  assert.ok(big.version);
  assert.equal((await stat(join(ci, 'node_modules', fixture.bigPackage, 'data', 'blob.bin'))).size, fixture.bigTarballBytes);
  assert.ok((await treeDigest(join(ci, 'node_modules'))).size > 50);

  // skopeo copy from the site: the same image, byte for byte.
  const out = join(work, 'from-site');
  await skopeo([
    'copy',
    '--all',
    '--src-tls-verify=false',
    '--src-no-creds',
    `docker://127.0.0.1:${site.d.port}/docker.io/fixtures/small:multi`,
    `oci:${out}:multi`,
  ]);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const multi = small.images.multi!;
  assert.equal(index.manifests[0]?.digest, multi.digest);
  const copied = await readdir(join(out, 'blobs', 'sha256'));
  for (const name of copied) assert.equal(sha(await readFile(join(out, 'blobs', 'sha256', name))), `sha256:${name}`);
  assert.deepEqual(new Set(copied.map((n) => `sha256:${n}`)), new Set(closure(multi)));
  await reg.up();
});

test('a corrupt or cut bundle is rejected without committing anything; the full one then imports', async () => {
  const bundle = join(work, 'site.tar');
  const manifest = manifestOf((await run('tar', ['-xOf', bundle, 'manifest.jsonl'], { maxBuffer: 64 * 1024 * 1024 })).stdout);
  const largest = [...manifest.blobs].sort((a, b) => b.size - a.size)[0]!;
  // Find the blob's bytes in the tar (after its 512-byte header) and flip one in the middle.
  const bytes = await readFile(bundle);
  const at = bytes.indexOf(Buffer.from(`blobs/sha256/${largest.digest.slice(7)}`)) + 512 + Math.floor(largest.size / 2);
  const corrupt = join(work, 'corrupt.tar');
  await copyFile(bundle, corrupt);
  const fh = await open(corrupt, 'r+');
  await fh.write(Buffer.from([bytes[at]! ^ 0xff]), 0, 1, at);
  await fh.close();
  const cut = join(work, 'cut.tar');
  await copyFile(bundle, cut);
  await truncate(cut, Math.floor(bytes.length * 0.8));

  const site = await isolated();
  const empty = async (): Promise<void> => {
    const s = await api<Stats>(site, '/stats');
    assert.equal(s.storage.entries, 0);
    assert.equal((await blobsOnDisk(site.d.dataDir)).size, 0);
    assert.deepEqual(await tempFiles(site.d.dataDir), []);
    assert.deepEqual(await api(site, '/pins'), []);
  };
  const bad = await cli(site, ['import', corrupt]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /does not match|E_INTEGRITY/);
  await empty();
  const short = await cli(site, ['import', cut]);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /ends in the middle|E_BAD_REQUEST|not in it/);
  await empty();
  const good = await cli(site, ['import', bundle, '--json']);
  assert.equal(good.code, 0, good.stderr);
  assert.equal((JSON.parse(good.stdout) as ImportReport).blobs.added, manifest.blobs.length);
  assert.equal((await blobsOnDisk(site.d.dataDir)).size, manifest.blobs.length);
});
