/**
 * The pure parts of the Cargo plug-in (no daemon): the sparse index paths
 * below `/cargo` and what they may not contain, cargo's `dl` templates,
 * index lines, `cargo:` references and the Cargo.lock planner.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downloadUrl, parseIndexFile } from '../../daemon/protocols/cargo/index-file.js';
import { cargoPlanners } from '../../daemon/protocols/cargo/lockfiles.js';
import { indexPath, parseCargoPath } from '../../daemon/protocols/cargo/names.js';
import { cargoRefs } from '../../daemon/protocols/cargo/ref.js';

const isRemote = (n: string): boolean => n === 'crates' || n === 'index';

test('index paths follow cargo prefix folders, lower-cased', () => {
  assert.equal(indexPath('a'), '1/a');
  assert.equal(indexPath('ab'), '2/ab');
  assert.equal(indexPath('Abc'), '3/a/abc');
  assert.equal(indexPath('Serde_JSON'), 'se/rd/serde_json');
  assert.deepEqual(parseCargoPath('/index/config.json', isRemote), { kind: 'config', remote: undefined });
  assert.deepEqual(parseCargoPath('/crates/index/3/a/abc', isRemote), { kind: 'index', remote: 'crates', name: 'abc' });
  assert.deepEqual(parseCargoPath('/index/SE/rd/Serde', isRemote), { kind: 'index', remote: undefined, name: 'serde' });
  assert.deepEqual(parseCargoPath('/index/index/1/a', isRemote), { kind: 'index', remote: 'index', name: 'a' }, 'a remote named index');
  assert.deepEqual(parseCargoPath('/crates/dl/Serde/1.0.0%2Bbuild.1/download', isRemote), {
    kind: 'crate',
    remote: 'crates',
    name: 'serde',
    version: '1.0.0+build.1',
  });
});

test('anything else below /cargo is a 404 before it reaches a key or an upstream URL', () => {
  for (const path of [
    '/index/se/rd/serde/x',
    '/index/xx/yy/serde',
    '/index/3/b/abc',
    '/index/..%2f..%2fetc/passwd',
    '/index/se/rd/ser%00de',
    '/other/index/config.json',
    '/crates/dl/serde/1.0/download',
    '/crates/dl/serde/1.0.0/download/x',
    '/dl/serde/1.0.0/download',
    '/crates/dl/ser de/1.0.0/download',
    `/index/${'a/'.repeat(20)}`,
    '/index/%E0%A4%A',
  ]) {
    assert.throws(
      () => parseCargoPath(path, isRemote),
      (e: { status?: number }) => e.status === 404,
      path,
    );
  }
});

test('download URLs are built from dl as cargo builds them', () => {
  const sum = 'f'.repeat(64);
  assert.equal(
    downloadUrl('https://static.crates.io/crates', 'Serde', '1.0.0', sum),
    'https://static.crates.io/crates/Serde/1.0.0/download',
  );
  assert.equal(
    downloadUrl('https://h/{prefix}/{lowerprefix}/{crate}/{crate}-{version}.crate?s={sha256-checksum}', 'Serde', '1.0.0', sum),
    `https://h/Se/rd/se/rd/Serde/Serde-1.0.0.crate?s=${sum}`,
  );
});

test('index lines give each version its cksum and pubtime; a file with no record of the crate is refused', () => {
  const sum = 'a'.repeat(64);
  const pubtime = '2025-11-20T12:34:56Z';
  const raw = Buffer.from(
    `${JSON.stringify({ name: 'Foo', vers: '1.0.0', deps: [], cksum: sum, features: {}, yanked: true, pubtime })}\nnot json\n` +
      `${JSON.stringify({ name: 'foo', vers: '1.1.0', deps: [], cksum: 'short', features: {} })}\n`,
  );
  assert.deepEqual(parseIndexFile(raw, 'foo'), { name: 'foo', cksums: { '1.0.0': sum }, published: { '1.0.0': Date.parse(pubtime) } });
  assert.throws(() => parseIndexFile(Buffer.from('<html>captive portal</html>\n'), 'foo'), /no version record/);
});

test('cargo: references are exact versions', () => {
  assert.deepEqual(cargoRefs.parse('serde_json@1.0.120', 'cargo:serde_json@1.0.120'), {
    protocol: 'cargo',
    raw: 'cargo:serde_json@1.0.120',
    name: 'serde_json',
    version: '1.0.120',
  });
  for (const body of ['serde', 'serde@^1', 'ser/de@1.0.0', '@1.0.0', 'serde@1.0']) {
    assert.throws(() => cargoRefs.parse(body, `cargo:${body}`), /invalid reference/, body);
  }
});

test('Cargo.lock: registry packages with their checksum; path and git packages left out', () => {
  const sum = 'b'.repeat(64);
  const lock = `# generated\nversion = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "serde",\n]\n\n[[package]]\nname = "serde"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "${sum}"\n\n[[package]]\nname = "gitdep"\nversion = "0.1.0"\nsource = "git+https://example.com/x#abc"\n\n[[package]]\nname = "own"\nversion = "2.0.0"\nsource = "sparse+https://example.com/index/"\n`;
  const planner = cargoPlanners[0]!;
  assert.ok(planner.matches('cargo.lock'));
  assert.deepEqual(planner.plan(lock), [
    { ref: 'cargo:serde@1.0.0', deps: false, expect: [{ algo: 'sha256', hex: sum }] },
    { ref: 'cargo:own@2.0.0', deps: false },
  ]);
});
