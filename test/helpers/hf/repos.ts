/**
 * The state of a small local Hugging Face Hub: repositories with commits
 * (each a whole snapshot of files), branches pointing at commits, LFS files
 * (stored by sha256, served from a separate CDN) and regular files (served
 * by the Hub, identified by their git blob id), and gated repositories that
 * serve their files only to one token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gitBlobId } from '../../../daemon/protocols/huggingface/git-blob.js';

export type HubRepoType = 'model' | 'dataset' | 'space';

export interface HubFile {
  path: string;
  body: Buffer;
  /** The git blob id of the file (regular) or of its LFS pointer. */
  oid: string;
  /** The sha256 of an LFS file. */
  lfs?: string;
}

export interface HubRepo {
  type: HubRepoType;
  name: string;
  /** The token a gated repository serves its files to. */
  gatedToken?: string;
  commits: Map<string, Map<string, HubFile>>;
  refs: Map<string, string>;
}

export interface FileSpec {
  path: string;
  body: Buffer | string;
  lfs?: boolean;
}

function pointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
}

export class HubRepos {
  private readonly repos = new Map<string, HubRepo>();

  add(name: string, opts: { type?: HubRepoType; gatedToken?: string } = {}): HubRepo {
    const repo: HubRepo = { type: opts.type ?? 'model', name, commits: new Map(), refs: new Map() };
    if (opts.gatedToken !== undefined) repo.gatedToken = opts.gatedToken;
    this.repos.set(`${repo.type}/${name}`, repo);
    return repo;
  }

  get(type: HubRepoType, name: string): HubRepo | undefined {
    return this.repos.get(`${type}/${name}`);
  }

  /** Commits a whole snapshot onto a branch (default main); returns the commit id. */
  commit(repo: HubRepo, files: FileSpec[], branch = 'main'): string {
    const id = randomBytes(20).toString('hex');
    const snapshot = new Map<string, HubFile>();
    for (const f of files) {
      const body = Buffer.from(f.body);
      if (f.lfs) {
        const sha256 = createHash('sha256').update(body).digest('hex');
        snapshot.set(f.path, { path: f.path, body, oid: gitBlobId(pointer(sha256, body.length)), lfs: sha256 });
      } else {
        snapshot.set(f.path, { path: f.path, body, oid: gitBlobId(body) });
      }
    }
    repo.commits.set(id, snapshot);
    repo.refs.set(branch, id);
    return id;
  }

  /** A branch, tag or commit id resolved to a commit id. */
  resolve(repo: HubRepo, rev: string): string | undefined {
    if (repo.commits.has(rev)) return rev;
    return repo.refs.get(rev);
  }

  /** An LFS file's body by its sha256, in any repository. */
  lfsBody(sha256: string): Buffer | undefined {
    for (const repo of this.repos.values()) {
      for (const snap of repo.commits.values()) for (const f of snap.values()) if (f.lfs === sha256) return f.body;
    }
    return undefined;
  }
}

/** A tree listing entry as the Hub answers it. */
export function treeEntry(f: HubFile): Record<string, unknown> {
  const size = f.body.length;
  const base = { type: 'file', oid: f.oid, size, path: f.path };
  return f.lfs ? { ...base, lfs: { oid: f.lfs, size, pointerSize: 134 }, xetHash: createHash('sha256').update(f.lfs).digest('hex') } : base;
}

/** The tree listing of a directory at a snapshot (recursive: every file and directory below it). */
export function listTree(snapshot: Map<string, HubFile>, dir: string, recursive: boolean): Array<Record<string, unknown>> | undefined {
  const prefix = dir === '' ? '' : `${dir}/`;
  const dirs = new Set<string>();
  const out: Array<Record<string, unknown>> = [];
  for (const f of snapshot.values()) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length).split('/');
    for (let i = 1; i < rest.length; i++) {
      if (!recursive && i > 1) break;
      dirs.add(prefix + rest.slice(0, i).join('/'));
    }
    if (recursive || rest.length === 1) out.push(treeEntry(f));
  }
  if (out.length === 0 && dirs.size === 0) return undefined;
  const dirEntries = [...dirs]
    .sort()
    .map((path) => ({ type: 'directory', oid: createHash('sha1').update(path).digest('hex'), size: 0, path }));
  return [...dirEntries, ...out.sort((a, b) => String(a.path).localeCompare(String(b.path)))];
}
