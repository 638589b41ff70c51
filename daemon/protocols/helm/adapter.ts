/**
 * The Helm chart repository adapter at `/helm/<remote>/`: `index.yaml` is a
 * mutable document (TTL, revalidation, stale-serve) served with every chart
 * URL pointing at Larder; chart archives are immutable, verified against
 * the entry's `digest` (sha256) before commit, or, without one, stored
 * under the sha256 Larder computes (recorded in the entry's meta);
 * `<chart>.prov` provenance files are fetched from beside the chart's
 * upstream URL and cached beside it. Charts may live on another host than
 * the index: Larder fetches only URLs its cached index lists.
 */
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError, notFound } from '../../core/errors.js';
import type { Validators } from '../../core/types.js';
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
import { type ChartMap, type ChartSource, deriveIndex } from './index-model.js';
import { parseHelmPath } from './paths.js';

export interface HelmAdapterOptions {
  remotes: Map<string, Remote>;
  publicUrl(): string;
  documents: DocumentCache;
  blobs: BlobCache;
}

const DERIVE_VERSION = 'helm-1';
const MOUNT = '/helm';

export class HelmAdapter implements ProtocolAdapter {
  readonly protocol = 'helm';
  /** The last chart map parsed per remote (a large index's map is parsed once per change, not per chart). */
  private readonly parsed = new Map<string, { digest: string; map: ChartMap }>();

  constructor(private readonly opts: HelmAdapterOptions) {}

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    requireRead(req, 'Larder is a read-only chart repository mirror: push charts to the upstream');
    const route = parseHelmPath(req.path);
    const remote = this.remoteFor(route.remote);
    if (route.kind === 'index') return this.index(remote);
    const blob = await this.chartBlob(remote.name, route.chart, route.version, route.file, route.prov);
    return {
      status: 200,
      headers: {
        'content-type': route.prov ? 'application/pgp-signature' : 'application/gzip',
        'cache-control': 'public, max-age=31536000, immutable',
      },
      body: { type: 'blob', blob },
      cache: blob.state,
    };
  }

  renderError(err: LarderError): RenderedError {
    return renderTextError(err);
  }

  remoteFor(name: string): Remote {
    return remoteOfType(this.opts.remotes, name, 'helm');
  }

  indexKey(remote: string): string {
    return `helm:${remote}:index`;
  }

  chartKey(remote: string, chart: string, version: string, file: string, prov: boolean): string {
    return `helm:${remote}:chart:${chart}/${version}/${file}${prov ? '.prov' : ''}`;
  }

  /** The remote's index document (fetched or revalidated as its TTL says). */
  indexDoc(remote: Remote, forceRefresh = false): Promise<ServedDocument> {
    const s = remote.settings;
    const url = remote.resolve('index.yaml');
    const mountUrl = `${this.opts.publicUrl()}${MOUNT}/${remote.name}/`;
    return this.opts.documents.get(
      {
        key: this.indexKey(remote.name),
        ttlMs: s.ttlMs,
        negativeTtlMs: s.negativeTtlMs,
        offline: remote.offline,
        deriveTag: `${DERIVE_VERSION}|${mountUrl}`,
        fetch: (validators: Validators, signal: AbortSignal) => {
          const headers: Record<string, string> = { accept: 'application/x-yaml, application/yaml, text/yaml, */*' };
          if (validators.etag) headers['if-none-match'] = validators.etag;
          if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
          return remote.request({ url, headers, signal });
        },
        derive: (raw) => deriveIndex(raw, { repoUrl: remote.base.toString(), mountUrl }),
      },
      { forceRefresh },
    );
  }

  private async index(remote: Remote): Promise<ProtoResponse> {
    const served = await this.indexDoc(remote);
    const ref = served.entry.variants?.index;
    if (!ref) throw new LarderError('E_INTERNAL', `${served.entry.key} has no derived index`, { expose: false });
    return {
      status: 200,
      headers: {
        'content-type': ref.mediaType,
        etag: ref.etag,
        'cache-control': 'no-cache',
        'last-modified': new Date(served.entry.fetchedAt).toUTCString(),
      },
      body: { type: 'buffer', data: await this.opts.documents.variant(ref) },
      cache: served.state,
    };
  }

  /** The chart map of the remote's index (chart → version → file → source). */
  async charts(remote: Remote, forceRefresh = false): Promise<{ map: ChartMap; state: ServedDocument['state'] }> {
    const served = await this.indexDoc(remote, forceRefresh);
    const ref = served.entry.variants?.charts;
    if (!ref) return { map: {}, state: served.state };
    const memo = this.parsed.get(remote.name);
    if (memo?.digest === ref.digest) return { map: memo.map, state: served.state };
    const map = JSON.parse((await this.opts.documents.variant(ref)).toString('utf8')) as ChartMap;
    this.parsed.set(remote.name, { digest: ref.digest, map });
    return { map, state: served.state };
  }

  /** Where a listed chart file comes from, refreshing the index once when it is not listed. */
  async chartSource(remote: Remote, chart: string, version: string, file: string): Promise<ChartSource> {
    for (const force of [false, true]) {
      const { map, state } = await this.charts(remote, force);
      const files = Object.hasOwn(map, chart) && Object.hasOwn(map[chart]!, version) ? map[chart]![version]! : undefined;
      if (files && Object.hasOwn(files, file)) return files[file]!;
      if (state !== 'HIT') break;
    }
    throw notFound(`chart ${chart} ${version} (${file})`);
  }

  /** A chart archive or its `.prov` through the blob cache: a HIT, or a fill verified against the index's digest. */
  chartBlob(remoteName: string, chart: string, version: string, file: string, prov: boolean): Promise<ServedBlob> {
    const remote = this.remoteFor(remoteName);
    const key = this.chartKey(remote.name, chart, version, file, prov);
    return this.opts.blobs.serve(key, async () => {
      const src = await this.chartSource(remote, chart, version, file);
      const url = prov ? provUrl(src.u) : src.u;
      return {
        key,
        expected: !prov && src.d ? [{ algo: 'sha256', hex: src.d }] : [],
        meta: {
          protocol: 'helm',
          remote: remote.name,
          chart,
          version,
          file: prov ? `${file}.prov` : file,
          // Without a published digest the sha256 Larder computed is the entry's own digest: that is what is recorded.
          verified: !prov && src.d ? 'index-digest' : 'computed-sha256',
        },
        ...artifactFetch(remote, url),
      };
    });
  }

  isCached(key: string): boolean {
    return this.opts.blobs.peek(key) !== undefined;
  }
}

/** The provenance file beside a chart URL (`<url>.prov`, before any query). */
function provUrl(url: string): string {
  const u = new URL(url);
  u.pathname += '.prov';
  return u.toString();
}
