/**
 * Signed air-gap bundles with the real CLI: `larder export --sign` and
 * `larder import` into daemons that trust (or do not trust) the source's
 * key. Unsigned, untrusted, tampered-manifest and tampered-blob bundles are
 * refused with stable codes and nothing committed; --allow-unsigned imports
 * an unsigned one; a validly signed bundle whose npm tarball does not match
 * its packument's integrity is refused; far-future times are clamped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { ImportReport, Stats } from '../../daemon/admin/contract.js';
import { KEY_FILE, loadSigningKey, publicKeyString, signatureFor } from '../../daemon/bundle/signing.js';
import { LmdbIndex } from '../../daemon/storage/lmdb-index.js';
import { DataPaths } from '../../daemon/storage/paths.js';
import { ROOT } from '../helpers/daemon.js';
import { hex, type Line, lines, readTar, unlines, writeTar } from '../helpers/bundle-tar.js';
import { api, startNode, type ChainDaemon } from '../helpers/edge-chain.js';
import { generateRegistry } from '../helpers/npm-fixture/generate.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../helpers/npm-fixture/types.js';

const run = promisify(execFile);
let work = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let source: ChainDaemon;
let sourceKey = '';
let signed = '';
let unsigned = '';
const started: ChainDaemon[] = [];

const config = (url: string, trustedKeys: string[]) => ({
  remotes: { local: { type: 'npm' as const, url, ttl: '10m' } },
  bundles: { trustedKeys },
});

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

/** A daemon that cannot reach any upstream, trusting `keys`. */
async function site(keys: string[]): Promise<ChainDaemon> {
  const n = await startNode(config('http://127.0.0.1:9/', keys));
  started.push(n);
  return n;
}

/** Rewrites the signed bundle with `edit` and signs it again with the source's own key (a trusted signer). */
async function resigned(name: string, edit: (ls: Line[], files: Map<string, Buffer>) => void): Promise<string> {
  const files = await readTar(signed);
  const [head, ...rest] = lines(files[0]!.body);
  const blobs = new Map(files.slice(2).map((f) => [f.name, f.body]));
  edit(rest, blobs);
  const manifest = unlines([head, ...rest]);
  const key = (await loadSigningKey(source.d.dataDir, false))!;
  const sig = signatureFor(key, hex('sha256', manifest));
  const out = join(work, name);
  await writeTar(out, [
    { name: 'manifest.jsonl', body: manifest },
    { name: 'manifest.sig', body: sig },
    ...[...blobs].map(([n, body]) => ({ name: n, body })),
  ]);
  return out;
}

async function assertEmpty(n: ChainDaemon): Promise<void> {
  const s = await api<Stats>(n, '/stats');
  assert.equal(s.storage.entries, 0);
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'larder-bundle-sign-'));
  fixture = await generateRegistry(join(work, 'registry'), { packages: 12, bigTarballBytes: 64 * 1024 });
  upstream = await startNpmUpstream(fixture);
  source = await startNode(config(upstream.url, []));
  started.push(source);
  const key = await cli(source, ['export', '--print-key']);
  assert.equal(key.code, 0, key.stderr);
  sourceKey = key.stdout.trim();
  assert.equal(((await stat(join(source.d.dataDir, KEY_FILE))).mode & 0o777).toString(8), '600');
  const refs = fixture.packages
    .filter((p) => !p.name.startsWith('@'))
    .slice(0, 2)
    .map((p) => `npm:${p.name}@${p.distTags.latest}`);
  signed = join(work, 'signed.tar');
  unsigned = join(work, 'unsigned.tar');
  const a = await cli(source, ['export', '--sign', '--out', signed, ...refs]);
  assert.equal(a.code, 0, a.stderr);
  const b = await cli(source, ['export', '--out', unsigned, ...refs]);
  assert.equal(b.code, 0, b.stderr);
});

after(async () => {
  for (const n of started) await n.d.close();
  await upstream?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('a signed bundle imports into a daemon that trusts the key', async () => {
  const n = await site([sourceKey]);
  const r = await cli(n, ['import', signed, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as ImportReport;
  assert.equal(report.signer, sourceKey);
  const entries = lines((await readTar(signed))[0]!.body)
    .slice(1)
    .filter((l) => (l as Line).entry).length;
  assert.ok(entries >= 4);
  assert.equal(report.entries.added, entries);
});

test('an unsigned bundle is refused (E_BUNDLE_UNSIGNED) unless --allow-unsigned', async () => {
  const n = await site([sourceKey]);
  const r = await cli(n, ['import', unsigned]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_BUNDLE_UNSIGNED/);
  await assertEmpty(n);
  const ok = await cli(n, ['import', unsigned, '--allow-unsigned', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as ImportReport).signer, 'unsigned');
});

test('a bundle signed by a key the daemon does not trust is refused (E_BUNDLE_UNTRUSTED)', async () => {
  const other = publicKeyString(generateKeyPairSync('ed25519').privateKey);
  const n = await site([other]);
  const r = await cli(n, ['import', signed]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_BUNDLE_UNTRUSTED/);
  await assertEmpty(n);
});

test('a manifest changed after signing is refused (E_BUNDLE_SIGNATURE), even with --allow-unsigned', async () => {
  const files = await readTar(signed);
  const manifest = files[0]!.body.toString();
  // Same length, so the tar stays well-formed: lengthen nothing, change a pin-free detail of an entry.
  const changed = manifest.replace('"fetchedAt":1', '"fetchedAt":2');
  assert.notEqual(changed, manifest);
  const out = join(work, 'tampered-manifest.tar');
  await writeTar(out, [{ name: 'manifest.jsonl', body: Buffer.from(changed) }, ...files.slice(1)]);
  const n = await site([sourceKey]);
  for (const extra of [[], ['--allow-unsigned']]) {
    const r = await cli(n, ['import', out, ...extra]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /E_BUNDLE_SIGNATURE/);
  }
  await assertEmpty(n);
});

test('a blob changed after signing is refused (E_INTEGRITY)', async () => {
  const files = await readTar(signed);
  const largest = files.slice(2).sort((a, b) => b.body.length - a.body.length)[0]!;
  const at = Math.floor(largest.body.length / 2);
  largest.body[at] = largest.body[at]! ^ 0xff;
  const out = join(work, 'tampered-blob.tar');
  await writeTar(out, files);
  const n = await site([sourceKey]);
  const r = await cli(n, ['import', out]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_INTEGRITY/);
  await assertEmpty(n);
});

test('an npm tarball that does not match its packument is refused, even signed by a trusted key', async () => {
  const out = await resigned('evil-tarball.tar', (ls, blobs) => {
    const line = ls.find((l) => l.entry?.key.includes(':tgz:'))!;
    const e = line.entry!;
    const evil = Buffer.from(`not the tarball of ${e.key}`);
    const digest = `sha256:${hex('sha256', evil)}`;
    const old = e.digest;
    e.digest = digest;
    e.size = evil.length;
    e.verified = { sha512: hex('sha512', evil) };
    const blobLine = ls.find((l) => l.blob?.digest === old)!;
    blobLine.blob = { digest, size: evil.length };
    blobs.delete(`blobs/sha256/${old.slice(7)}`);
    blobs.set(`blobs/sha256/${digest.slice(7)}`, evil);
  });
  const n = await site([sourceKey]);
  const r = await cli(n, ['import', out]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_INTEGRITY/);
  assert.match(r.stderr, /packument/);
  await assertEmpty(n);
});

test('an imported document with a far-future expiry is clamped to now + the remote ttl', async () => {
  const future = Date.now() + 365 * 86_400_000;
  let docKey = '';
  const out = await resigned('forever.tar', (ls) => {
    const e = ls.find((l) => l.entry?.key.includes(':doc:'))!.entry!;
    docKey = e.key;
    e.fetchedAt = future;
    e.expiresAt = 8.64e15;
    e.immutable = true;
  });
  const n = await site([sourceKey]);
  const r = await cli(n, ['import', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const done = Date.now();
  assert.ok(((JSON.parse(r.stdout) as ImportReport).clamped ?? 0) >= 1);
  await n.d.close({ keepData: true });
  started.splice(started.indexOf(n), 1);
  const index = new LmdbIndex(new DataPaths(n.d.dataDir).indexDir);
  try {
    const e = index.getEntry(docKey)!;
    assert.ok(e, `${docKey} was imported`);
    assert.ok(e.fetchedAt <= done, 'no fetch time in the future');
    assert.ok(e.expiresAt <= done + 10 * 60_000, `expiresAt ${e.expiresAt} is at most now + ttl`);
    assert.equal(e.immutable, false);
  } finally {
    await index.close();
    await rm(n.d.dataDir, { recursive: true, force: true });
  }
});

test('a version 1 bundle (manifest.json, no signature) imports only with --allow-unsigned', async () => {
  const files = await readTar(unsigned);
  const [head, ...rest] = lines(files[0]!.body) as [Record<string, unknown>, ...Line[]];
  const v1 = {
    format: 'larder-bundle',
    version: 1,
    createdAt: head.createdAt,
    source: head.source,
    blobs: rest.flatMap((l) => (l.blob ? [l.blob] : [])),
    entries: rest.flatMap((l) => (l.entry ? [l.entry] : [])),
    pins: rest.flatMap((l) => (l.pin ? [l.pin] : [])),
  };
  const out = join(work, 'v1.tar');
  await writeTar(out, [{ name: 'manifest.json', body: Buffer.from(JSON.stringify(v1)) }, ...files.slice(1)]);
  const n = await site([sourceKey]);
  const r = await cli(n, ['import', out]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_BUNDLE_UNSIGNED/);
  await assertEmpty(n);
  const ok = await cli(n, ['import', out, '--allow-unsigned', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as ImportReport).entries.added, v1.entries.length);
});
