/**
 * Hub paths below the `/hf` mount (`/hf/<remote>/…` for a named remote):
 *
 *   /<repo>/resolve/<rev>/<path>                 a model file
 *   /datasets/<repo>/resolve/<rev>/<path>        a dataset file (`spaces/` alike)
 *   /api/models/<repo>[/revision/<rev>]          repository info (datasets, spaces alike)
 *   /api/models/<repo>/tree/<rev>[/<dir>]        a file listing
 *   /api/models/<repo>/paths-info/<rev>          (POST) information on given paths
 *
 * `<repo>` is `<name>` or `<namespace>/<name>`. Every segment is decoded once
 * and checked (no `..`, NUL, control characters, backslashes or encoded
 * slashes in names), so nothing hostile reaches a cache key or an upstream URL.
 */
import { LarderError } from '../../core/errors.js';
import { decodePathSegment } from '../adapter.js';

export type RepoType = 'model' | 'dataset' | 'space';

export interface RepoId {
  type: RepoType;
  /** `name` or `namespace/name`. */
  name: string;
}

export type HfRoute =
  | { kind: 'resolve'; remote: string | undefined; repo: RepoId; rev: string; path: string }
  | { kind: 'info'; remote: string | undefined; repo: RepoId; rev: string | undefined }
  | { kind: 'tree'; remote: string | undefined; repo: RepoId; rev: string; path: string }
  | { kind: 'paths-info'; remote: string | undefined; repo: RepoId; rev: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REV = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$/;
export const COMMIT = /^[0-9a-f]{40}$/;
const MAX_PATH = 1024;
const MAX_DEPTH = 64;
const PLURAL: Record<string, RepoType> = { models: 'model', datasets: 'dataset', spaces: 'space' };

function bad(why: string): LarderError {
  return new LarderError('E_BAD_NAME', why);
}

function decode(seg: string): string {
  return decodePathSegment(seg, /[\u0000-\u001f\u007f\\]/, 'control characters or backslashes in a path');
}

/** Whether a namespace or repository name is well-formed. */
export function isRepoName(n: string): boolean {
  return NAME.test(n) && !n.includes('..');
}

function name(seg: string): string {
  const n = decode(seg);
  if (!isRepoName(n)) throw bad(`not a valid repository name: ${JSON.stringify(n.slice(0, 100))}`);
  return n;
}

/** A branch, tag or commit (`refs/pr/1` arrives encoded as one segment). */
export function checkRev(raw: string): string {
  if (!REV.test(raw) || raw.includes('..') || raw.includes('//') || raw.endsWith('/')) {
    throw bad(`not a valid revision: ${JSON.stringify(raw.slice(0, 100))}`);
  }
  return raw;
}

/** A file path inside a repository: segments joined by "/", each checked. */
export function checkFilePath(segs: string[], allowEmpty = false): string {
  if (segs.length === 0 && allowEmpty) return '';
  if (segs.length === 0 || segs.length > MAX_DEPTH) throw bad('a file path of 1 to 64 segments is expected');
  const parts = segs.map(decode);
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..' || p.includes('/')) throw bad('empty, "." or ".." segments in a file path');
  }
  const path = parts.join('/');
  if (path.length > MAX_PATH) throw bad(`file paths are limited to ${MAX_PATH} characters`);
  return path;
}

/** The upstream path prefix of a repository: `datasets/org/name/`, `org/name/` for models. */
export function repoPrefix(repo: RepoId): string {
  return `${repo.type === 'model' ? '' : `${repo.type}s/`}${repo.name}/`;
}

/** Percent-encodes a checked file path segment by segment. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function repoAt(segs: string[], type: RepoType, marker: (s: string | undefined) => boolean): { repo: RepoId; rest: string[] } {
  // `<name>/<marker>` or `<namespace>/<name>/<marker>`.
  const one = segs.length === 1 || marker(segs[1]);
  const n = one ? 1 : 2;
  if (segs.length < n) throw new LarderError('E_NOT_FOUND', 'no repository in the path');
  return { repo: { type, name: segs.slice(0, n).map(name).join('/') }, rest: segs.slice(n) };
}

const API_ACTIONS = new Set(['revision', 'tree', 'paths-info']);

function apiRoute(remote: string | undefined, segs: string[]): HfRoute {
  const type = PLURAL[segs[0] ?? ''];
  if (!type) throw new LarderError('E_NOT_FOUND', 'only the models, datasets and spaces APIs are served');
  const body = segs.slice(1);
  if (body.length === 0) throw new LarderError('E_NOT_FOUND', 'listing repositories is not served by a mirror');
  const { repo, rest } = repoAt(body, type, (s) => s !== undefined && API_ACTIONS.has(s) && body.length >= 3);
  if (rest.length === 0) return { kind: 'info', remote, repo, rev: undefined };
  const [action, rawRev, ...more] = rest;
  if (rawRev === undefined) throw new LarderError('E_NOT_FOUND', `no revision after ${action}`);
  const rev = checkRev(decode(rawRev));
  if (action === 'revision' && more.length === 0) return { kind: 'info', remote, repo, rev };
  if (action === 'paths-info' && more.length === 0) return { kind: 'paths-info', remote, repo, rev };
  if (action === 'tree') return { kind: 'tree', remote, repo, rev, path: checkFilePath(more, true) };
  throw new LarderError('E_NOT_FOUND', 'unknown Hub API path');
}

/** Parses a path below the mount; `isRemote` says whether a first segment names a huggingface remote. */
export function parseHfPath(path: string, isRemote: (name: string) => boolean): HfRoute {
  if (path.length > 4096) throw bad('path too long');
  if (!path.startsWith('/')) throw bad('path must start with /');
  let segs = path.slice(1).split('/');
  if (segs.length > MAX_DEPTH + 8) throw bad('path too deep');
  let remote: string | undefined;
  if (segs.length > 1 && isRemote(segs[0]!)) {
    remote = segs[0]!;
    segs = segs.slice(1);
  }
  if (segs[0] === 'api') return apiRoute(remote, segs.slice(1));
  const type = segs[0] === 'datasets' ? 'dataset' : segs[0] === 'spaces' ? 'space' : 'model';
  const body = type === 'model' ? segs : segs.slice(1);
  const { repo, rest } = repoAt(body, type, (s) => s === 'resolve');
  const [action, rawRev, ...file] = rest;
  if (action !== 'resolve' || rawRev === undefined) throw new LarderError('E_NOT_FOUND', 'expected /<repo>/resolve/<revision>/<path>');
  return { kind: 'resolve', remote, repo, rev: checkRev(decode(rawRev)), path: checkFilePath(file) };
}
