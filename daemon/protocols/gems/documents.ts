/**
 * The mutable documents of a gems remote, through the document cache:
 * the compact index (`/versions`, `/names`, `/info/<gem>`, kept byte for
 * byte as the upstream sent them, with their md5 for the ETag Bundler
 * checks) and the full index files (`specs.4.8.gz` …, `quick/Marshal.4.8/…`).
 *
 * `/versions` lists the md5 of every info file; an info file cached before
 * the upstream changed it would not match, so a cached info file whose md5
 * differs from the one a fresh `/versions` lists is fetched again. Both
 * are append-only: revalidating one fetches only its new tail (append.ts).
 */
import { createHash } from 'node:crypto';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import type { Derived, Validators } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import { fetchAppended, type HeldCopy } from './append.js';
import { parseInfo, versionsMd5s, type InfoLine } from './compact.js';

const DERIVE_VERSION = 'gems-1';
const TEXT = 'text/plain; charset=utf-8';
const BINARY = 'application/octet-stream';
const JSON_TYPE = 'application/json';
/** Held copies remembered at most (then forgotten all at once; each is only a reference to a stored body). */
const MAX_HELD = 20_000;

export type DocKind = 'versions' | 'names' | 'info' | 'index' | 'quick' | 'times';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function derive(kind: DocKind, raw: Buffer): Derived {
  if (kind === 'times') return { variants: { body: { body: Buffer.from(JSON.stringify(apiTimes(raw))), mediaType: JSON_TYPE } } };
  const variants: Derived['variants'] = { body: { body: raw, mediaType: kind === 'index' || kind === 'quick' ? BINARY : TEXT } };
  if (kind === 'versions') variants.md5s = { body: Buffer.from(JSON.stringify(versionsMd5s(raw.toString('utf8')))), mediaType: JSON_TYPE };
  return { variants, meta: { protocol: 'gems', md5: md5(raw) } };
}

export class GemsDocuments {
  /** The last parsed md5 map of a `/versions`, by its variant digest (parsing a 20 MB list once per change). */
  private md5Cache: { digest: string; map: Record<string, string> } | undefined;
  /** The copies held of append-only files, by key: revalidated by fetching only their new tail (append.ts). */
  private readonly held = new Map<string, HeldCopy>();

  constructor(private readonly documents: DocumentCache) {}

  key(remote: Remote, kind: DocKind, name = ''): string {
    return kind === 'versions' || kind === 'names' ? `gems:${remote.name}:${kind}` : `gems:${remote.name}:${kind}:${name}`;
  }

  /** Upstream path of a document (names are checked by names.ts before they get here). */
  private upstreamPath(kind: DocKind, name: string): string {
    if (kind === 'info') return `info/${encodeURIComponent(name)}`;
    if (kind === 'quick') return `quick/Marshal.4.8/${encodeURIComponent(name)}.gemspec.rz`;
    if (kind === 'index') return encodeURIComponent(name);
    if (kind === 'times') return `api/v1/versions/${encodeURIComponent(name)}.json`;
    return kind;
  }

  async get(remote: Remote, kind: DocKind, name = '', forceRefresh = false): Promise<ServedDocument> {
    const s = remote.settings;
    const url = remote.resolve(this.upstreamPath(kind, name));
    const key = this.key(remote, kind, name);
    const served = await this.documents.get(
      {
        key,
        ttlMs: s.ttlMs,
        negativeTtlMs: s.negativeTtlMs,
        offline: remote.offline,
        deriveTag: DERIVE_VERSION,
        fetch: (validators: Validators, signal: AbortSignal) => fetchAppended(remote, url, this.held.get(key), validators, signal),
        derive: (raw) => derive(kind, raw),
      },
      { forceRefresh },
    );
    const ref = served.entry.variants?.body;
    const etag = served.entry.validators?.etag;
    if ((kind === 'versions' || kind === 'info') && ref && etag) {
      if (this.held.size >= MAX_HELD && !this.held.has(key)) this.held.clear();
      this.held.set(key, { etag, body: () => this.documents.variant(ref) });
    }
    return served;
  }

  /** An info file, fetched again when a fresh `/versions` lists another md5 for it. */
  async info(remote: Remote, name: string, forceRefresh = false): Promise<ServedDocument> {
    const served = await this.get(remote, 'info', name, forceRefresh);
    if (served.state !== 'HIT') return served;
    const listed = await this.listedMd5(remote, name);
    return listed !== undefined && listed !== served.entry.meta?.md5 ? this.get(remote, 'info', name, true) : served;
  }

  /** The md5 a fresh cached `/versions` lists for a gem (nothing is fetched for it). */
  private async listedMd5(remote: Remote, name: string): Promise<string | undefined> {
    const key = this.key(remote, 'versions');
    if (!this.documents.isFresh(key)) return undefined;
    const ref = (await this.get(remote, 'versions')).entry.variants?.md5s;
    if (!ref) return undefined;
    if (this.md5Cache?.digest !== ref.digest) {
      const map = JSON.parse((await this.documents.variant(ref)).toString('utf8')) as Record<string, string>;
      this.md5Cache = { digest: ref.digest, map };
    }
    return Object.hasOwn(this.md5Cache.map, name) ? this.md5Cache.map[name] : undefined;
  }

  /** A document's bytes as the upstream sent them. */
  async body(served: ServedDocument): Promise<Buffer> {
    const ref = served.entry.variants?.body;
    return ref ? this.documents.variant(ref) : this.documents.raw(served.entry);
  }

  /**
   * When each version of a gem was published (`<version>[-<platform>]` → ms), from the
   * RubyGems API (`/api/v1/versions/<gem>.json` `created_at`; the compact index has no times).
   */
  async times(remote: Remote, name: string): Promise<Record<string, number>> {
    return JSON.parse((await this.body(await this.get(remote, 'times', name))).toString('utf8')) as Record<string, number>;
  }

  /** The parsed lines of a gem's info file. */
  async infoLines(remote: Remote, name: string, forceRefresh = false): Promise<{ served: ServedDocument; lines: InfoLine[] }> {
    const served = await this.info(remote, name, forceRefresh);
    return { served, lines: parseInfo((await this.body(served)).toString('utf8')) };
  }
}

/** `<version>[-<platform>]` → `created_at` (ms) of an API versions list; entries without a time are left out. */
function apiTimes(raw: Buffer): Record<string, number> {
  const out: Record<string, number> = {};
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return out;
  }
  for (const v of Array.isArray(doc) ? doc : []) {
    if (typeof v !== 'object' || v === null) continue;
    const { number, platform, created_at } = v as Record<string, unknown>;
    const t = typeof created_at === 'string' ? Date.parse(created_at) : Number.NaN;
    if (typeof number !== 'string' || !Number.isFinite(t)) continue;
    out[typeof platform === 'string' && platform !== 'ruby' ? `${number}-${platform}` : number] = t;
  }
  return out;
}
