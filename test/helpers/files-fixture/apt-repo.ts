/**
 * A real apt repository built in a temp directory with Debian's own tools:
 * tiny packages from `dpkg-deb --build`, `dpkg-scanpackages` for the
 * Packages index (plain, .gz, .xz), `apt-ftparchive release` for Release,
 * signed into InRelease and Release.gpg with a throwaway gpg key. With
 * `byHash`, every index is also published under by-hash/SHA256/<hex> and
 * the Release says `Acquire-By-Hash: yes`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DebSpec {
  name: string;
  version: string;
  /** Extra bytes to make the package bigger or distinct. */
  payload?: Buffer;
}

export interface AptRepo {
  /** Directory served as the archive root (holds dists/ and pool/). */
  root: string;
  suite: string;
  /** The signing key, exported (binary), for `[signed-by=…]`. */
  keyring: string;
  /** Builds the packages that are not built yet and regenerates every index of the suite. */
  publish(debs: DebSpec[]): Promise<void>;
  /** Path of a package below the root, as listed in Packages. */
  poolPath(d: DebSpec): string;
}

export async function createAptRepo(dir: string, opts: { suite?: string; byHash?: boolean } = {}): Promise<AptRepo> {
  const suite = opts.suite ?? 'stable';
  const root = join(dir, 'archive');
  const gnupg = join(dir, 'gnupg');
  const keyring = join(dir, 'archive-key.gpg');
  await mkdir(gnupg, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupg };
  await run(
    'gpg',
    ['--batch', '--passphrase', '', '--quick-gen-key', 'Larder Test Archive <archive@larder.invalid>', 'ed25519', 'sign', 'never'],
    { env },
  );
  await run('gpg', ['--batch', '--yes', '--output', keyring, '--export', 'archive@larder.invalid'], { env });
  const poolPath = (d: DebSpec): string => `pool/main/${d.name[0]}/${d.name}/${d.name}_${d.version}_all.deb`;
  const built = new Set<string>();

  async function buildDeb(d: DebSpec): Promise<void> {
    const tree = join(dir, 'build', `${d.name}-${d.version}`);
    await mkdir(join(tree, 'DEBIAN'), { recursive: true });
    await mkdir(join(tree, 'usr/share', d.name), { recursive: true });
    const control = `Package: ${d.name}\nVersion: ${d.version}\nArchitecture: all\nMaintainer: Larder Tests <tests@larder.invalid>\nDescription: ${d.name} test package ${d.version}\n`;
    await writeFile(join(tree, 'DEBIAN/control'), control);
    await writeFile(join(tree, 'usr/share', d.name, 'payload'), d.payload ?? Buffer.from(`${d.name} ${d.version}\n`));
    const out = join(root, poolPath(d));
    await mkdir(dirname(out), { recursive: true });
    await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, out]);
  }

  async function publish(debs: DebSpec[]): Promise<void> {
    for (const d of debs) {
      const id = `${d.name}_${d.version}`;
      if (!built.has(id)) await buildDeb(d);
      built.add(id);
    }
    const suiteDir = join(root, 'dists', suite);
    const binDir = join(suiteDir, 'main', 'binary-all');
    await mkdir(binDir, { recursive: true });
    const { stdout } = await run('dpkg-scanpackages', ['--multiversion', 'pool'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    await writeFile(join(binDir, 'Packages'), stdout);
    await run('gzip', ['-9nkf', join(binDir, 'Packages')]);
    await run('xz', ['-kf', join(binDir, 'Packages')]);
    if (opts.byHash) {
      for (const f of ['Packages', 'Packages.gz', 'Packages.xz']) {
        const hex = createHash('sha256')
          .update(await readFile(join(binDir, f)))
          .digest('hex');
        await mkdir(join(binDir, 'by-hash', 'SHA256'), { recursive: true });
        await copyFile(join(binDir, f), join(binDir, 'by-hash', 'SHA256', hex));
      }
    }
    await rm(join(suiteDir, 'Release'), { force: true }); // else apt-ftparchive lists the old Release in the new one
    const fields = [
      `Suite=${suite}`,
      `Codename=${suite}`,
      'Architectures=all',
      'Components=main',
      ...(opts.byHash ? ['Acquire-By-Hash=yes'] : []),
    ];
    const { stdout: release } = await run(
      'apt-ftparchive',
      [...fields.flatMap((f) => ['-o', `APT::FTPArchive::Release::${f}`]), 'release', '.'],
      { cwd: join(suiteDir) },
    );
    // Written beside, then renamed, so the Release never lists itself and clients never see half a file.
    await writeFile(join(dir, 'Release.new'), release);
    await run('gpg', ['--batch', '--yes', '--clearsign', '--output', join(dir, 'InRelease.new'), join(dir, 'Release.new')], { env });
    await run('gpg', ['--batch', '--yes', '--armor', '--detach-sign', '--output', join(dir, 'Release.gpg.new'), join(dir, 'Release.new')], {
      env,
    });
    for (const f of ['Release', 'InRelease', 'Release.gpg']) await rename(join(dir, `${f}.new`), join(suiteDir, f));
  }

  return { root, suite, keyring, publish, poolPath };
}
