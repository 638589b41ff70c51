import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { decompress, packagesCompression, parsePackages, parseRelease } from '../../daemon/protocols/generic/apt-files.js';
import { checksumHeaders, parseSidecar } from '../../daemon/protocols/generic/checksums.js';

test('apt Release and Packages parsing', async () => {
  const hexA = 'a'.repeat(64);
  const hexB = 'b'.repeat(64);
  const release = Buffer.from(
    `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: stable\nAcquire-By-Hash: yes\nMD5Sum:\n ${'c'.repeat(32)} 10 main/binary-all/Packages\nSHA256:\n ${hexA}              325 main/binary-all/Packages\n ${hexB}              277 main/binary-all/Packages.xz\n-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n`,
  );
  const r = parseRelease(release);
  assert.equal(r.byHash, true);
  assert.deepEqual(r.files.get('main/binary-all/Packages'), { hex: hexA, size: 325 });
  assert.equal(r.byHex.get(hexB), 'main/binary-all/Packages.xz');
  assert.equal(r.files.size, 2);
  const packages = `Package: tiny\nVersion: 1.0\nFilename: pool/main/t/tiny/tiny_1.0_all.deb\nSize: 600\nSHA256: ${hexA}\nDescription: x\n continued\n\nPackage: other\nFilename: pool/main/o/other/other_2_all.deb\nSize: 7\nSHA256: ${hexB}\n`;
  const map = parsePackages(packages);
  assert.deepEqual(map.get('pool/main/t/tiny/tiny_1.0_all.deb'), { hex: hexA, size: 600 });
  assert.deepEqual(map.get('pool/main/o/other/other_2_all.deb'), { hex: hexB, size: 7 });
  assert.equal(packagesCompression('dists/s/main/binary-all/Packages.xz'), '.xz');
  assert.equal(packagesCompression('Packages'), '');
  assert.equal(packagesCompression('dists/s/main/binary-all/Sources.xz'), undefined);
  assert.equal((await decompress(gzipSync(Buffer.from(packages)), '.gz'))?.toString(), packages);
  assert.equal((await decompress(execFileSync('xz', ['-c'], { input: packages }), '.xz'))?.toString(), packages);
  assert.equal(await decompress(Buffer.from('not xz'), '.xz'), undefined);
});

test('Maven sidecars and x-checksum headers', () => {
  const sha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
  assert.deepEqual(parseSidecar(Buffer.from(`${sha1.toUpperCase()}  lib-1.0.jar\n`), 'sha1'), { algo: 'sha1', hex: sha1 });
  assert.equal(parseSidecar(Buffer.from('<html>not found</html>'), 'sha1'), undefined);
  assert.equal(parseSidecar(Buffer.from(sha1), 'sha256'), undefined);
  const res = {
    status: 200,
    url: 'http://x/',
    body: new PassThrough(),
    headers: { 'x-checksum-sha1': sha1, 'x-checksum-sha256': 'nothex' },
  };
  assert.deepEqual(checksumHeaders(res), [{ algo: 'sha1', hex: sha1 }]);
});
