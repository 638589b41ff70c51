/**
 * Repository files by commit through the blob cache: each verified before
 * commit against the digest its directory's tree listing publishes (the
 * sha256 of an LFS file, the git blob id of a regular one). The Hub's
 * redirect of an LFS file to its CDN is followed by the HTTP client, which
 * drops the Authorization header on the way to another host.
 *
 * Gated repositories: files are fetched anonymously first; only when the Hub
 * refuses (401/403) is the client's own token sent, and then only to the
 * Hub. A gated file is cached under a key that includes a hash of that
 * token (never the token itself), so it is served only to requests bearing
 * the same token; a cached gated file is served again only once the Hub
 * confirmed that token's access (a HEAD, remembered for the remote's TTL;
 * while the Hub is unreachable the token that fetched the file keeps it).
 */
import { createHash } from 'node:crypto';
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Clock } from '../../core/ports.js';
import { drain, isUpstreamFailure } from '../../core/upstream-status.js';
import type { Entry } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import { metaText } from '../contract.js';
import { repoKey, type HfApi } from './api.js';
import { hubError, isGated } from './errors.js';
import { gitBlobChecked } from './git-blob.js';
import type { TreeFile } from './listing.js';
import { encodePath, repoPrefix, type RepoId } from './paths.js';

export interface FileWanted {
  remote: Remote;
  repo: RepoId;
  commit: string;
  path: string;
  /** The client's bearer token, used upstream only if the repository turns out gated. */
  token?: string | undefined;
  /** Already known to be gated (the revision's info said so). */
  gated?: boolean;
}

/** What a response about a file says besides its bytes. */
export interface FileFacts {
  oid: string;
  /** The sha256 of an LFS file. */
  lfs: string | undefined;
  size: number;
  gated: boolean;
}

const MAX_REMEMBERED = 10_000;

export const tokenId = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 32);

export class HfFiles {
  /** `<remote>|<type>/<repo>` of repositories the Hub refused anonymously. */
  private readonly gatedRepos = new Set<string>();
  /** `<token id>|<remote>|<repo>` → time until which the token's access stands confirmed. */
  private readonly access = new Map<string, number>();

  constructor(
    private readonly api: HfApi,
    private readonly blobs: BlobCache,
    private readonly clock: Clock,
  ) {}

  fileKey(w: FileWanted, token?: string): string {
    const scope = token === undefined ? 'file' : `gated:${tokenId(token)}`;
    return `huggingface:${w.remote.name}:${scope}:${repoKey(w.repo)}@${w.commit}/${w.path}`;
  }

  /** Whether an entry is committed in the index. */
  isCached(key: string): boolean {
    return this.blobs.peek(key) !== undefined;
  }

  /** The file: public ones anonymously, gated ones per token. */
  async serve(w: FileWanted): Promise<{ blob: ServedBlob; facts: FileFacts }> {
    const rk = `${w.remote.name}|${repoKey(w.repo)}`;
    if (!w.gated && !this.gatedRepos.has(rk)) {
      try {
        return await this.fetch(w, undefined);
      } catch (err) {
        if (!isGated(err)) throw err;
        remember(this.gatedRepos, rk);
      }
    }
    if (w.token === undefined) {
      throw hubError(
        'GatedRepo',
        `Access to ${repoKey(w.repo)} is restricted: send a token with access to it (Authorization: Bearer)`,
        401,
      );
    }
    const key = this.fileKey(w, w.token);
    // Cached, or being filled for another request (a body answered from memory is indexed a little later).
    if (this.blobs.known(key)) await this.confirm(w, w.token);
    return this.fetch(w, w.token);
  }

  private async fetch(w: FileWanted, token: string | undefined): Promise<{ blob: ServedBlob; facts: FileFacts }> {
    const key = this.fileKey(w, token);
    let planned: TreeFile | undefined;
    const blob = await this.blobs.serve(key, async () => {
      const f = await this.api.treeFile(w.remote, w.repo, w.commit, w.path);
      planned = f;
      const url = this.url(w);
      const s = w.remote.settings;
      return {
        key,
        expected: f.lfs ? [{ algo: 'sha256', hex: f.lfs.oid }] : [],
        expectedSize: f.lfs?.size ?? f.size,
        maxBytes: s.maxArtifactBytes,
        offline: w.remote.offline,
        negativeTtlMs: s.negativeTtlMs,
        meta: {
          protocol: 'huggingface',
          remote: w.remote.name,
          repo: repoKey(w.repo),
          commit: w.commit,
          path: w.path,
          oid: f.oid,
          lfs: f.lfs?.oid ?? '',
          gated: token !== undefined,
        },
        fetch: async (signal) => {
          const headers: Record<string, string> = { accept: '*/*' };
          if (token !== undefined) headers.authorization = `Bearer ${token}`;
          const res = await w.remote.request({ url, headers, signal, withAuth: false });
          if (res.status === 401 || res.status === 403) {
            drain(res);
            throw hubError('GatedRepo', `Access to ${repoKey(w.repo)} is restricted`, res.status);
          }
          if (res.status !== 200 || f.lfs) return res;
          return { ...res, body: gitBlobChecked(res.body, f.size, f.oid, key) };
        },
      };
    });
    return { blob, facts: await this.facts(w, key, planned, token !== undefined) };
  }

  /** The digests of a served file: from the plan, the stored entry, or the (cached) listing. */
  private async facts(w: FileWanted, key: string, planned: TreeFile | undefined, gated: boolean): Promise<FileFacts> {
    const meta = this.blobs.peek(key)?.meta;
    if (!planned && meta && typeof meta.oid === 'string') {
      const lfs = typeof meta.lfs === 'string' && meta.lfs !== '' ? meta.lfs : undefined;
      return { oid: meta.oid, lfs, size: this.blobs.peek(key)?.size ?? 0, gated };
    }
    const f = planned ?? (await this.api.treeFile(w.remote, w.repo, w.commit, w.path));
    return { oid: f.oid, lfs: f.lfs?.oid, size: f.lfs?.size ?? f.size, gated };
  }

  private url(w: FileWanted): string {
    return w.remote.resolve(`${repoPrefix(w.repo)}resolve/${w.commit}/${encodePath(w.path)}`);
  }

  /** Asks the Hub whether a token still reaches a gated file it fetched before (remembered for the TTL). */
  private async confirm(w: FileWanted, token: string): Promise<void> {
    const id = `${tokenId(token)}|${w.remote.name}|${repoKey(w.repo)}`;
    const until = this.access.get(id);
    const now = this.clock.now();
    if (until !== undefined && until > now) return;
    let status: number;
    try {
      const res = await w.remote.request({
        url: this.url(w),
        method: 'HEAD',
        headers: { authorization: `Bearer ${token}` },
        withAuth: false,
      });
      drain(res);
      status = res.status;
    } catch (err) {
      if (err instanceof LarderError && isUpstreamFailure(err)) return; // the token that fetched it keeps it meanwhile
      throw err;
    }
    if (status === 401 || status === 403) {
      this.access.delete(id);
      throw hubError('GatedRepo', `Access to ${repoKey(w.repo)} is restricted: this token has no access to it`, status);
    }
    // A failing Hub (5xx, rate limit) leaves the file to the token that fetched it, unremembered;
    // only a 2xx/3xx confirms access. A 404/410 means the Hub no longer serves it; anything else is no confirmation.
    if (status >= 500 || status === 429) return;
    if (status >= 400) {
      this.access.delete(id);
      if (status === 404 || status === 410) throw hubError('EntryNotFound', `${w.path} is not served by ${repoKey(w.repo)}`, 404);
      throw hubError('GatedRepo', `Access to ${repoKey(w.repo)} could not be confirmed for this token (the Hub answered ${status})`, 403);
    }
    if (this.access.size >= MAX_REMEMBERED) this.access.clear();
    this.access.set(id, now + w.remote.settings.ttlMs);
  }
}

function remember(set: Set<string>, value: string): void {
  if (set.size >= MAX_REMEMBERED) set.clear();
  set.add(value);
}

/** The file an entry holds (scrub repair); undefined for gated files (no token is kept to fetch them again). */
export function fileOfEntry(entry: Entry): { remote: string; repo: RepoId; commit: string; path: string } | undefined {
  if (entry.meta?.gated === true) return undefined;
  const remote = metaText(entry, 'remote');
  const repo = metaText(entry, 'repo');
  const commit = metaText(entry, 'commit');
  const path = metaText(entry, 'path');
  if (!remote || !repo || !commit || !path) return undefined;
  const slash = repo.indexOf('/');
  const type = repo.slice(0, slash);
  if (type !== 'model' && type !== 'dataset' && type !== 'space') return undefined;
  return { remote, repo: { type, name: repo.slice(slash + 1) }, commit, path };
}
