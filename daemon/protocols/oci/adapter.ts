/**
 * The OCI distribution (pull side) adapter, mounted at `/v2`: API root,
 * manifests and blobs (GET/HEAD), tag lists and referrers, for any number of
 * `type: oci` remotes routed by `?ns=`, a host path prefix, or the default
 * remote. Writes are refused with UNSUPPORTED; errors use the OCI format.
 */
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache } from '../../core/document-cache.js';
import type { LarderError } from '../../core/errors.js';
import type { Clock } from '../../core/ports.js';
import type { Entry } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { isOciRemote } from './config.js';
import { Readable } from 'node:stream';
import { TokenCache } from './auth.js';
import { API_VERSION_HEADER, BlobService } from './blobs.js';
import { expandImage, type ClosureSource, type ImageClosure, type Platform } from './closure.js';
import { ociError, renderOciError } from './errors.js';
import { ManifestStore, manifestKey, tagKey, type ManifestInfo, type ManifestResult } from './manifests.js';
import { parseAccept } from './media.js';
import { parseRoute, RemoteTable } from './routes.js';
import { listTags, referrers } from './tags.js';
import { OciUpstream } from './upstream.js';

export interface OciAdapterOptions {
  /** All configured remotes, in config order; the adapter serves those of `type: oci` by their `host`. */
  remotes: Map<string, Remote>;
  /** Remote for bare `/v2/<name>` paths (Docker `registry-mirrors`). */
  defaultRemote: string | undefined;
  documents: DocumentCache;
  blobs: BlobCache;
  clock: Clock;
}

const ACCEPT_ALL = parseAccept(undefined);

export class OciAdapter implements ProtocolAdapter, ClosureSource {
  readonly protocol = 'oci';
  /** Shared Bearer token cache (one per adapter, keyed by realm/service/scope/credential). */
  readonly tokens: TokenCache;
  private readonly table: RemoteTable;
  private readonly upstreams = new Map<string, OciUpstream>();
  private readonly manifests: ManifestStore;
  private readonly blobService: BlobService;
  private readonly blobs: BlobCache;

  constructor(opts: OciAdapterOptions) {
    this.blobs = opts.blobs;
    this.tokens = new TokenCache(opts.clock);
    const hosts: Array<[string, string]> = [];
    for (const remote of opts.remotes.values()) {
      const c = remote.settings.config;
      if (!isOciRemote(c)) continue;
      this.upstreams.set(remote.name, new OciUpstream(remote, this.tokens));
      hosts.push([remote.name, c.host]);
    }
    this.table = new RemoteTable(
      hosts,
      opts.defaultRemote !== undefined && this.upstreams.has(opts.defaultRemote) ? opts.defaultRemote : undefined,
    );
    this.manifests = new ManifestStore(opts.documents, opts.blobs);
    this.blobService = new BlobService(opts.blobs);
  }

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    const ns = req.query.get('ns') || undefined;
    const route = parseRoute(req.method, req.path, ns, this.table);
    const head = req.method === 'HEAD';
    switch (route.kind) {
      case 'base':
        return {
          status: 200,
          headers: { ...API_VERSION_HEADER, 'content-type': 'application/json' },
          body: { type: 'buffer', data: Buffer.from('{}') },
        };
      case 'write':
        throw ociError('UNSUPPORTED', `Larder is a read-only pull-through mirror: ${route.what} are not supported`);
      case 'manifest': {
        const up = this.upstream(route.target.remote);
        const m = await this.manifests.get(up, route.target.name, route.reference, parseAccept(req.headers.accept), head);
        return manifestResponse(m, route.byDigest);
      }
      case 'blob':
        return this.blobService.serve(this.upstream(route.target.remote), route.target.name, route.digest, head);
      case 'tags':
        return listTags(this.upstream(route.target.remote), route.target, req.query);
      case 'referrers':
        return referrers(this.upstream(route.target.remote), route.target, route.digest, req.query, this.manifests);
    }
  }

  renderError(err: LarderError): RenderedError {
    return renderOciError(err);
  }

  /** {@link ClosureSource}: remote and upstream name for an image reference's host and path. */
  locate(host: string | undefined, path: string): { remote: string; name: string } {
    const t = this.table.target(path, host);
    return { remote: t.remote, name: t.name };
  }

  /** {@link ClosureSource}: a manifest by tag or digest, through the cache. */
  async manifest(
    remote: string,
    name: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; size: number; body: Buffer }> {
    const m = await this.manifests.get(this.upstream(remote), name, reference, ACCEPT_ALL);
    // A closure's keys are pinned and checked in the index next: its manifests must be committed first.
    await m.committed?.();
    if (!m.body) throw ociError('MANIFEST_UNKNOWN', `manifest ${name}:${reference} has no body`);
    return { digest: m.digest, mediaType: m.mediaType, size: m.size, body: m.body };
  }

  /** Expands an image reference (`[host/]name[:tag|@digest]`) into its manifests, config and layers. */
  expandImage(ref: string, opts: { platform?: string | Platform } = {}): Promise<ImageClosure> {
    return expandImage(this, ref, opts);
  }

  /** Starts or joins the verified fill of a blob (pre-warming); `done` settles once it is committed. */
  fetchBlob(remote: string, name: string, digest: string): Promise<ServedBlob> {
    return this.blobService.fetch(this.upstream(remote), name, digest);
  }

  /** Resolves a tag to its manifest; `fresh` revalidates it upstream now (pins). */
  async resolveTag(remote: string, name: string, tag: string, fresh = false): Promise<ManifestInfo> {
    return (await this.manifests.resolveTag(this.upstream(remote), name, tag, fresh)).info;
  }

  /** Index keys of the entries an image closure consists of (what a pin protects). */
  keysOf(closure: ImageClosure, tag?: string): string[] {
    const keys = closure.manifests.map((m) => manifestKey(closure.remote, m.digest));
    for (const b of closure.blobs) keys.push(BlobService.key(closure.remote, b.digest));
    if (tag !== undefined) keys.push(tagKey(closure.remote, closure.name, tag));
    return keys;
  }

  /** Whether an index key is cached. */
  isCached(key: string): boolean {
    return this.blobs.peek(key) !== undefined;
  }

  /** Scrub repair: fetches a damaged OCI entry again (blob, manifest or tag); false when it is not one of ours. */
  async repair(entry: Entry): Promise<boolean> {
    const m = entry.meta ?? {};
    const remote = typeof m.remote === 'string' ? m.remote : undefined;
    const name = typeof m.name === 'string' ? m.name : undefined;
    if (m.protocol !== 'oci' || !remote || !name || !this.upstreams.has(remote)) return false;
    const up = this.upstream(remote);
    const after = (marker: string): string => entry.key.slice(entry.key.indexOf(marker) + marker.length);
    if (m.kind === 'blob') {
      const served = await this.blobService.fetch(up, name, after(':blob:'));
      for await (const _ of served.open() as AsyncIterable<Buffer>) void _;
      await served.done();
    } else if (m.kind === 'manifest') {
      await (await this.manifests.byDigest(up, name, after(':manifest:'), false)).committed?.();
    } else if (m.kind === 'tag') {
      await this.manifests.resolveTag(up, name, after(`:tag:${name}:`), true);
    } else {
      return false;
    }
    return this.isCached(entry.key);
  }

  private upstream(name: string): OciUpstream {
    const up = this.upstreams.get(name);
    if (!up) throw ociError('NAME_UNKNOWN', `no OCI remote named ${name}`);
    return up;
  }
}

function manifestResponse(m: ManifestResult, byDigest: boolean): ProtoResponse {
  const headers: Record<string, string> = {
    ...API_VERSION_HEADER,
    'content-type': m.mediaType,
    'docker-content-digest': m.digest,
    etag: `"${m.digest}"`,
  };
  if (byDigest) headers['cache-control'] = 'public, max-age=31536000, immutable';
  else headers.vary = 'Accept';
  return {
    status: 200,
    headers,
    // Only HEAD answers made from a tag document come without a body.
    body: m.body ? { type: 'buffer', data: m.body } : { type: 'stream', stream: Readable.from([]), length: m.size },
    cache: m.state,
  };
}
