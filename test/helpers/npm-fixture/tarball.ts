/**
 * Deterministic building blocks for the npm fixture: a seeded PRNG,
 * incompressible pseudo-random bytes, hashing helpers and real npm tarball
 * packing (gzip'd tar, entries under `package/`, fixed mtimes) via `tar`.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { create as tarCreate } from 'tar';
import { NpmFixtureError, TARBALL_MTIME } from './types.js';

/** Small, fast, seedable PRNG (mulberry32). Same seed, same sequence. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A random element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new NpmFixtureError('EFIXTURE', 'Rng.pick on an empty array');
    return item;
  }
}

/**
 * `length` incompressible pseudo-random bytes derived from `seed`
 * (AES-256-CTR keystream, so it is fast even for many megabytes).
 */
export function seededBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const iv = createHash('sha256').update(`iv:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Hex sha1 of a buffer (npm's `dist.shasum`). */
export function sha1Hex(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

/** SRI sha512 of a buffer (npm's `dist.integrity`). */
export function sha512Integrity(data: Buffer): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

/** A packed tarball with the numbers that go into `dist`. */
export interface PackedTarball {
  buffer: Buffer;
  shasum: string;
  integrity: string;
  fileCount: number;
  unpackedSize: number;
}

/** Files of a package, keyed by path relative to the package root (`package.json`, `lib/x.js`). */
export type PackageFiles = Record<string, string | Buffer>;

/**
 * Packs `files` into a real npm tarball. The files are staged in a fresh
 * directory under `scratchDir`, chmod'ed (0644, 0755 for `bin/`), then packed
 * with `tar` using `portable`, the fixed npm mtime and the `package/` prefix.
 * `package.json` is always the first entry; the staging dir is removed after.
 */
export async function packFiles(scratchDir: string, files: PackageFiles): Promise<PackedTarball> {
  if (!('package.json' in files)) {
    throw new NpmFixtureError('EFIXTURE', 'packFiles: package.json is required');
  }
  await mkdir(scratchDir, { recursive: true });
  const stage = await mkdtemp(join(scratchDir, 'stage-'));
  try {
    const names = Object.keys(files).sort((a, b) => (a === 'package.json' ? -1 : b === 'package.json' ? 1 : a < b ? -1 : a > b ? 1 : 0));
    let unpackedSize = 0;
    for (const rel of names) {
      const content = files[rel] ?? '';
      const abs = join(stage, rel);
      await mkdir(dirname(abs), { recursive: true });
      await writeFile(abs, content);
      await chmod(abs, rel.startsWith('bin/') ? 0o755 : 0o644);
      unpackedSize += typeof content === 'string' ? Buffer.byteLength(content) : content.length;
    }
    const pack = tarCreate({ cwd: stage, gzip: true, portable: true, mtime: TARBALL_MTIME, prefix: 'package', noDirRecurse: true }, names);
    const buffer = await pack.concat();
    return {
      buffer,
      shasum: sha1Hex(buffer),
      integrity: sha512Integrity(buffer),
      fileCount: names.length,
      unpackedSize,
    };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** Runs `fn` over `items` with at most `limit` promises in flight; results keep input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
