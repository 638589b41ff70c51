/**
 * The Cargo sparse index adapter: `config.json` and index files are
 * documents (revalidated with the upstream's ETag / Last-Modified after the
 * remote's TTL, served stale when the upstream fails, index files byte for
 * byte); `.crate` files are immutable, fetched from the upstream's `dl`
 * and verified against their index line's `cksum` before commit. An
 * upstream 404, 410 or 451 for an index file is answered with that status
 * (cargo reads all three as "no such crate").
 */
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError, notFound } from '../../core/errors.js';
import type { ExpectedDigest, Validators } from '../../core/types.js';
import { drain } from '../../core/upstream-status.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { type CrateVersions, deriveConfig, deriveIndexFile, downloadUrl } from './index-file.js';
import { indexPath, isCrateName, isCrateVersion, parseCargoPath } from './names.js';
import type { CargoPolicy } from './policy.js';
import { crateResponse, documentResponse, renderCargoError } from './responses.js';

export interface CargoAdapterOptions {
  /** Every configured remote; only those of type cargo are used. */
  remotes: Map<string, Remote>;
  defaultRemote: string | undefined;
  /** e.g. "http://127.0.0.1:7420" (no trailing slash). */
  publicUrl(): string;
  documents: DocumentCache;
  blobs: BlobCache;
  /** The supply-chain policy (age gate by `pubtime`, blocklist); absent: every version is served. */
  policy?: CargoPolicy | undefined;
}

const DERIVE_VERSION = 'cargo-2';
/** Statuses of an index file cargo reads as "no such crate", kept as they are. */
const GONE = new Set([410, 451]);

export class CargoAdapter implements ProtocolAdapter {
  readonly protocol = 'cargo';

  constructor(private readonly opts: CargoAdapterOptions) {}

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new LarderError('E_METHOD_NOT_ALLOWED', 'Larder is a read-only cargo registry mirror: publish to the registry itself');
    }
    const route = parseCargoPath(req.path, (n) => this.opts.remotes.get(n)?.settings.config.type === 'cargo');
    const remote = this.remoteNamed(route.remote);
    if (route.kind === 'config') return documentResponse(this.opts.documents, await this.configDoc(remote));
    if (route.kind === 'index') {
      const served = await this.indexDoc(remote, route.name);
      return this.withheld(remote, route.name, served, await documentResponse(this.opts.documents, served));
    }
    // The policy reads the index as the download will (fetched anew once when it lacks the version): a version
    // too new for the cached index is decided on, not waved through.
    await this.opts.policy?.check(remote.name, route.name, route.version, async () => {
      const v = await this.versions(route.name, false, remote.name);
      return Object.hasOwn(v.cksums, route.version) || v.fresh ? v : this.versions(route.name, true, remote.name);
    });
    return crateResponse(await this.crateBlob(route.name, route.version, remote.name));
  }

  /** An index file without the lines of versions the policy withholds (as it is when there are none). */
  private async withheld(remote: Remote, crate: string, served: ServedDocument, res: ProtoResponse): Promise<ProtoResponse> {
    const policy = this.opts.policy;
    if (!policy?.mayWithhold(remote.name, crate, served.entry.meta?.newest) || res.body.type !== 'buffer') return res;
    const withheld = policy.withheld(remote.name, await this.versionsOf(served));
    if (withheld.size === 0) return res;
    const { body, etag } = policy.filter(res.body.data, res.headers.etag ?? '"cargo"', withheld);
    return { ...res, headers: { ...res.headers, etag }, body: { type: 'buffer', data: body } };
  }

  private async versionsOf(served: ServedDocument): Promise<CrateVersions> {
    const ref = served.entry.variants?.versions;
    if (!ref) throw new LarderError('E_INTERNAL', `index file ${served.entry.key} has no version map`, { expose: false });
    return JSON.parse((await this.opts.documents.variant(ref)).toString('utf8')) as CrateVersions;
  }

  renderError(err: LarderError): RenderedError {
    return renderCargoError(err);
  }

  private remoteNamed(name: string | undefined): Remote {
    const remote = this.opts.remotes.get(name ?? this.opts.defaultRemote ?? '');
    if (remote?.settings.config.type !== 'cargo') throw new LarderError('E_NOT_FOUND', 'no cargo registry remote is configured');
    return remote;
  }

  /** Cache key of a remote's config.json (default cargo remote unless named). */
  configKey(remote?: string): string {
    return `cargo:${this.remoteNamed(remote).name}:config`;
  }

  /** Cache key of a crate's index file (default cargo remote unless named). */
  indexKey(name: string, remote?: string): string {
    return `cargo:${this.remoteNamed(remote).name}:index:${name.toLowerCase()}`;
  }

  /** Cache key of a `.crate` file. */
  crateKey(name: string, version: string, remote?: string): string {
    return `cargo:${this.remoteNamed(remote).name}:crate:${name.toLowerCase()}@${version}`;
  }

  /** Whether an entry is committed in the index. */
  isCached(key: string): boolean {
    return this.opts.blobs.peek(key) !== undefined;
  }

  private fetchDoc(remote: Remote, url: string, what: string) {
    return async (validators: Validators, signal: AbortSignal) => {
      const headers: Record<string, string> = {};
      if (validators.etag) headers['if-none-match'] = validators.etag;
      if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
      const res = await remote.request({ url, headers, signal });
      if (GONE.has(res.status)) {
        drain(res);
        throw new LarderError('E_NOT_FOUND', `${what}: the registry answered ${res.status}`, { status: res.status });
      }
      return res;
    };
  }

  private configDoc(remote: Remote): Promise<ServedDocument> {
    const s = remote.settings;
    const dlBase = `${this.opts.publicUrl()}/cargo/${remote.name}/dl`;
    return this.opts.documents.get({
      key: this.configKey(remote.name),
      ttlMs: s.ttlMs,
      negativeTtlMs: s.negativeTtlMs,
      offline: remote.offline,
      deriveTag: `${DERIVE_VERSION}|${dlBase}`,
      fetch: this.fetchDoc(remote, remote.resolve('config.json'), 'config.json'),
      derive: (raw) => deriveConfig(raw, dlBase),
    });
  }

  private indexDoc(remote: Remote, name: string, forceRefresh = false): Promise<ServedDocument> {
    const s = remote.settings;
    const crate = name.toLowerCase();
    return this.opts.documents.get(
      {
        key: this.indexKey(crate, remote.name),
        ttlMs: s.ttlMs,
        negativeTtlMs: s.negativeTtlMs,
        offline: remote.offline,
        deriveTag: DERIVE_VERSION,
        fetch: this.fetchDoc(remote, remote.resolve(indexPath(crate)), `index file of ${crate}`),
        derive: (raw) => deriveIndexFile(raw, crate),
      },
      { forceRefresh },
    );
  }

  /** A crate's versions and their sha256, from its index file (fetched anew when `refresh`). */
  async versions(name: string, refresh = false, remoteName?: string): Promise<CrateVersions & { fresh: boolean }> {
    if (!isCrateName(name)) throw new LarderError('E_BAD_REQUEST', `not a crate name: ${JSON.stringify(name.slice(0, 100))}`);
    const served = await this.indexDoc(this.remoteNamed(remoteName), name, refresh);
    return { ...(await this.versionsOf(served)), fresh: served.state !== 'HIT' };
  }

  /** The index's spelling of a crate and the cksum of one version; the index file is fetched anew once when it lacks it. */
  async listed(name: string, version: string, remoteName?: string): Promise<{ name: string; cksum: string }> {
    let v = await this.versions(name, false, remoteName);
    if (!Object.hasOwn(v.cksums, version) && !v.fresh) v = await this.versions(name, true, remoteName);
    if (!Object.hasOwn(v.cksums, version)) throw notFound(`${name} ${version} (not in the registry's index, or listed without a cksum)`);
    return { name: v.name, cksum: v.cksums[version]! };
  }

  private async dlTemplate(remote: Remote): Promise<string> {
    const ref = (await this.configDoc(remote)).entry.variants?.dl;
    if (!ref) throw new LarderError('E_INTERNAL', `config.json of ${remote.name} has no dl`, { expose: false });
    return (await this.opts.documents.variant(ref)).toString('utf8');
  }

  /** A `.crate` through the blob cache: a HIT, or a fill verified against the index's cksum (and `expect`). */
  async crateBlob(name: string, version: string, remoteName?: string, expect: ExpectedDigest[] = []): Promise<ServedBlob> {
    if (!isCrateName(name) || !isCrateVersion(version)) {
      throw new LarderError('E_BAD_REQUEST', `not a crate name and version: ${JSON.stringify(`${name}@${version}`.slice(0, 200))}`);
    }
    const remote = this.remoteNamed(remoteName);
    const key = this.crateKey(name, version, remote.name);
    return this.opts.blobs.serve(key, async () => {
      const listed = await this.listed(name, version, remote.name);
      const url = downloadUrl(await this.dlTemplate(remote), listed.name, version, listed.cksum);
      if (!/^https?:\/\//i.test(url))
        throw new LarderError('E_UPSTREAM', `the registry's dl template gives no http(s) URL for ${name} ${version}`);
      return {
        key,
        expected: [{ algo: 'sha256', hex: listed.cksum }, ...expect],
        maxBytes: remote.settings.maxArtifactBytes,
        offline: remote.offline,
        negativeTtlMs: remote.settings.negativeTtlMs,
        mediaType: 'application/gzip',
        meta: { protocol: 'cargo', remote: remote.name, crate: name.toLowerCase(), version },
        // The remote's credentials go only to its own origin; a redirect elsewhere drops them.
        fetch: (signal) => remote.request({ url, signal }),
      };
    });
  }
}
