/**
 * Pre-warming and pinning for the Hub: `hf:<repo>@<rev>` resolves the
 * revision to its commit and fetches every file of that commit's recursive
 * tree listing; `hf:<repo>@<rev>/<path>` one file. Each goes through the
 * adapter's own path (verified against the listing before commit), from
 * the default Hugging Face remote, anonymously: a gated repository cannot
 * be pre-warmed (its files are cached per client token).
 */
import type { ServedBlob } from '../../core/blob-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Ref } from '../../core/refs.js';
import { committed, consume, refuseBypass, type Closure, type WarmOptions, type Warmer } from '../../core/warm.js';
import type { Remote } from '../../upstream/remote.js';
import type { HfAdapter } from './adapter.js';
import { treeFiles } from './listing.js';
import type { HfRef } from './ref.js';

const FILE_CONCURRENCY = 4;

export class HfWarmer implements Warmer {
  readonly protocol = 'hf' as const;

  constructor(private readonly hf: HfAdapter) {}

  async resolve(ref: Ref): Promise<string> {
    const r = ref as HfRef;
    return (await this.hf.api.resolve(this.hf.remoteFor(undefined), r.repo, r.rev, true)).commit;
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as HfRef;
    const remote = this.hf.remoteFor(undefined);
    const { commit } = await this.hf.api.resolve(remote, r.repo, r.rev);
    let paths: string[];
    const keys: string[] = [];
    if (r.path !== undefined) {
      paths = [r.path];
    } else {
      const tree = await this.hf.api.tree(remote, r.repo, commit, '', true, false);
      keys.push(tree.entry.key);
      const ref = tree.entry.variants?.json;
      const listing = ref ? (JSON.parse((await this.hf.documents.variant(ref)).toString('utf8')) as unknown) : [];
      paths = Object.keys(treeFiles(listing)).sort();
    }
    let bytes = 0;
    let fetched = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < paths.length) {
        if (opts.signal.aborted) throw new LarderError('E_SHUTTING_DOWN', `${r.raw}: cancelled`);
        const path = paths[next++]!;
        try {
          const got = await this.fetchFile(r, remote, commit, path, opts.onBytes);
          bytes += got.bytes;
          fetched += got.fetched;
          keys.push(got.key);
        } catch (err) {
          next = paths.length; // the other workers stop after their current file
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILE_CONCURRENCY, paths.length) }, worker));
    return { resolved: commit, keys: keys.sort(), bytes, fetched, children: [] };
  }

  private async fetchFile(
    r: HfRef,
    remote: Remote,
    commit: string,
    path: string,
    onBytes: (n: number) => void,
  ): Promise<{ key: string; bytes: number; fetched: number }> {
    const wanted = { remote, repo: r.repo, commit, path };
    const key = this.hf.files.fileKey(wanted);
    let served: ServedBlob;
    try {
      served = (await this.hf.files.serve(wanted)).blob;
    } catch (err) {
      if (err instanceof LarderError && err.code === 'E_UNAUTHORIZED') {
        throw new LarderError(
          'E_UNAUTHORIZED',
          `${r.raw}: ${r.repo.name} is gated; its files are cached per client token and cannot be pre-warmed`,
        );
      }
      throw err;
    }
    refuseBypass(served, path);
    if (served.state !== 'MISS') return { key, bytes: served.size ?? 0, fetched: 0 };
    let fetched = 0;
    const bytes = await consume(served.open(), (n) => {
      fetched += n;
      onBytes(n);
    });
    await committed(served);
    if (!this.hf.files.isCached(key)) throw new LarderError('E_STORAGE', `${r.raw}: ${path} verified but could not be stored`);
    return { key, bytes, fetched };
  }
}
