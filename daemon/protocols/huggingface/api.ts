/**
 * The Hub's metadata as mutable and immutable documents. A branch or tag is
 * resolved to a commit through `/api/<type>s/<repo>/revision/<rev>` (kept for
 * the remote's TTL, revalidated, served stale when the upstream fails);
 * listings and path information at a commit never change and are kept as
 * long as the cache keeps them. Every request here is anonymous: a gated
 * repository's metadata is public on the Hub, only its files are not.
 */
import { createHash } from 'node:crypto';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Validators } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import { hubError, type HubErrorCode } from './errors.js';
import { fetchAllPages, parseJson, treeFiles, withoutXet, type TreeFile } from './listing.js';
import { COMMIT, encodePath, type RepoId } from './paths.js';

const DERIVE = 'hf-1';
/** Listings at a commit cannot change: kept until evicted. */
const AT_COMMIT_TTL = 10 * 365 * 24 * 3600 * 1000;
const JSON_TYPE = 'application/json; charset=utf-8';

/** A branch, tag or commit resolved to its commit. */
export interface Resolved {
  commit: string;
  /** The Hub's `gated` field ("auto", "manual") when the repository is gated. */
  gated: boolean;
  /** How the resolution was answered (STALE when the upstream failed). */
  state: ServedDocument['state'];
}

export const repoKey = (repo: RepoId): string => `${repo.type}/${repo.name}`;

function apiBase(repo: RepoId): string {
  return `api/${repo.type}s/${repo.name}`;
}

/** Maps the document cache's "absent" and "refused" answers to the Hub's codes. */
async function mapped<T>(p: Promise<T>, absent: HubErrorCode, what: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (!(err instanceof LarderError)) throw err;
    if (err.code === 'E_NOT_FOUND') throw hubError(absent, `${what} not found`);
    if (err.code === 'E_UNAUTHORIZED' || err.code === 'E_FORBIDDEN') throw hubError('RepoNotFound', `${what}: repository not found`, 401);
    throw err;
  }
}

export class HfApi {
  constructor(private readonly documents: DocumentCache) {}

  private getJson(remote: Remote, url: string) {
    return (validators: Validators, signal: AbortSignal) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (validators.etag) headers['if-none-match'] = validators.etag;
      return remote.request({ url, headers, signal, withAuth: false });
    };
  }

  /** Repository info at a revision (`rev` undefined: the default branch), as the client asked for it. */
  info(remote: Remote, repo: RepoId, rev: string | undefined, forceRefresh = false): Promise<ServedDocument> {
    const s = remote.settings;
    const url = remote.resolve(rev === undefined ? apiBase(repo) : `${apiBase(repo)}/revision/${encodeURIComponent(rev)}`);
    const what = `${repoKey(repo)}@${rev ?? ''}`;
    const doc = this.documents.get(
      {
        key: `huggingface:${remote.name}:rev:${what}`,
        ttlMs: rev !== undefined && COMMIT.test(rev) ? AT_COMMIT_TTL : s.ttlMs,
        negativeTtlMs: s.negativeTtlMs,
        offline: remote.offline,
        deriveTag: DERIVE,
        fetch: this.getJson(remote, url),
        derive: (raw) => {
          const info = withoutXet(parseJson(raw, url)) as Record<string, unknown> | null;
          const sha = info?.sha;
          if (typeof sha !== 'string' || !COMMIT.test(sha)) throw new LarderError('E_UPSTREAM', `${url}: no commit in the answer`);
          const gated = info?.gated === 'auto' || info?.gated === 'manual' || info?.gated === true;
          return {
            variants: { json: { body: Buffer.from(JSON.stringify(info)), mediaType: JSON_TYPE } },
            meta: { sha, gated },
          };
        },
      },
      { forceRefresh },
    );
    return mapped(doc, rev === undefined ? 'RepoNotFound' : 'RevisionNotFound', what);
  }

  /** The commit a revision names (a commit names itself, without asking anyone). */
  async resolve(remote: Remote, repo: RepoId, rev: string, forceRefresh = false): Promise<Resolved> {
    if (COMMIT.test(rev)) return { commit: rev, gated: false, state: 'HIT' };
    const doc = await this.info(remote, repo, rev, forceRefresh);
    return { commit: String(doc.entry.meta?.sha), gated: doc.entry.meta?.gated === true, state: doc.state };
  }

  /** A tree listing at a commit, every page in one array. */
  tree(remote: Remote, repo: RepoId, commit: string, dir: string, recursive: boolean, expand: boolean): Promise<ServedDocument> {
    const s = remote.settings;
    const q = `recursive=${recursive}&expand=${expand}`;
    const url = remote.resolve(`${apiBase(repo)}/tree/${commit}${dir ? `/${encodePath(dir)}` : ''}?${q}`);
    const doc = this.documents.get({
      key: `huggingface:${remote.name}:tree:${repoKey(repo)}@${commit}/${dir}?${q}`,
      ttlMs: AT_COMMIT_TTL,
      negativeTtlMs: s.negativeTtlMs,
      offline: remote.offline,
      deriveTag: DERIVE,
      fetch: (_validators, signal) => fetchAllPages(remote, url, signal),
      derive: (raw) => {
        const listing = withoutXet(parseJson(raw, url));
        return {
          variants: {
            json: { body: Buffer.from(JSON.stringify(listing)), mediaType: JSON_TYPE },
            files: { body: Buffer.from(JSON.stringify(treeFiles(listing))), mediaType: 'application/json' },
          },
        };
      },
    });
    return mapped(doc, 'EntryNotFound', `${repoKey(repo)}@${commit}/${dir}`);
  }

  /** A file's entry in its directory's listing at a commit (EntryNotFound when not listed). */
  async treeFile(remote: Remote, repo: RepoId, commit: string, path: string): Promise<TreeFile> {
    const slash = path.lastIndexOf('/');
    const doc = await this.tree(remote, repo, commit, slash < 0 ? '' : path.slice(0, slash), false, false);
    const ref = doc.entry.variants?.files;
    const files = ref ? (JSON.parse((await this.documents.variant(ref)).toString('utf8')) as Record<string, TreeFile>) : {};
    if (!Object.hasOwn(files, path)) throw hubError('EntryNotFound', `${path} not found in ${repoKey(repo)} at ${commit}`);
    return files[path]!;
  }

  /**
   * Path information answered from the directory listings at a commit (kept
   * for every file served or pre-warmed): what paths-info says of the paths,
   * without the `expand` extras. Used when the upstream cannot be asked.
   */
  async pathsFromTrees(remote: Remote, repo: RepoId, commit: string, paths: string[]): Promise<Buffer> {
    const out: unknown[] = [];
    for (const path of paths) {
      const slash = path.lastIndexOf('/');
      const doc = await this.tree(remote, repo, commit, slash < 0 ? '' : path.slice(0, slash), false, false);
      const ref = doc.entry.variants?.json;
      const listing = ref ? (JSON.parse((await this.documents.variant(ref)).toString('utf8')) as unknown) : [];
      if (!Array.isArray(listing)) continue;
      out.push(...(listing as Array<{ path?: unknown }>).filter((e) => e?.path === path));
    }
    return Buffer.from(JSON.stringify(out));
  }

  /** Path information at a commit for a checked request body (`{paths, expand}`). */
  pathsInfo(remote: Remote, repo: RepoId, commit: string, paths: string[], expand: boolean): Promise<ServedDocument> {
    const s = remote.settings;
    const url = remote.resolve(`${apiBase(repo)}/paths-info/${commit}`);
    const body = Buffer.from(JSON.stringify({ paths, expand }));
    const id = createHash('sha256').update(body).digest('hex').slice(0, 32);
    const doc = this.documents.get({
      key: `huggingface:${remote.name}:paths:${repoKey(repo)}@${commit}:${id}`,
      ttlMs: AT_COMMIT_TTL,
      negativeTtlMs: s.negativeTtlMs,
      offline: remote.offline,
      deriveTag: DERIVE,
      fetch: (_validators, signal) =>
        remote.request({
          url,
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json' },
          body,
          signal,
          withAuth: false,
        }),
      derive: (raw) => ({
        variants: { json: { body: Buffer.from(JSON.stringify(withoutXet(parseJson(raw, url)))), mediaType: JSON_TYPE } },
      }),
    });
    return mapped(doc, 'RevisionNotFound', `${repoKey(repo)}@${commit}`);
  }
}
