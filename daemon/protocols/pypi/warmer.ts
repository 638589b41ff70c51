/**
 * Pre-warming and pinning for PyPI: `pypi:<name>==<version>` reads the
 * project page (normalized name) of the default PyPI remote, picks every
 * wheel and sdist of that version and fetches them, with their PEP 658
 * `.metadata` files when listed, through the adapter's own blob cache path
 * (each verified against the page's sha256 before commit).
 *
 * With `expect` (a requirements file's `--hash=sha256:` values) only the
 * files whose listed sha256 is among them are fetched, as
 * `pip --require-hashes` would; when none is, the item fails with
 * E_INTEGRITY and nothing is fetched.
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import { LarderError, notFound, toLarderError } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { PypiAdapter } from './adapter.js';
import { isFileOfVersion } from './filenames.js';
import { normalizeName } from './names.js';
import type { FileSource } from './render.js';

import type { PypiRef } from './ref.js';

/** Files fetched at once for one reference (a release may have dozens of wheels). */
const FILE_CONCURRENCY = 4;

interface Picked {
  project: string;
  /** Every listed file of the version. */
  all: string[];
  /** The files to fetch (after the `expect` filter). */
  chosen: string[];
  listed: Record<string, FileSource>;
}

interface Part {
  key: string;
  file: string;
  metadata: boolean;
}

export class PypiWarmer implements Warmer {
  readonly protocol = 'pypi' as const;

  constructor(private readonly pypi: PypiAdapter) {}

  /** Picks the version's files from the page, refreshing it once when they are missing. */
  private async pick(ref: PypiRef, expect: WarmOptions['expect'], refresh: boolean): Promise<Picked> {
    const project = normalizeName(ref.name);
    const want = new Set((expect ?? []).filter((e) => e.algo === 'sha256').map((e) => e.hex.toLowerCase()));
    let picked: Picked | undefined;
    for (const force of refresh ? [true] : [false, true]) {
      const listed = await this.pypi.listedFiles(project, force);
      const all = Object.keys(listed).filter((f) => isFileOfVersion(f, project, ref.version));
      const chosen = want.size === 0 ? all : all.filter((f) => want.has(listed[f]!.sha256 ?? ''));
      picked = { project, all, chosen, listed };
      if (chosen.length > 0) return picked;
    }
    const { all, listed } = picked!;
    if (all.length === 0) throw notFound(`${ref.raw}: no wheel or sdist of version ${ref.version} on the page of ${project}`);
    const upstream = all.map((f) => `${f} sha256:${listed[f]!.sha256 ?? '(not listed)'}`);
    throw new LarderError(
      'E_INTEGRITY',
      `${ref.raw}: hash mismatch: none of the ${all.length} file(s) of this version has a sha256 given by the requirements (--hash); ` +
        `upstream lists ${upstream.join(', ')}; nothing was fetched`,
      { details: { expected: [...want], upstream } },
    );
  }

  /** The version itself (`==` pins never move) once its files are listed upstream. */
  async resolve(ref: Ref): Promise<string> {
    const r = ref as PypiRef;
    await this.pick(r, undefined, true);
    return r.version;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as PypiRef;
    const { project, chosen, listed } = await this.pick(r, opts.expect, false);
    const parts: Part[] = [];
    for (const file of chosen) {
      parts.push({ key: this.pypi.fileKey(project, file, false), file, metadata: false });
      if (listed[file]!.m !== undefined) parts.push({ key: this.pypi.fileKey(project, file, true), file, metadata: true });
    }
    let bytes = 0;
    let fetched = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < parts.length) {
        if (opts.signal.aborted) throw new LarderError('E_SHUTTING_DOWN', `${r.raw}: cancelled`);
        const part = parts[next++]!;
        try {
          const got = await this.fetchPart(r, project, part, opts.onBytes);
          bytes += got.bytes;
          fetched += got.fetched;
        } catch (err) {
          next = parts.length; // the other workers stop after their current file
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILE_CONCURRENCY, parts.length) }, worker));
    return { resolved: r.version, keys: [this.pypi.pageKey(project), ...parts.map((p) => p.key)], bytes, fetched, children: [] };
  }

  /** Fetches one file through the cache (nothing when it is a HIT) and checks it was committed. */
  private async fetchPart(
    ref: PypiRef,
    project: string,
    part: Part,
    onBytes: (n: number) => void,
  ): Promise<{ bytes: number; fetched: number }> {
    const name = `${part.file}${part.metadata ? '.metadata' : ''}`;
    let fetched = 0;
    let bytes: number;
    let served: ServedBlob;
    try {
      // A small file is verified before it is answered (the get fails), a large one while it streams (the read fails).
      served = await this.pypi.fileBlob(project, part.file, part.metadata);
      refuseBypass(served, part.file);
      if (served.state !== 'MISS') return { bytes: served.size ?? 0, fetched: 0 };
      bytes = await consume(served.open(), (n) => {
        fetched += n;
        onBytes(n);
      });
    } catch (err) {
      const e = toLarderError(err);
      if (e.code !== 'E_INTEGRITY') throw e;
      throw new LarderError(
        'E_INTEGRITY',
        `${ref.raw}: ${name} does not match the sha256 its page lists (${e.message}); nothing was stored`,
        {
          cause: e,
          details: e.details,
        },
      );
    }
    await committed(served);
    if (!this.pypi.isCached(part.key)) throw new LarderError('E_STORAGE', `${ref.raw}: ${name} verified but could not be stored`);
    return { bytes, fetched };
  }
}
