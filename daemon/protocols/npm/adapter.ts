/**
 * The npm registry adapter: routes requests to packuments, version documents
 * and dist-tags (packuments.ts), serves tarballs verified by dist.integrity
 * (sha512, else shasum), passes through the endpoints that need the
 * upstream, and gives clear errors for writes on this read-only mirror.
 */
import type { BlobCache, ImmutableRequest, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache } from '../../core/document-cache.js';
import { parseSri } from '../../core/digest.js';
import { LarderError, notFound } from '../../core/errors.js';
import { resumeHeaders } from '../../core/served.js';
import type { ExpectedDigest } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { EarlyTarballs } from './early-tarball.js';
import { checkName, decodeName, parseNpmPath, scopeOf } from './names.js';
import { NpmPackuments, tarballUrl } from './packuments.js';
import { passthrough, passthroughKind } from './passthrough.js';
import { type NpmPolicy, tarballVersion } from './policy.js';
import type { NpmSignatures } from './signatures.js';

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

export class NpmAdapter implements ProtocolAdapter {
  readonly protocol = 'npm';
  /** Tarball requests sent while their packument is fetched. */
  readonly early = new EarlyTarballs();
  /** Packuments, version documents and dist-tags. */
  readonly docs: NpmPackuments;

  constructor(private readonly opts: NpmAdapterOptions) {
    const { publicUrl, documents, policy, signatures } = opts;
    this.docs = new NpmPackuments({ publicUrl, documents, policy, signatures, remoteFor: (name) => this.remoteFor(name) });
  }

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    // Writes are refused before the path is parsed: npm's own write paths (`/<name>/-rev/<rev>`) are not read routes.
    const kind = passthroughKind(req.method, req.path);
    if (!kind && !isRead(req.method)) throw readOnly();
    const route = parseNpmPath(req.path);
    if (route.kind === 'special') {
      if (route.path === '/-/npm/v1/keys' && isRead(req.method)) return this.docs.registryKeys();
      if (kind) return passthrough(req, this.remoteFor(undefined));
      if (route.path.startsWith('/-/package/') && route.path.endsWith('/dist-tags') && isRead(req.method)) {
        return this.docs.distTags(checkName(decodeName(route.path.slice('/-/package/'.length, -'/dist-tags'.length))));
      }
      throw notFound(`npm endpoint ${route.path.slice(0, 80)}`);
    }
    if (req.query.has('write')) throw readOnly();
    if (route.kind === 'packument') return this.docs.packument(route.name, req);
    if (route.kind === 'version') return this.docs.versionDoc(route.name, route.spec);
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

  private async tarball(name: string, file: string): Promise<ProtoResponse> {
    const version = tarballVersion(name, file);
    const remote = this.remoteFor(name).name;
    if (version !== undefined && !this.opts.policy.allowsAll(remote, name)) {
      await this.opts.policy.check(remote, name, version, () => this.docs.document(name));
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
        if (!remote.offline && !this.opts.blobs.hasPeers && !this.opts.documents.isFresh(this.docs.documentKey(name))) {
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
    const info = await this.docs.distInfo(name, file);
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
