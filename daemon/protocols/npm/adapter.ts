/**
 * The npm registry adapter: packuments (full/abbreviated by Accept, per-form
 * ETag, Vary: Accept), version documents, dist-tags, tarballs verified by
 * dist.integrity (sha512, else shasum), pass-through endpoints, and clear
 * errors for writes on this read-only mirror.
 */
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import type { BlobCache, ImmutableRequest, ServedBlob } from '../../core/blob-cache.js';
import { LarderError, notFound } from '../../core/errors.js';
import { resumeHeaders } from '../../core/served.js';
import { parseSri } from '../../core/digest.js';
import type { Entry, ExpectedDigest } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import { json, type ProtoRequest, type ProtoResponse, type ProtocolAdapter, type RenderedError } from '../adapter.js';
import { checkName, decodeName, parseNpmPath, scopeOf, upstreamDocPath } from './names.js';
import { ABBREV_TYPE, derivePackument, wantsAbbreviated, type DistInfo } from './packument.js';
import { passthrough, passthroughKind } from './passthrough.js';
import { EarlyTarballs } from './early-tarball.js';
import type { NpmSignatures } from './signatures.js';
import { withheldEtag } from '../../core/policy/index.js';
import { type NpmPolicy, tarballVersion, withholdVersions } from './policy.js';

export interface NpmAdapterOptions {
  remotes: Map<string, Remote>;
  defaultRemote: string | undefined;
  scopes: Record<string, string>;
  /** e.g. "http://127.0.0.1:7420" (no trailing slash). */
  publicUrl(): string;
  documents: DocumentCache;
  blobs: BlobCache;
  policy: NpmPolicy;
  signatures: NpmSignatures;
}

const DERIVE_VERSION = 'npm-2';

export class NpmAdapter implements ProtocolAdapter {
  readonly protocol = 'npm';
  /** Tarball requests sent while their packument is fetched. */
  readonly early = new EarlyTarballs();
  /** Last-Modified values by entry (see lastModified). */
  private readonly httpDates = new WeakMap<Entry, string>();

  constructor(private readonly opts: NpmAdapterOptions) {}

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    // Writes are refused before the path is parsed: npm's own write paths (`/<name>/-rev/<rev>`) are not read routes.
    const kind = passthroughKind(req.method, req.path);
    if (!kind && !isRead(req.method)) throw readOnly();
    const route = parseNpmPath(req.path);
    if (route.kind === 'special') {
      if (route.path === '/-/npm/v1/keys' && isRead(req.method)) return this.registryKeys();
      if (kind) return passthrough(req, this.remoteFor(undefined));
      if (route.path.startsWith('/-/package/') && route.path.endsWith('/dist-tags') && isRead(req.method)) {
        return this.distTags(checkName(decodeName(route.path.slice('/-/package/'.length, -'/dist-tags'.length))));
      }
      throw notFound(`npm endpoint ${route.path.slice(0, 80)}`);
    }
    if (req.query.has('write')) throw readOnly();
    if (route.kind === 'packument') return this.packument(route.name, req);
    if (route.kind === 'version') return this.versionDoc(route.name, route.spec);
    return this.tarball(route.name, route.file);
  }

  renderError(err: LarderError): RenderedError {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
    const message = err.expose ? err.message : 'internal error';
    return { status: err.status, headers, body: Buffer.from(JSON.stringify({ error: message, code: err.code })) };
  }

  private remoteFor(name: string | undefined): Remote {
    const scope = name ? scopeOf(name) : undefined;
    const remoteName = (scope && this.opts.scopes[scope]) || this.opts.defaultRemote;
    const remote = remoteName ? this.opts.remotes.get(remoteName) : undefined;
    if (!remote) throw new LarderError('E_NOT_FOUND', 'no npm remote is configured for this package');
    return remote;
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
        derive: (raw) =>
          derivePackument(raw, {
            name,
            mirrorBase,
            owns: (u) => remote.owns(u),
            conventional: (n, file) => tarballUrl(remote, n, file),
          }),
      },
      { forceRefresh },
    );
  }

  /** The registry's signing keys (`npm audit signatures` asks the configured registry), cached with the remote's TTL. */
  private async registryKeys(): Promise<ProtoResponse> {
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

  private async packument(name: string, req: ProtoRequest): Promise<ProtoResponse> {
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

  private async versionDoc(name: string, spec: string): Promise<ProtoResponse> {
    const { doc, served } = await this.clientDoc(name);
    const tags = (doc['dist-tags'] ?? {}) as Record<string, string>;
    const versions = (doc.versions ?? {}) as Record<string, unknown>;
    const version = Object.hasOwn(versions, spec) ? spec : Object.hasOwn(tags, spec) ? tags[spec] : undefined;
    if (version === undefined || !Object.hasOwn(versions, version)) throw notFound(`${name}@${spec}`);
    return { ...json(200, versions[version]), cache: served.state };
  }

  private async distTags(name: string): Promise<ProtoResponse> {
    const { doc, served } = await this.clientDoc(name);
    return { ...json(200, doc['dist-tags'] ?? {}), cache: served.state };
  }

  private async tarball(name: string, file: string): Promise<ProtoResponse> {
    const version = tarballVersion(name, file);
    const remote = this.remoteFor(name).name;
    if (version !== undefined && !this.opts.policy.allowsAll(remote, name)) {
      await this.opts.policy.check(remote, name, version, () => this.document(name));
    }
    return tarballResponse(await this.tarballBlob(name, file));
  }

  /** The tarball through the blob cache (HIT or a fill), verified by dist.integrity or `expect`. */
  async tarballBlob(name: string, file: string, expect?: ExpectedDigest[]): Promise<ServedBlob> {
    const remote = this.remoteFor(name);
    const key = this.tarballKey(name, file);
    let discard: (() => void) | undefined;
    try {
      // The plan runs only when the tarball is neither cached nor being fetched.
      return await this.opts.blobs.serve(key, () => {
        const conventional = tarballUrl(remote, name, file);
        // Not when the packument is fresh: one round trip anyway; nor with LAN peers, which may have it.
        if (!remote.offline && !this.opts.blobs.hasPeers && !this.opts.documents.isFresh(this.documentKey(name))) {
          discard = this.early.start(key, conventional, () => remote.request({ url: conventional, headers: { accept: '*/*' } }));
        }
        return this.plan(remote, key, name, file, expect);
      });
    } finally {
      discard?.();
    }
  }

  /** What a tarball miss fetches (the packument's URL) and verifies (its integrity, else shasum). */
  private async plan(
    remote: Remote,
    key: string,
    name: string,
    file: string,
    expect: ExpectedDigest[] | undefined,
  ): Promise<ImmutableRequest> {
    const info = await this.distInfo(name, file);
    const expected: ExpectedDigest[] = [...(expect ?? [])];
    const sri = info.i ? parseSri(info.i) : [];
    const strongest = sri.find((d) => d.algo === 'sha512') ?? sri[0];
    if (strongest) expected.push(strongest);
    else if (info.s && /^[0-9a-f]{40}$/.test(info.s)) expected.push({ algo: 'sha1', hex: info.s });
    return {
      key,
      expected,
      mediaType: 'application/octet-stream',
      maxBytes: remote.settings.maxArtifactBytes,
      offline: remote.offline,
      negativeTtlMs: remote.settings.negativeTtlMs,
      meta: { protocol: 'npm', name, file, remote: remote.name },
      fetch: (signal, from) =>
        (from === undefined ? this.early.take(key, info.u) : undefined) ??
        remote.request({ url: info.u, headers: { accept: '*/*', ...resumeHeaders(from) }, signal }),
    };
  }

  /** The tarball cache key of a package file. */
  tarballKey(name: string, file: string): string {
    return `npm:${this.remoteFor(name).name}:tgz:${name}/${file}`;
  }

  /** Whether a tarball key is committed in the index. */
  tarballKeyCached(key: string): boolean {
    return this.opts.blobs.peek(key) !== undefined;
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
function tarballUrl(remote: Remote, name: string, file: string): string {
  return remote.resolve(`${name}/-/${encodeURIComponent(file)}`);
}

function tarballResponse(blob: ServedBlob): ProtoResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' },
    body: { type: 'blob', blob },
    cache: blob.state,
  };
}

function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

function readOnly(): LarderError {
  return new LarderError(
    'E_READ_ONLY',
    'Larder is a read-only mirror: publish, unpublish, dist-tag and owner changes must go to the upstream registry',
  );
}
