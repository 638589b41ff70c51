/**
 * The Conda channel adapter at `/conda/<remote>/`: index documents are
 * passed through the streaming HTTP cache byte for byte (documents.ts);
 * packages (`.conda`, `.tar.bz2`) are immutable, verified before commit
 * against the sha256 and size their subdir's repodata.json lists (found by
 * a streaming scan of the cached document, record-scan.ts); CEP-16 shards
 * are immutable and verified against the sha256 their name is.
 */
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import { type LarderError, notFound } from '../../core/errors.js';
import type { HttpCache } from '../../core/http-cache.js';
import type { Remote } from '../../upstream/remote.js';
import {
  artifactFetch,
  type ProtoRequest,
  type ProtoResponse,
  type ProtocolAdapter,
  type RenderedError,
  remoteOfType,
  renderTextError,
  requireRead,
} from '../adapter.js';
import { docKey, documentResponse, getDocument } from './documents.js';
import { type Opened, RecordLookup } from './lookup.js';
import { parseCondaPath } from './paths.js';
import type { PackageRecord } from './record-scan.js';

export interface CondaAdapterOptions {
  remotes: Map<string, Remote>;
  httpCache: HttpCache;
  blobs: BlobCache;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

export class CondaAdapter implements ProtocolAdapter {
  readonly protocol = 'conda';
  private readonly records = new RecordLookup();

  constructor(private readonly opts: CondaAdapterOptions) {}

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    requireRead(req, 'Larder is a read-only conda channel mirror: upload to the upstream channel');
    const route = parseCondaPath(req.path);
    const remote = this.remoteFor(route.remote);
    if (route.kind === 'document') return documentResponse(route.path, await getDocument(this.opts.httpCache, remote, route.path));
    const blob =
      route.kind === 'package'
        ? await this.packageBlob(remote.name, route.subdir, route.file)
        : await this.shardBlob(remote, route.subdir, route.hex);
    const type =
      route.kind === 'shard' ? 'application/zstd' : route.file.endsWith('.conda') ? 'application/octet-stream' : 'application/x-bzip2';
    return { status: 200, headers: { 'content-type': type, 'cache-control': IMMUTABLE }, body: { type: 'blob', blob }, cache: blob.state };
  }

  renderError(err: LarderError): RenderedError {
    return renderTextError(err);
  }

  remoteFor(name: string): Remote {
    return remoteOfType(this.opts.remotes, name, 'conda');
  }

  packageKey(remote: string, subdir: string, file: string): string {
    return `conda:${remote}:pkg:${subdir}/${file}`;
  }

  repodataKey(remote: string, subdir: string): string {
    return docKey(remote, `${subdir}/repodata.json`);
  }

  /** The repodata.json record of a package (revalidating a cached document once when it is not listed). */
  async record(remote: Remote, subdir: string, file: string): Promise<PackageRecord> {
    const path = `${subdir}/repodata.json`;
    const read = async (): Promise<Opened> => {
      const served = await getDocument(this.opts.httpCache, remote, path);
      return served.kind === 'cached'
        ? { stream: served.blob.open(), state: served.state }
        : { stream: served.response.body, state: 'BYPASS' };
    };
    for (const retry of [false, true]) {
      if (retry) await this.opts.httpCache.expire(docKey(remote.name, path));
      const found = await this.records.find(`${remote.name}:${subdir}`, file, read);
      if (found.record) return found.record;
      // Only a copy that was not just fetched can be behind the upstream.
      if (found.state !== 'HIT') break;
    }
    throw notFound(`${file} in ${subdir}/repodata.json of ${remote.name}`);
  }

  /** A package through the blob cache: a HIT, or a fill verified against its repodata record. */
  packageBlob(remoteName: string, subdir: string, file: string): Promise<ServedBlob> {
    const remote = this.remoteFor(remoteName);
    const key = this.packageKey(remote.name, subdir, file);
    return this.opts.blobs.serve(key, async () => {
      const rec = await this.record(remote, subdir, file);
      const url = remote.resolve(`${subdir}/${file}`);
      return {
        key,
        expected: rec.sha256 ? [{ algo: 'sha256', hex: rec.sha256 }] : [],
        ...(rec.size === undefined ? {} : { expectedSize: rec.size }),
        meta: { protocol: 'conda', remote: remote.name, subdir, file, verified: rec.sha256 ? 'repodata-sha256' : 'computed-sha256' },
        ...artifactFetch(remote, url),
      };
    });
  }

  /** A CEP-16 shard: content-addressed, verified against the sha256 of its name. */
  private shardBlob(remote: Remote, subdir: string, hex: string): Promise<ServedBlob> {
    const key = `conda:${remote.name}:shard:${subdir}/${hex}`;
    const url = remote.resolve(`${subdir}/shards/${hex}.msgpack.zst`);
    return this.opts.blobs.serve(key, () => ({
      key,
      expected: [{ algo: 'sha256', hex }],
      meta: { protocol: 'conda', remote: remote.name, subdir, shard: hex },
      ...artifactFetch(remote, url),
    }));
  }

  isCached(key: string): boolean {
    return this.opts.blobs.peek(key) !== undefined;
  }
}
