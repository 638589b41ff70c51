/**
 * The PyPI Simple API adapter: project list and project pages in HTML or
 * JSON by `Accept` (derived once per upstream change, `Vary: Accept`),
 * PEP 503 normalization redirects, and distribution files plus PEP 658
 * `.metadata` files verified against the page's sha256 before commit.
 * Larder fetches only from the remote's index and files origins. The
 * answers' shapes are in responses.ts.
 */
import type { BlobCache, ServedBlob } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError, notFound } from '../../core/errors.js';
import { resumeHeaders } from '../../core/served.js';
import type { ExpectedDigest, Validators } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { isPypiRemote } from './config.js';
import { parsePypiPath } from './names.js';
import { parseProjectList, parseProjectPage } from './page-model.js';
import type { PypiPolicy } from './policy.js';
import { deriveIndex, deriveProject, type FileSource } from './render.js';
import { errorResponse, fileResponse, pageResponse } from './responses.js';

export interface PypiAdapterOptions {
  /** Every configured remote; only those of type pypi are used. */
  remotes: Map<string, Remote>;
  defaultRemote: string | undefined;
  /** e.g. "http://127.0.0.1:7420" (no trailing slash). */
  publicUrl(): string;
  documents: DocumentCache;
  blobs: BlobCache;
  /** The supply-chain policy (age gate, blocklist); absent: every version is served. */
  policy?: PypiPolicy | undefined;
}

const DERIVE_VERSION = 'pypi-2';
const MOUNT = '/pypi';
const UPSTREAM_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01';

export class PypiAdapter implements ProtocolAdapter {
  readonly protocol = 'pypi';

  constructor(private readonly opts: PypiAdapterOptions) {}

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new LarderError('E_METHOD_NOT_ALLOWED', 'Larder is a read-only PyPI mirror: upload to the upstream index');
    }
    const route = parsePypiPath(req.path, (n) => this.opts.remotes.get(n)?.settings.config.type === 'pypi');
    if (route.kind === 'redirect') {
      const qs = req.query.toString();
      const location = `${this.opts.publicUrl()}${MOUNT}${route.location}${qs ? `?${qs}` : ''}`;
      return { status: 301, headers: { location, 'cache-control': 'public, max-age=3600' }, body: { type: 'empty' } };
    }
    const remote = this.remoteFor(route.remote);
    if (route.kind === 'index') return pageResponse(this.opts, req, await this.indexDoc(remote));
    if (route.kind === 'project')
      return pageResponse(this.opts, req, await this.projectDoc(remote, route.project), remote.name, route.project);
    return this.file(remote, route.project, route.file, route.metadata);
  }

  renderError(err: LarderError): RenderedError {
    return errorResponse(err);
  }

  private remoteFor(name: string | undefined): Remote {
    const remote = this.opts.remotes.get(name ?? this.opts.defaultRemote ?? '');
    if (remote?.settings.config.type !== 'pypi') throw new LarderError('E_NOT_FOUND', 'no PyPI remote is configured');
    return remote;
  }

  /** Whether Larder may fetch `url` for this remote: its index origin or its files origin. */
  private owns(remote: Remote, url: string): boolean {
    if (remote.owns(url)) return true;
    const cfg = remote.settings.config;
    if (!isPypiRemote(cfg) || !cfg.filesUrl) return false;
    try {
      return new URL(url).origin === new URL(cfg.filesUrl).origin;
    } catch {
      return false;
    }
  }

  private fetchPage(remote: Remote, url: string) {
    return (validators: Validators, signal: AbortSignal) => {
      const headers: Record<string, string> = { accept: UPSTREAM_ACCEPT };
      if (validators.etag) headers['if-none-match'] = validators.etag;
      if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
      return remote.request({ url, headers, signal });
    };
  }

  private indexDoc(remote: Remote): Promise<ServedDocument> {
    const s = remote.settings;
    return this.opts.documents.get({
      key: `pypi:${remote.name}:index`,
      ttlMs: s.ttlMs,
      negativeTtlMs: s.negativeTtlMs,
      offline: remote.offline,
      deriveTag: DERIVE_VERSION,
      fetch: this.fetchPage(remote, remote.base.toString()),
      derive: (raw) => deriveIndex(parseProjectList(raw)),
    });
  }

  private projectDoc(remote: Remote, project: string, forceRefresh = false): Promise<ServedDocument> {
    const s = remote.settings;
    const url = remote.resolve(`${encodeURIComponent(project)}/`);
    const fileBase = `${this.opts.publicUrl()}${MOUNT}/${remote.name}/files/${project}/`;
    const filesUrl = isPypiRemote(s.config) ? (s.config.filesUrl ?? '') : '';
    return this.opts.documents.get(
      {
        key: this.pageKey(project, remote.name),
        ttlMs: s.ttlMs,
        negativeTtlMs: s.negativeTtlMs,
        offline: remote.offline,
        deriveTag: `${DERIVE_VERSION}|${fileBase}|${filesUrl}`,
        fetch: this.fetchPage(remote, url),
        derive: (raw) => deriveProject(parseProjectPage(raw, url, project), { project, fileBase, owns: (u) => this.owns(remote, u) }),
      },
      { forceRefresh },
    );
  }

  private async file(remote: Remote, project: string, file: string, metadata: boolean): Promise<ProtoResponse> {
    await this.opts.policy?.check(remote.name, project, file, () => this.pageJson(project, remote.name));
    return fileResponse(await this.fileBlob(project, file, metadata, remote.name));
  }

  /** The served JSON form of a (normalized) project's page (fetched only when the cached one is not fresh). */
  async pageJson(project: string, remote?: string): Promise<Buffer> {
    const ref = (await this.projectDoc(this.remoteFor(remote), project)).entry.variants?.json;
    return ref ? this.opts.documents.variant(ref) : Buffer.from('{}');
  }

  /** Cache key of a project page. `remote` defaults to the default PyPI remote. */
  pageKey(project: string, remote?: string): string {
    return `pypi:${this.remoteFor(remote).name}:project:${project}`;
  }

  /** Cache key of a distribution file or of its PEP 658 `.metadata` file. */
  fileKey(project: string, file: string, metadata: boolean, remote?: string): string {
    return `pypi:${this.remoteFor(remote).name}:file:${project}/${file}${metadata ? '.metadata' : ''}`;
  }

  /** Whether an entry is committed in the index. */
  isCached(key: string): boolean {
    return this.opts.blobs.peek(key) !== undefined;
  }

  /** The proxied files of a (normalized) project's page: file name → upstream URL and digests. */
  async listedFiles(project: string, refresh = false, remote?: string): Promise<Record<string, FileSource>> {
    const served = await this.projectDoc(this.remoteFor(remote), project, refresh);
    const ref = served.entry.variants?.files;
    if (!ref) return {};
    return JSON.parse((await this.opts.documents.variant(ref)).toString('utf8')) as Record<string, FileSource>;
  }

  /** A listed file (or its `.metadata`) through the blob cache: a HIT, or a fill verified against the page's sha256. */
  async fileBlob(project: string, file: string, metadata: boolean, remoteName?: string): Promise<ServedBlob> {
    const remote = this.remoteFor(remoteName);
    const key = this.fileKey(project, file, metadata, remote.name);
    return this.opts.blobs.serve(key, async () => {
      const src = await this.fileSource(remote, project, file);
      if (metadata && src.m === undefined) throw notFound(`metadata of ${file}`);
      const url = metadata ? metadataUrl(src.u) : src.u;
      if (!this.owns(remote, url)) throw notFound(`${file} of ${project}`);
      const hex = metadata ? src.m : src.sha256;
      const expected: ExpectedDigest[] = hex ? [{ algo: 'sha256', hex }] : [];
      return {
        key,
        expected,
        maxBytes: remote.settings.maxArtifactBytes,
        offline: remote.offline,
        negativeTtlMs: remote.settings.negativeTtlMs,
        meta: { protocol: 'pypi', remote: remote.name, project, file: metadata ? `${file}.metadata` : file },
        fetch: (signal, from) => remote.request({ url, headers: { accept: '*/*', ...resumeHeaders(from) }, signal }),
      };
    });
  }

  /** The upstream URL and digests of a listed file, refreshing the page once if it is not listed. */
  private async fileSource(remote: Remote, project: string, file: string): Promise<FileSource> {
    for (const force of [false, true]) {
      const served = await this.projectDoc(remote, project, force);
      const ref = served.entry.variants?.files;
      if (ref) {
        const map = JSON.parse((await this.opts.documents.variant(ref)).toString('utf8')) as Record<string, FileSource>;
        if (Object.hasOwn(map, file)) return map[file]!;
      }
      if (served.state !== 'HIT') break;
    }
    throw notFound(`${file} of ${project}`);
  }
}

function metadataUrl(url: string): string {
  const u = new URL(url);
  u.pathname += '.metadata';
  return u.toString();
}
