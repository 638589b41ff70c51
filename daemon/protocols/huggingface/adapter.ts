/**
 * The Hugging Face Hub adapter at `/hf/` (`/hf/<remote>/` for a named
 * remote), for clients pointed at it with `HF_ENDPOINT`: file downloads by
 * branch, tag or commit (`resolve`), and the API calls the clients make
 * around them (repository info, tree listings, paths-info), answered with
 * the Hub's headers (`X-Repo-Commit`, `X-Linked-Etag`, `X-Linked-Size`) and
 * its error format. Nothing Larder answers mentions Xet.
 */
import type { BlobCache } from '../../core/blob-cache.js';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Clock } from '../../core/ports.js';
import { isUpstreamFailure } from '../../core/upstream-status.js';
import type { CacheState } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { HfApi } from './api.js';
import { renderHubError } from './errors.js';
import { HfFiles, type FileWanted } from './files.js';
import { parseHfPath, type HfRoute } from './paths.js';
import { parsePathsInfo } from './paths-info.js';

export interface HfAdapterOptions {
  remotes: Map<string, Remote>;
  defaultRemote: string | undefined;
  documents: DocumentCache;
  blobs: BlobCache;
  clock: Clock;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const TOKEN = /^Bearer ([\u0021-\u007e]{1,1024})$/i;

/** The worse of two cache states (a STALE revision makes a whole answer STALE). */
function worst(a: CacheState, b: CacheState): CacheState {
  const rank: CacheState[] = ['HIT', 'REVALIDATED', 'MISS', 'BYPASS', 'STALE'];
  return rank.indexOf(a) > rank.indexOf(b) ? a : b;
}

export class HfAdapter implements ProtocolAdapter {
  readonly protocol = 'huggingface';
  readonly api: HfApi;
  readonly files: HfFiles;

  constructor(private readonly opts: HfAdapterOptions) {
    this.api = new HfApi(opts.documents);
    this.files = new HfFiles(this.api, opts.blobs, opts.clock);
  }

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    const route = parseHfPath(req.path, (n) => this.opts.remotes.get(n)?.settings.config.type === 'huggingface');
    const post = route.kind === 'paths-info';
    if (post ? req.method !== 'POST' : req.method !== 'GET' && req.method !== 'HEAD') {
      throw new LarderError('E_METHOD_NOT_ALLOWED', 'Larder is a read-only Hub mirror: push to the Hub itself');
    }
    const remote = this.remoteFor(route.remote);
    return this.route(req, route, remote);
  }

  get documents(): DocumentCache {
    return this.opts.documents;
  }

  renderError(err: LarderError): RenderedError {
    return renderHubError(err);
  }

  remoteFor(name: string | undefined): Remote {
    const remote = this.opts.remotes.get(name ?? this.opts.defaultRemote ?? '');
    if (remote?.settings.config.type !== 'huggingface') throw new LarderError('E_NOT_FOUND', 'no Hugging Face remote is configured');
    return remote;
  }

  private async route(req: ProtoRequest, route: HfRoute, remote: Remote): Promise<ProtoResponse> {
    switch (route.kind) {
      case 'info':
        return this.json(await this.api.info(remote, route.repo, route.rev), 'HIT', false);
      case 'tree': {
        const r = await this.api.resolve(remote, route.repo, route.rev);
        const recursive = req.query.get('recursive') === 'true' || req.query.get('recursive') === '1';
        const expand = req.query.get('expand') === 'true' || req.query.get('expand') === '1';
        const doc = await this.api.tree(remote, route.repo, r.commit, route.path, recursive, expand);
        return this.json(doc, r.state, r.commit === route.rev);
      }
      case 'paths-info': {
        const ask = parsePathsInfo(await req.body(), req.headers['content-type']);
        const r = await this.api.resolve(remote, route.repo, route.rev);
        try {
          return await this.json(await this.api.pathsInfo(remote, route.repo, r.commit, ask.paths, ask.expand), r.state, false);
        } catch (err) {
          if (!(err instanceof LarderError) || !isUpstreamFailure(err)) throw err;
          // The upstream is unreachable: what the cached listings say of these paths.
          const data = await this.api.pathsFromTrees(remote, route.repo, r.commit, ask.paths).catch(() => Promise.reject(err));
          return {
            status: 200,
            headers: { 'content-type': 'application/json; charset=utf-8' },
            body: { type: 'buffer', data },
            cache: 'STALE',
          };
        }
      }
      case 'resolve':
        return this.resolveFile(req, route, remote);
    }
  }

  private async json(doc: ServedDocument, revision: CacheState, immutable: boolean): Promise<ProtoResponse> {
    const ref = doc.entry.variants?.json;
    if (!ref) throw new LarderError('E_INTERNAL', `${doc.entry.key} has no JSON form`, { expose: false });
    return {
      status: 200,
      headers: { 'content-type': ref.mediaType, etag: ref.etag, 'cache-control': immutable ? IMMUTABLE : 'no-cache' },
      body: { type: 'buffer', data: await this.opts.documents.variant(ref) },
      cache: worst(revision, doc.state),
    };
  }

  private async resolveFile(req: ProtoRequest, route: Extract<HfRoute, { kind: 'resolve' }>, remote: Remote): Promise<ProtoResponse> {
    const r = await this.api.resolve(remote, route.repo, route.rev);
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' ? TOKEN.exec(auth.trim())?.[1] : undefined;
    const wanted: FileWanted = { remote, repo: route.repo, commit: r.commit, path: route.path, token, gated: r.gated };
    const { blob, facts } = await this.files.serve(wanted);
    const etag = `"${facts.lfs ?? facts.oid}"`;
    const type = blob.mediaType && !/xet/i.test(blob.mediaType) ? blob.mediaType : 'application/octet-stream';
    const headers: Record<string, string> = {
      'content-type': type,
      'x-repo-commit': r.commit,
      etag,
      'cache-control': facts.gated ? 'private, no-cache' : r.commit === route.rev ? IMMUTABLE : 'no-cache',
      vary: 'Authorization',
    };
    if (facts.lfs) {
      headers['x-linked-etag'] = etag;
      headers['x-linked-size'] = String(facts.size);
    }
    return { status: 200, headers, body: { type: 'blob', blob }, cache: worst(r.state, blob.state) };
  }
}
