/**
 * What the apt layout adds to plain HTTP caching, so that apt never sees
 * "Hash Sum mismatch" and pool files are verified:
 *
 * - A path-addressed index (`dists/<suite>/main/binary-amd64/Packages.xz`)
 *   is served by the SHA256 the cached InRelease (or Release) lists for it:
 *   it is keyed by that hash, fetched (by-hash when the Release says
 *   `Acquire-By-Hash: yes`) and verified, so it always matches the InRelease
 *   the clients were given.
 * - When a new InRelease/Release is committed, every other entry of that
 *   suite (path-addressed indexes, the other Release files) is deleted.
 * - Every committed Packages index is parsed into a per-remote map
 *   `Filename → SHA256/Size`, which verifies `pool/` files (rebuilt lazily
 *   from the cached indexes after a restart).
 */
import type { HttpCache } from '../../core/http-cache.js';
import type { Entry } from '../../core/types.js';
import { decompress, packagesCompression, parsePackages, parseRelease, type HashedFile, type ParsedRelease } from './apt-files.js';
import { encodeSegment, fileKey } from './paths.js';

const RELEASE_NAMES = ['InRelease', 'Release'] as const;
const MAX_PARSED_RELEASES = 64;

/** Where a path-addressed index resolves to through the cached Release. */
export interface IndexRef extends HashedFile {
  /** Encoded upstream path to fetch it from (by-hash when published). */
  fetchPath: string;
  /** Key of the Release file that listed it. */
  releaseKey: string;
  /** Path relative to the suite directory, e.g. main/binary-all/Packages.xz. */
  name: string;
}

class PoolIndex {
  readonly files = new Map<string, HashedFile>();
  readonly parsed = new Set<string>();
  readonly pending = new Set<Promise<void>>();
  scanned = false;
}

export class AptSupport {
  private readonly releases = new Map<string, ParsedRelease>();
  private readonly pools = new Map<string, PoolIndex>();

  constructor(private readonly cache: HttpCache) {}

  /** Whether a release file's commit must invalidate its suite (InRelease and Release do, Release.gpg does not). */
  static invalidates(path: string): boolean {
    return path.endsWith('/InRelease') || path.endsWith('/Release');
  }

  /** After a new InRelease/Release is committed: drop the suite's other entries when the content changed. */
  async releaseCommitted(remote: string, suiteDir: string, entry: Entry, previous: Entry | undefined): Promise<void> {
    if (previous && previous.digest === entry.digest) return;
    const doomed: string[] = [];
    for (const e of this.cache.entries(fileKey(remote, `${suiteDir}/`))) if (e.key !== entry.key) doomed.push(e.key);
    for (const key of doomed) await this.cache.remove(key);
  }

  /** The SHA256 the cached Release of the suite lists for a path below `dists/`. */
  async resolveIndex(remote: string, path: string): Promise<IndexRef | undefined> {
    for (const { suiteDir, rest, release, releaseKey } of await this.releasesFor(remote, path)) {
      const hit = release.files.get(rest);
      if (!hit) continue;
      const dir = rest.includes('/') ? `${rest.slice(0, rest.lastIndexOf('/'))}/` : '';
      const fetchPath = release.byHash ? `${suiteDir}/${dir}by-hash/SHA256/${hit.hex}` : path;
      return { ...hit, fetchPath: fetchPath.split('/').map(encodeSegment).join('/'), releaseKey, name: rest };
    }
    return undefined;
  }

  /** For a by-hash path: the index name the cached Release gives that hash (e.g. main/binary-all/Packages.xz). */
  async nameOfHash(remote: string, path: string, hex: string): Promise<string | undefined> {
    for (const { release } of await this.releasesFor(remote, path)) {
      const name = release.byHex.get(hex);
      if (name) return name;
    }
    return undefined;
  }

  /** Records a committed Packages index (meta.aptPackages holds its compression suffix). */
  packagesCommitted(remote: string, entry: Entry): void {
    const compression = entry.meta?.aptPackages;
    if (typeof compression !== 'string') return;
    const pool = this.pool(remote);
    if (pool.parsed.has(entry.digest)) return;
    pool.parsed.add(entry.digest);
    const p = (async () => {
      const text = await decompress(await this.cache.read(entry), compression);
      if (text) for (const [file, h] of parsePackages(text.toString('utf8'))) pool.files.set(file, h);
    })().catch(() => undefined);
    pool.pending.add(p);
    void p.finally(() => pool.pending.delete(p));
  }

  /** The SHA256/size a cached Packages index lists for a pool file. */
  async poolFile(remote: string, path: string): Promise<HashedFile | undefined> {
    const pool = this.pool(remote);
    if (!pool.scanned) {
      pool.scanned = true;
      for (const e of this.cache.entries(fileKey(remote, '')))
        if (typeof e.meta?.aptPackages === 'string') this.packagesCommitted(remote, e);
    }
    await Promise.all([...pool.pending]);
    return pool.files.get(path);
  }

  /** Meta marking an index as a Packages file, for the pool map. */
  static packagesMeta(name: string): Entry['meta'] {
    const c = packagesCompression(name);
    return c === undefined ? undefined : { aptPackages: c };
  }

  private pool(remote: string): PoolIndex {
    let p = this.pools.get(remote);
    if (!p) {
      p = new PoolIndex();
      this.pools.set(remote, p);
    }
    return p;
  }

  /** Cached Release files that may cover a path below dists/ (suite = 1 or 2 segments), after in-flight commits. */
  private async releasesFor(remote: string, path: string) {
    const segs = path.split('/');
    const out: Array<{ suiteDir: string; rest: string; release: ParsedRelease; releaseKey: string }> = [];
    for (let i = 2; i <= Math.min(3, segs.length - 1); i++) {
      const suiteDir = segs.slice(0, i).join('/');
      for (const name of RELEASE_NAMES) {
        const releaseKey = fileKey(remote, `${suiteDir}/${name}`);
        await this.cache.pending(releaseKey);
        const entry = this.cache.peek(releaseKey);
        if (entry) out.push({ suiteDir, rest: segs.slice(i).join('/'), release: await this.parsed(entry), releaseKey });
      }
    }
    return out;
  }

  private async parsed(entry: Entry): Promise<ParsedRelease> {
    const hit = this.releases.get(entry.digest);
    if (hit) return hit;
    const parsed = parseRelease(await this.cache.read(entry));
    if (this.releases.size >= MAX_PARSED_RELEASES) this.releases.delete(this.releases.keys().next().value!);
    this.releases.set(entry.digest, parsed);
    return parsed;
  }
}
