/**
 * Hub JSON as Larder keeps and serves it: tree entries (what a file's
 * verification needs), the Xet fields removed from every answer (Larder
 * cannot proxy Xet storage, so nothing may send a client there), and the
 * tree API's pages collected into one answer (`Link: rel="next"`).
 */
import { Readable } from 'node:stream';
import { LarderError } from '../../core/errors.js';
import { readBody } from '../../core/read-body.js';
import type { UpstreamResponse } from '../../core/ports.js';
import { header } from '../../core/upstream-status.js';
import type { Remote } from '../../upstream/remote.js';

/** One file of a tree listing, as the Hub publishes it. */
export interface TreeFile {
  path: string;
  /** Git blob id (sha1) of the file, or of its LFS pointer. */
  oid: string;
  size: number;
  lfs?: { oid: string; size: number };
}

const SHA1 = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const MAX_PAGES = 1000;
const MAX_LISTING = 256 * 1024 * 1024;

/** Removes every `xet…` field (xetHash, xetEnabled…) at any depth. */
export function withoutXet(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutXet);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!/^xet/i.test(k)) out[k] = withoutXet(v);
  return out;
}

export function parseJson(raw: Buffer, what: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new LarderError('E_UPSTREAM', `${what}: the upstream answered invalid JSON`);
  }
}

/** The files of a tree listing whose digests are well-formed, by path. */
export function treeFiles(listing: unknown): Record<string, TreeFile> {
  const out: Record<string, TreeFile> = {};
  if (!Array.isArray(listing)) return out;
  for (const item of listing as unknown[]) {
    if (item === null || typeof item !== 'object') continue;
    const e = item as Record<string, unknown>;
    if (e.type !== 'file' || typeof e.path !== 'string' || typeof e.oid !== 'string' || !SHA1.test(e.oid)) continue;
    if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) continue;
    const file: TreeFile = { path: e.path, oid: e.oid, size: e.size };
    const lfs = e.lfs as Record<string, unknown> | undefined;
    if (lfs && typeof lfs === 'object') {
      if (typeof lfs.oid !== 'string' || !SHA256.test(lfs.oid) || typeof lfs.size !== 'number') continue;
      file.lfs = { oid: lfs.oid, size: lfs.size };
    }
    out[e.path] = file;
  }
  return out;
}

/** The `rel="next"` target of a Link header. */
function nextLink(link: string | undefined): string | undefined {
  for (const part of (link ?? '').split(',')) {
    const m = /^\s*<([^>]+)>\s*;(.*)$/.exec(part);
    if (m && /rel="?next"?/.test(m[2]!)) return m[1];
  }
  return undefined;
}

/**
 * Fetches a tree listing and every following page (each on the remote's own
 * origin), answering one JSON array as if the upstream had sent it whole.
 * A non-200 first page is returned as it is.
 */
export async function fetchAllPages(remote: Remote, url: string, signal: AbortSignal): Promise<UpstreamResponse> {
  const items: unknown[] = [];
  let next: string | undefined = url;
  let bytes = 0;
  for (let page = 0; next !== undefined; page++) {
    if (page >= MAX_PAGES) throw new LarderError('E_UPSTREAM', `${url}: more than ${MAX_PAGES} pages`);
    const res = await remote.request({ url: next, headers: { accept: 'application/json' }, signal, withAuth: false });
    if (page === 0 && res.status !== 200) return res;
    if (res.status !== 200) {
      res.body.resume();
      throw new LarderError('E_UPSTREAM', `${url}: page ${page + 1} answered ${res.status}`);
    }
    const raw = await readBody(res, MAX_LISTING - bytes, url);
    bytes += raw.length;
    const list = parseJson(raw, url);
    if (!Array.isArray(list)) throw new LarderError('E_UPSTREAM', `${url}: a tree listing is not an array`);
    items.push(...(list as unknown[]));
    const target = nextLink(header(res, 'link'));
    const link: string | undefined = target === undefined ? undefined : new URL(target, next).toString();
    if (link !== undefined && !remote.owns(link)) throw new LarderError('E_UPSTREAM', `${url}: a next page on another host`);
    next = link;
  }
  const body = Buffer.from(JSON.stringify(items));
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Readable.from([body]), url };
}
