/**
 * The Go module proxy adapter (GOPROXY protocol): `.mod`, `.zip` and the
 * `.info` of canonical versions are immutable and served byte for byte;
 * `list`, `@latest` and version queries are documents revalidated after the
 * remote's TTL and served stale when the upstream is down; checksum
 * databases are proxied by `SumdbProxy`. Unknown modules and upstream
 * failures answer 404 so the go command falls through to its next proxy.
 */
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Validators } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { escapeCase, isCanonicalVersion, isModulePath, parseGoPath } from './module-path.js';
import { type GoPolicy, infoTime } from './policy.js';
import { blobResponse, documentResponse, renderGoError } from './responses.js';
import { SumdbProxy } from './sumdb.js';

export interface GoAdapterOptions {
  /** Every configured remote; only those of type go are used. */
  remotes: Map<string, Remote>;
  defaultRemote: string | undefined;
  documents: DocumentCache;
  blobs: BlobCache;
  /** The supply-chain policy (age gate, blocklist); absent: every version is served. */
  policy?: GoPolicy | undefined;
}

const DERIVE_VERSION = 'go-1';

function bodyOf(res: ProtoResponse): Buffer {
  return res.body.type === 'buffer' ? res.body.data : Buffer.alloc(0);
}
const TEXT = 'text/plain; charset=utf-8';
/** The immutable files of a module version. */
export type GoArtifact = 'info' | 'mod' | 'zip';
const MEDIA: Record<GoArtifact, string> = { info: 'application/json', mod: TEXT, zip: 'application/zip' };
/** Go refuses module zips above 500 MB. */
const MAX_ZIP = 500 * 1024 * 1024;

export class GoAdapter implements ProtocolAdapter {
  readonly protocol = 'go';
  private readonly sumdb: SumdbProxy;

  constructor(private readonly opts: GoAdapterOptions) {
    this.sumdb = new SumdbProxy(opts);
  }

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new LarderError('E_METHOD_NOT_ALLOWED', 'the module proxy protocol is read-only');
    const { remote, path } = this.split(req.path);
    const route = parseGoPath(path);
    if (route.kind === 'sumdb') return this.sumdb.handle(remote, route.db, route.path);
    const mod = escapeCase(route.module);
    const policy = this.opts.policy?.active(remote.name, route.module) ? this.opts.policy : undefined;
    if (route.kind === 'list') {
      const res = await this.document(remote, `list:${route.module}`, `${mod}/@v/list`, TEXT);
      return policy
        ? this.withList(res, await policy.filterList(remote.name, route.module, bodyOf(res), this.timeOf(remote, route.module)))
        : res;
    }
    if (route.kind === 'latest') {
      const res = await this.document(remote, `latest:${route.module}`, `${mod}/@latest`, MEDIA.info);
      return policy ? this.latest(policy, remote, route.module, res) : res;
    }
    const file = `${mod}/@v/${escapeCase(route.version)}.${route.kind}`;
    if (route.kind === 'info' && !isCanonicalVersion(route.version)) {
      return this.document(remote, `query:${route.module}@${route.version}`, file, MEDIA.info);
    }
    await policy?.check(remote.name, route.module, route.version, this.timeOf(remote, route.module));
    return blobResponse(await this.artifact(remote, route.module, route.version, route.kind), MEDIA[route.kind]);
  }

  /** Cache key of a module's `.info`, `.mod` or `.zip` (default Go remote unless named). */
  artifactKey(module: string, version: string, kind: GoArtifact, remote?: string): string {
    return `go:${this.remoteNamed(remote).name}:${kind}:${module}@${version}`;
  }

  /** Whether an entry is committed in the index. */
  isCached(key: string): boolean {
    return this.opts.blobs.peek(key) !== undefined;
  }

  /** A module's `.info`, `.mod` or `.zip` of a canonical version through the blob cache. */
  async artifactBlob(module: string, version: string, kind: GoArtifact, remote?: string): Promise<ServedBlob> {
    if (!isModulePath(module)) throw new LarderError('E_BAD_REQUEST', `not a valid module path: ${JSON.stringify(module.slice(0, 200))}`);
    if (!isCanonicalVersion(version))
      throw new LarderError('E_BAD_REQUEST', `${kind} files exist only for canonical versions, not ${JSON.stringify(version)}`);
    return this.artifact(this.remoteNamed(remote), module, version, kind);
  }

  private async artifact(remote: Remote, module: string, version: string, kind: GoArtifact): Promise<ServedBlob> {
    const key = this.artifactKey(module, version, kind, remote.name);
    const url = remote.resolve(`${escapeCase(module)}/@v/${escapeCase(version)}.${kind}`);
    return this.opts.blobs.get({
      key,
      expected: [],
      maxBytes: Math.min(remote.settings.maxArtifactBytes, MAX_ZIP),
      offline: remote.offline,
      negativeTtlMs: remote.settings.negativeTtlMs,
      mediaType: MEDIA[kind],
      meta: { protocol: 'go', remote: remote.name, module, version, file: kind },
      fetch: (signal) => remote.request({ url, signal }),
    });
  }

  /** Reads the `.info` `Time` of a canonical version (through the blob cache). */
  private timeOf(remote: Remote, module: string): (version: string) => Promise<number | undefined> {
    return async (version) => {
      if (!isCanonicalVersion(version)) return undefined;
      const blob = await this.artifact(remote, module, version, 'info');
      const chunks: Buffer[] = [];
      for await (const c of blob.open()) chunks.push(Buffer.from(c as Uint8Array));
      return infoTime(Buffer.concat(chunks));
    };
  }

  private withList(res: ProtoResponse, data: Buffer): ProtoResponse {
    const etag = res.headers.etag;
    const headers = { ...res.headers, ...(etag ? { etag: `${etag.replace(/"$/, '')}-policy"` } : {}) };
    return { ...res, headers, body: { type: 'buffer', data } };
  }

  /** `@latest` when the policy is on: upstream's answer if allowed, else the newest allowed version's `.info`. */
  private async latest(policy: GoPolicy, remote: Remote, module: string, res: ProtoResponse): Promise<ProtoResponse> {
    const time = this.timeOf(remote, module);
    const version = (JSON.parse(bodyOf(res).toString('utf8')) as { Version?: unknown }).Version;
    if (typeof version === 'string' && (await policy.decide(remote.name, module, version, time)).verdict === 'allowed') return res;
    const list = await this.document(remote, `list:${module}`, `${escapeCase(module)}/@v/list`, TEXT);
    const to = policy.newest(await policy.filterList(remote.name, module, bodyOf(list), time));
    if (to === undefined) {
      await policy.check(remote.name, module, typeof version === 'string' ? version : 'latest', time);
      throw new LarderError('E_NOT_FOUND', `${module}: no version is allowed by the Larder policy`);
    }
    const blob = await this.artifact(remote, module, to, 'info');
    return { ...blobResponse(blob, MEDIA.info), headers: { 'content-type': MEDIA.info, 'cache-control': 'public, max-age=60' } };
  }

  renderError(err: LarderError): RenderedError {
    return renderGoError(err);
  }

  /** `/<remote>/…` names a go remote explicitly; anything else belongs to the default one. */
  private split(path: string): { remote: Remote; path: string } {
    const slash = path.indexOf('/', 1);
    const first = slash > 0 ? path.slice(1, slash) : '';
    const named = first ? this.opts.remotes.get(first) : undefined;
    if (named && named.settings.config.type === 'go') return { remote: named, path: path.slice(slash) };
    return { remote: this.remoteNamed(undefined), path };
  }

  private remoteNamed(name: string | undefined): Remote {
    const remote = this.opts.remotes.get(name ?? this.opts.defaultRemote ?? '');
    if (remote?.settings.config.type !== 'go') throw new LarderError('E_NOT_FOUND', 'no Go module remote is configured');
    return remote;
  }

  private async document(remote: Remote, what: string, file: string, mediaType: string): Promise<ProtoResponse> {
    const s = remote.settings;
    const url = remote.resolve(file);
    const served = await this.opts.documents.get({
      key: `go:${remote.name}:${what}`,
      ttlMs: s.ttlMs,
      negativeTtlMs: s.negativeTtlMs,
      offline: remote.offline,
      deriveTag: DERIVE_VERSION,
      fetch: (validators: Validators, signal) => {
        const headers: Record<string, string> = {};
        if (validators.etag) headers['if-none-match'] = validators.etag;
        if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
        return remote.request({ url, headers, signal });
      },
      derive: (raw) => ({ variants: { body: { body: raw, mediaType } } }),
    });
    return documentResponse(this.opts.documents, served);
  }
}
