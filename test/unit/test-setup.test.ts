/**
 * `npm test` sets itself up (test/setup/apt-packages.mjs): it reads the
 * package lists in .ci/, asks dpkg which are installed, and without root or
 * apt stops with the one command that installs the missing ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/daemon.js';
import { ensureAptPackages, installCommand, missingPackages, requiredPackages } from '../setup/apt-packages.mjs';

test('the lists in .ci/ name the tools the fresh-machine failures needed', () => {
  const pkgs = requiredPackages(ROOT);
  for (const p of ['apache2-utils', 'golang-go', 'golang-golang-x-mod-dev', 'apt', 'dpkg-dev', 'gnupg', 'etcd-server', 'nginx'])
    assert.ok(pkgs.includes(p), p);
  assert.equal(new Set(pkgs).size, pkgs.length, 'each package once');
});

test('lists: comments and blank lines skipped; dpkg tells installed from missing', async () => {
  const dir = await tempDir('larder-setup-');
  try {
    await mkdir(join(dir, '.ci'));
    await writeFile(join(dir, '.ci', 'apt-packages-a.txt'), '# tools\ntar\n\nlarder-no-such-package # not in Debian\n');
    await writeFile(join(dir, '.ci', 'apt-packages.txt'), 'tar\n');
    await writeFile(join(dir, '.ci', 'other.txt'), 'ignored-package\n');
    assert.deepEqual(requiredPackages(dir), ['tar', 'larder-no-such-package']);
    assert.deepEqual(missingPackages(['tar', 'larder-no-such-package']), ['larder-no-such-package']);
    const logged: string[] = [];
    const msg = ensureAptPackages(dir, { isRoot: false, log: (l) => logged.push(l) });
    assert.ok(msg?.includes('sudo apt-get update && sudo apt-get install -y --no-install-recommends larder-no-such-package'), msg);
    assert.equal(logged.length, 0, 'nothing was installed');
    const noApt = ensureAptPackages(dir, { isRoot: true, aptUsable: false, log: (l) => logged.push(l) });
    assert.equal(logged.length, 0);
    assert.ok(noApt?.includes('\n  apt-get update && apt-get install -y --no-install-recommends larder-no-such-package'), noApt);
    await writeFile(join(dir, '.ci', 'apt-packages-a.txt'), 'tar\n');
    assert.equal(ensureAptPackages(dir, { isRoot: false }), undefined, 'nothing missing, nothing to say');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the install command', () => {
  assert.equal(installCommand(['a', 'b'], true), 'apt-get update && apt-get install -y --no-install-recommends a b');
});
