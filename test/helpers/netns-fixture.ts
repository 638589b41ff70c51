/**
 * A small npm fixture for the namespace tests (about twenty tarballs): the
 * generated registry, and an app project whose `package-lock.json` the real
 * npm client made against a loopback upstream of it (its `resolved` URLs
 * name 127.0.0.1, which `--replace-registry-host=127.0.0.1` swaps for the
 * mirror), with the tarballs the lockfile pins by sha512 and one it does not.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRegistry } from './npm-fixture/generate.js';
import { makeProject } from './npm-fixture/project.js';
import { startNpmUpstream } from './npm-fixture/server.js';
import type { RegistryFixture } from './npm-fixture/types.js';

export interface PinnedTarball {
  /** Upstream path, e.g. `/@corp/x/-/x-1.0.0.tgz`. */
  path: string;
  integrity: string;
  size: number;
}

export interface SmallNpmProject {
  root: string;
  fixture: RegistryFixture;
  /** The app project directory (package.json, package-lock.json). */
  dir: string;
  tarballs: PinnedTarball[];
  /** A tarball of the fixture the lockfile does not pin. */
  spare: PinnedTarball;
}

export async function setupFixtureSmall(prefix: string): Promise<SmallNpmProject> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const fixture = await generateRegistry(join(root, 'registry'), { packages: 18, bigTarballBytes: 512 * 1024 });
  const local = await startNpmUpstream(fixture);
  try {
    const dir = join(root, 'app');
    const made = await makeProject(dir, fixture, local.url, { cacheDir: join(root, 'npm-cache-lock') });
    const all = fixture.packages.flatMap((p) => p.tarballs);
    const bySize = new Map(all.map((t) => [t.urlPath, t.size]));
    const listed = made.installed.flatMap(([, e]) => {
      // The old-style package has only a sha1: peers are asked by sha512 or sha256, so it is left out.
      if (!e.resolved || !e.integrity?.startsWith('sha512-')) return [];
      const path = decodeURIComponent(new URL(e.resolved).pathname);
      return [{ path, integrity: e.integrity, size: bySize.get(path) ?? 0 }];
    });
    // One tarball may sit at several places of the tree: each counts once.
    const tarballs = [...new Map(listed.map((t) => [t.path, t])).values()];
    const pinned = new Set(tarballs.map((t) => t.path));
    const spare = all.find((t) => !pinned.has(t.urlPath) && t.name !== fixture.oldStylePackage);
    if (!spare) throw new Error('the fixture has no tarball outside the lockfile');
    return { root, fixture, dir, tarballs, spare: { path: spare.urlPath, integrity: spare.integrity, size: spare.size } };
  } finally {
    await local.close();
  }
}
