/**
 * The RubyGems adapter: the compact index (`/versions`, `/names`,
 * `/info/<gem>`: the upstream's bytes, with the md5 ETag Bundler checks and
 * `Range: bytes=N-` answered 206), `.gem` files verified against the sha256
 * of their `/info` line before commit, and the full index files served as
 * cached documents. An upstream 404 stays a 404. Errors are plain text, as
 * rubygems.org gives them.
 */
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError, notFound, toLarderError } from '../../core/errors.js';
import type { ExpectedDigest } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { stemSplits, type InfoLine } from './compact.js';
import { GemsDocuments } from './documents.js';
import { isGemName, parseGemsPath } from './names.js';
import { type GemsPolicy, md5 } from './policy.js';
import { byteRange } from './range.js';

export interface GemsAdapterOptions {
  /** Every configured remote; only those of type gems are used. */
  remotes: Map<string, Remote>;
  defaultRemote: string | undefined;
  documents: DocumentCache;
  blobs: BlobCache;
  /** The supply-chain policy (age gate by the API's `created_at`, blocklist); absent: every version is served. */
  policy?: GemsPolicy | undefined;
}

const INDEX_CACHE_CONTROL = 'public, max-age=60';

/** Where a `.gem` file is listed: its gem's name and its `/info` line. */
export interface GemSource {
  name: string;
  line: InfoLine;
}

export class GemsAdapter implements ProtocolAdapter {
  readonly protocol = 'gems';
  readonly docs: GemsDocuments;

  constructor(private readonly opts: GemsAdapterOptions) {
    this.docs = new GemsDocuments(opts.documents);
  }

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new LarderError('E_METHOD_NOT_ALLOWED', 'Larder is a read-only RubyGems mirror: push gems to the upstream server');
    }
    const route = parseGemsPath(req.path, (n) => this.opts.remotes.get(n)?.settings.config.type === 'gems');
    const remote = this.remoteFor(route.remote);
    switch (route.kind) {
      case 'root':
        return {
          status: 200,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: { type: 'buffer', data: Buffer.from('Larder RubyGems mirror\n') },
        };
      case 'versions':
      case 'names':
        return this.compact(req, await this.docs.get(remote, route.kind));
      case 'info':
        return this.info(req, remote, route.name);
      case 'index':
      case 'quick':
        return this.binary(await this.docs.get(remote, route.kind, route.file));
      case 'gem':
        if (this.opts.policy) await this.checkGem(this.opts.policy, remote, route.file);
        return gemResponse(await this.gemBlob(route.file, remote.name));
    }
  }

  renderError(err: LarderError): RenderedError {
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-larder-error': err.code,
    };
    if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
    const message =
      err.status === 404
        ? `This rubygem could not be found. (${err.expose ? err.message : 'not found'})`
        : err.expose
          ? err.message
          : 'internal error';
    return { status: err.status, headers, body: Buffer.from(`${message}\n`) };
  }

  remoteFor(name: string | undefined): Remote {
    const remote = this.opts.remotes.get(name ?? this.opts.defaultRemote ?? '');
    if (remote?.settings.config.type !== 'gems') throw new LarderError('E_NOT_FOUND', 'no RubyGems remote is configured');
    return remote;
  }

  /** An info file, without the lines of versions the policy withholds. */
  private async info(req: ProtoRequest, remote: Remote, name: string): Promise<ProtoResponse> {
    const policy = this.opts.policy;
    if (!policy?.active(remote.name, name)) return this.compact(req, await this.docs.info(remote, name));
    const { served, lines } = await this.docs.infoLines(remote, name);
    const body = await this.docs.body(served);
    const filtered = await policy.filterInfo(remote.name, name, body, lines, () => this.docs.times(remote, name));
    return this.compact(req, served, filtered);
  }

  /** Refuses a `.gem` of a version the policy withholds (an unlisted file is left to the blob cache's 404). */
  private async checkGem(policy: GemsPolicy, remote: Remote, stem: string): Promise<void> {
    if (!stemSplits(stem).some((c) => policy.active(remote.name, c.name))) return;
    // A gem the index does not list is left to the blob cache's 404; a failed lookup fails the request.
    const src = await this.gemSource(remote, stem).catch((err: unknown) => {
      if (toLarderError(err).code === 'E_NOT_FOUND') return undefined;
      throw err;
    });
    if (!src || !policy.active(remote.name, src.name)) return;
    await policy.check(remote.name, src.name, src.line, () => this.docs.times(remote, src.name));
  }

  /** A compact index file (the upstream's bytes, or `filtered`), its md5 as a strong ETag, and a 206 for `Range: bytes=N-`. */
  private async compact(req: ProtoRequest, served: ServedDocument, filtered?: Buffer): Promise<ProtoResponse> {
    const data = filtered ?? (await this.docs.body(served));
    const md5sum = filtered ? md5(filtered) : served.entry.meta?.md5;
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': INDEX_CACHE_CONTROL,
      'accept-ranges': 'bytes',
      'last-modified': new Date(served.entry.fetchedAt).toUTCString(),
    };
    if (typeof md5sum === 'string') headers.etag = `"${md5sum}"`;
    const range = byteRange(req.headers, headers.etag, data.length);
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${data.length}`;
      return { status: 206, headers, body: { type: 'buffer', data: data.subarray(range.start, range.end + 1) }, cache: served.state };
    }
    return { status: 200, headers, body: { type: 'buffer', data }, cache: served.state };
  }

  private async binary(served: ServedDocument): Promise<ProtoResponse> {
    const data = await this.docs.body(served);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'cache-control': INDEX_CACHE_CONTROL };
    if (served.entry.variants?.body) headers.etag = served.entry.variants.body.etag;
    return { status: 200, headers, body: { type: 'buffer', data }, cache: served.state };
  }

  /** Cache key of a `.gem` file by its stem (`<name>-<version>[-<platform>]`). */
  gemKey(stem: string, remote?: string): string {
    return `gems:${this.remoteFor(remote).name}:gem:${stem}`;
  }

  isCached(key: string): boolean {
    return this.opts.blobs.peek(key) !== undefined;
  }

  /** A `.gem` file through the blob cache: a HIT, or a fill verified against its `/info` line's checksum. */
  gemBlob(stem: string, remoteName?: string): Promise<ServedBlob> {
    const remote = this.remoteFor(remoteName);
    const key = this.gemKey(stem, remote.name);
    return this.opts.blobs.serve(key, async () => {
      const src = await this.gemSource(remote, stem);
      const expected: ExpectedDigest[] = src.line.checksum ? [{ algo: 'sha256', hex: src.line.checksum }] : [];
      const url = remote.resolve(`gems/${stem}.gem`);
      return {
        key,
        expected,
        maxBytes: remote.settings.maxArtifactBytes,
        offline: remote.offline,
        negativeTtlMs: remote.settings.negativeTtlMs,
        mediaType: 'application/octet-stream',
        meta: { protocol: 'gems', remote: remote.name, gem: src.name, file: `${stem}.gem` },
        fetch: (signal) => remote.request({ url, headers: { accept: '*/*' }, signal }),
      };
    });
  }

  /** The gem and `/info` line a file stem names, refreshing a cached info file once when the line is missing. */
  async gemSource(remote: Remote, stem: string): Promise<GemSource> {
    for (const c of stemSplits(stem)) {
      if (!isGemName(c.name)) continue;
      for (const force of [false, true]) {
        let found: Awaited<ReturnType<GemsDocuments['infoLines']>>;
        try {
          found = await this.docs.infoLines(remote, c.name, force);
        } catch (err) {
          if (err instanceof LarderError && err.code === 'E_NOT_FOUND') break;
          throw err;
        }
        const line = found.lines.find((l) => l.full === c.full);
        if (line) return { name: c.name, line };
        if (found.served.state !== 'HIT') break;
      }
    }
    throw notFound(`${stem}.gem`);
  }
}

function gemResponse(blob: ServedBlob): ProtoResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' },
    body: { type: 'blob', blob },
    cache: blob.state,
  };
}
