/**
 * The npm packument side: packuments through the document cache (full and
 * abbreviated forms by Accept, per-form ETag, Vary: Accept, versions the
 * policy withholds left out), version documents, dist-tags, the registry's
 * signing keys, and the dist map a tarball miss reads its URL and digests
 * from.
 */
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError, notFound } from '../../core/errors.js';
import { withheldEtag } from '../../core/policy/index.js';
import type { Entry } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import { json, type ProtoRequest, type ProtoResponse } from '../adapter.js';
import { upstreamDocPath } from './names.js';
import { ABBREV_TYPE, derivePackument, wantsAbbreviated, type DistInfo } from './packument.js';
import { type NpmPolicy, withholdVersions } from './policy.js';
import type { NpmSignatures } from './signatures.js';

const DERIVE_VERSION = 'npm-2';

export interface NpmPackumentOptions {
  /** e.g. "http://127.0.0.1:7420" (no trailing slash). */
  publicUrl(): string;
  documents: DocumentCache;
  policy: NpmPolicy;
  signatures: NpmSignatures;
  /** The remote serving a package (by scope), or the default one. */
  remoteFor(name: string | undefined): Remote;
}

export class NpmPackuments {
  /** Last-Modified values by entry (see lastModified). */
  private readonly httpDates = new WeakMap<Entry, string>();

  constructor(private readonly opts: NpmPackumentOptions) {}

  private remoteFor(name: string | undefined): Remote {
    return this.opts.remoteFor(name);
  }

  /** The packument of `name` through the document cache. */
  document(name: string, forceRefresh = false, remote = this.remoteFor(name)): Promise<ServedDocument> {
    const mirrorBase = `${this.opts.publicUrl()}/npm/`;
    const s = remote.settings;
    return this.opts.documents.get(
      {
        key: docKey(remote, name),
        ttlMs: s.ttlMs,
        negativeTtlMs: s.negativeTtlMs,
        offline: remote.offline,
        deriveTag: `${DERIVE_VERSION}|${mirrorBase}`,
        fetch: (validators, signal) => {
          const headers: Record<string, string> = { accept: 'application/json' };
          if (validators.etag) headers['if-none-match'] = validators.etag;
          if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
          return remote.request({ url: remote.resolve(upstreamDocPath(name)), headers, signal });
        },
        derive: (raw) => {
          // Resolved once per packument, not once per version: `file` is a checked tarball name (isTarballFile).
          const bases = new Map<string, string>();
          const base = (n: string): string => bases.get(n) ?? bases.set(n, remote.resolve(`${n}/-/`)).get(n)!;
          return derivePackument(raw, {
            name,
            mirrorBase,
            owns: (u) => remote.owns(u),
            conventional: (n, file) => base(n) + encodeURIComponent(file),
          });
        },
      },
      { forceRefresh },
    );
  }

  /** The registry's signing keys (`npm audit signatures` asks the configured registry), cached with the remote's TTL. */
  async registryKeys(): Promise<ProtoResponse> {
    const served = await this.opts.signatures.keysDocument(this.remoteFor(undefined));
    const ref = served.entry.variants?.keys;
    if (!ref) throw new LarderError('E_INTERNAL', 'the npm registry keys have no stored form', { expose: false });
    return {
      status: 200,
      headers: { 'content-type': 'application/json', etag: ref.etag, 'cache-control': 'public, max-age=300' },
      body: { type: 'buffer', data: await this.opts.documents.variant(ref) },
      cache: served.state,
    };
  }

  async packument(name: string, req: ProtoRequest): Promise<ProtoResponse> {
    const remote = this.remoteFor(name);
    const served = await this.document(name, false, remote);
    const abbreviated = wantsAbbreviated(typeof req.headers.accept === 'string' ? req.headers.accept : undefined);
    const ref = served.entry.variants?.[abbreviated ? 'abbrev' : 'full'];
    if (!ref) throw new LarderError('E_INTERNAL', `packument ${name} has no derived forms`, { expose: false });
    let data = await this.opts.documents.variant(ref);
    let etag = ref.etag;
    const { policy } = this.opts;
    const withheld = policy.leavesWhole(remote.name, name, served) ? undefined : await policy.withheld(remote.name, name, served);
    if (withheld) {
      etag = withheldEtag(etag, withheld);
      const raw = data;
      data = this.opts.policy.filtered(etag, () => {
        const doc = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        return Buffer.from(JSON.stringify(withholdVersions(doc, withheld, (v, d) => this.opts.policy.explain(name, v, d))));
      });
    }
    return {
      status: 200,
      headers: {
        'content-type': abbreviated ? ABBREV_TYPE : 'application/json',
        etag,
        vary: 'Accept',
        'cache-control': 'public, max-age=300',
        'last-modified': this.lastModified(served.entry),
      },
      body: { type: 'buffer', data },
      cache: served.state,
    };
  }

  /**
   * An entry's Last-Modified value, formatted once per entry: the index hands out the same
   * entry object until it changes (a refresh stores a new one), so a warm hit formats no date.
   */
  private lastModified(entry: Entry): string {
    let value = this.httpDates.get(entry);
    if (value === undefined) {
      value = new Date(entry.fetchedAt).toUTCString();
      this.httpDates.set(entry, value);
    }
    return value;
  }

  /** The parsed full packument (rewritten). */
  async fullDoc(name: string): Promise<{ doc: Record<string, unknown>; served: ServedDocument }> {
    const served = await this.document(name);
    const ref = served.entry.variants?.full;
    if (!ref) throw new LarderError('E_INTERNAL', `packument ${name} has no full form`, { expose: false });
    return { doc: JSON.parse((await this.opts.documents.variant(ref)).toString('utf8')) as Record<string, unknown>, served };
  }

  /** The full packument as clients may see it (withheld versions left out). */
  private async clientDoc(name: string): Promise<{ doc: Record<string, unknown>; served: ServedDocument }> {
    const { doc, served } = await this.fullDoc(name);
    const withheld = await this.opts.policy.withheld(this.remoteFor(name).name, name, served);
    if (!withheld) return { doc, served };
    return { doc: withholdVersions(doc, withheld, (v, d) => this.opts.policy.explain(name, v, d)), served };
  }

  async versionDoc(name: string, spec: string): Promise<ProtoResponse> {
    const { doc, served } = await this.clientDoc(name);
    const tags = (doc['dist-tags'] ?? {}) as Record<string, string>;
    const versions = (doc.versions ?? {}) as Record<string, unknown>;
    const version = Object.hasOwn(versions, spec) ? spec : Object.hasOwn(tags, spec) ? tags[spec] : undefined;
    if (version === undefined || !Object.hasOwn(versions, version)) throw notFound(`${name}@${spec}`);
    return { ...json(200, versions[version]), cache: served.state };
  }

  async distTags(name: string): Promise<ProtoResponse> {
    const { doc, served } = await this.clientDoc(name);
    return { ...json(200, doc['dist-tags'] ?? {}), cache: served.state };
  }

  /** The packument cache key. */
  documentKey(name: string): string {
    return docKey(this.remoteFor(name), name);
  }

  /** Finds a tarball's upstream URL and digests, refreshing the packument once if needed. */
  async distInfo(name: string, file: string): Promise<DistInfo> {
    for (const force of [false, true]) {
      const served = await this.document(name, force);
      const ref = served.entry.variants?.dist;
      if (ref) {
        const map = JSON.parse((await this.opts.documents.variant(ref)).toString('utf8')) as Record<string, DistInfo>;
        const info = map[file];
        if (info) return info;
      }
      if (served.state !== 'HIT') break;
    }
    throw notFound(`tarball ${file} of ${name}`);
  }
}

/** The packument cache key of `name` on `remote`. */
function docKey(remote: Remote, name: string): string {
  return `npm:${remote.name}:doc:${name}`;
}

/** A tarball's conventional upstream URL: `<registry>/<name>/-/<file>`. */
export function tarballUrl(remote: Remote, name: string, file: string): string {
  return remote.resolve(`${name}/-/${encodeURIComponent(file)}`);
}
