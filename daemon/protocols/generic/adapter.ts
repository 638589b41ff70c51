/**
 * Generic HTTP remotes at `/files/<remote>/<path>`: each path is classified
 * by the remote's layout preset and its user rules (layouts.ts, rules.ts),
 * then served immutable (verified once, kept forever), mutable (HTTP caching
 * rules, core/http-cache.ts) or passed through (`bypass`). Checksums are
 * verified wherever the remote publishes them: Maven sidecars and
 * `x-checksum-*` headers, apt by-hash paths, the Release of a suite for its
 * indexes, and cached Packages indexes for pool files. Redirects (signed
 * release-asset URLs) are followed by the upstream client; only the
 * requested path is ever a key. Errors are plain text.
 */
import { LarderError, notFound } from '../../core/errors.js';
import type { HttpCache, HttpServed } from '../../core/http-cache.js';
import type { HttpCacheRequest } from '../../core/http-exchange.js';
import type { Entry, ExpectedDigest } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse, ProtocolAdapter, RenderedError } from '../adapter.js';
import { AptSupport } from './apt.js';
import { isHttpRemote } from './config.js';
import { checksumHeaders, parseSidecar, SIDECAR_ALGOS } from './checksums.js';
import { fetcher, passthrough, readSmall, toResponse } from './exchange.js';
import type { Classified, Layout } from './layouts.js';
import { fileKey, hashKey, parseFilesPath } from './paths.js';
import { classify, compileRules, type CompiledRule } from './rules.js';

export interface FilesAdapterOptions {
  remotes: Map<string, Remote>;
  cache: HttpCache;
}

/** What one file request needs besides its classification. */
interface Target {
  remote: Remote;
  path: string;
  encoded: string;
  c: Classified;
}

type Extra = Partial<Pick<HttpCacheRequest, 'expected' | 'expectedSize' | 'meta' | 'onCommitted'>> & {
  key?: string;
  /** Encoded upstream path when it differs from the requested one (apt by-hash). */
  fetchPath?: string;
};

const MAX_SIDECAR = 4096;

export class FilesAdapter implements ProtocolAdapter {
  readonly protocol = 'files';
  private readonly apt: AptSupport;
  private readonly rules = new WeakMap<Remote, CompiledRule[]>();

  constructor(private readonly opts: FilesAdapterOptions) {
    this.apt = new AptSupport(opts.cache);
  }

  async handle(req: ProtoRequest): Promise<ProtoResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new LarderError('E_METHOD_NOT_ALLOWED', 'generic remotes are read-only: only GET and HEAD are served');
    }
    const p = parseFilesPath(req.path);
    const { remote, layout, rules } = this.remote(p.remote);
    const c = classify(layout, p.path, rules);
    if (c.policy === 'bypass') return passthrough(req, remote, p.encoded);
    const t: Target = { remote, path: p.path, encoded: p.encoded, c };
    const cached = c.policy === 'immutable' && this.opts.cache.peek(fileKey(remote.name, p.path)) !== undefined;
    switch (c.kind) {
      case 'maven-artifact':
        return this.file(t, cached ? {} : { expected: await this.sidecarDigest(t) });
      case 'apt-release': {
        const suiteDir = c.suiteDir;
        const invalidates = AptSupport.invalidates(p.path);
        return this.file(t, {
          onCommitted: (e, prev) => (invalidates ? this.apt.releaseCommitted(remote.name, suiteDir, e, prev) : undefined),
        });
      }
      case 'apt-index':
        return this.aptIndex(t);
      case 'apt-by-hash': {
        if (!c.algo) return this.file(t, {});
        const name = await this.apt.nameOfHash(remote.name, p.path, c.hex);
        return this.file(t, {
          key: hashKey(remote.name, c.algo, c.hex),
          expected: [{ algo: c.algo, hex: c.hex }],
          meta: name ? AptSupport.packagesMeta(name) : undefined,
          onCommitted: (e) => this.apt.packagesCommitted(remote.name, e),
        });
      }
      case 'apt-pool': {
        const h = cached ? undefined : await this.apt.poolFile(remote.name, p.path);
        return this.file(t, h ? { expected: [{ algo: 'sha256', hex: h.hex }], ...(h.size >= 0 ? { expectedSize: h.size } : {}) } : {});
      }
      case 'file':
        return this.file(t, {});
    }
  }

  renderError(err: LarderError): RenderedError {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
    if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
    const message = err.expose ? err.message : 'internal error';
    return { status: err.status, headers, body: Buffer.from(`${message} (${err.code})\n`) };
  }

  private remote(name: string): { remote: Remote; layout: Layout; rules: CompiledRule[] } {
    const remote = this.opts.remotes.get(name);
    const cfg = remote?.settings.config;
    if (!remote || !cfg || !isHttpRemote(cfg)) throw notFound(`http remote ${name}`);
    return { remote, layout: cfg.layout, rules: this.rulesOf(remote) };
  }

  private rulesOf(remote: Remote): CompiledRule[] {
    let rules = this.rules.get(remote);
    const cfg = remote.settings.config;
    if (!rules) {
      rules = isHttpRemote(cfg) ? compileRules(cfg.rules) : [];
      this.rules.set(remote, rules);
    }
    return rules;
  }

  /** Serves one file through the cache with the target's policy. */
  private async file(t: Target, x: Extra): Promise<ProtoResponse> {
    return toResponse(await this.serve(t, x), t.c.policy === 'immutable');
  }

  private serve(t: Target, x: Extra): Promise<HttpServed> {
    const { remote } = t;
    return this.opts.cache.get({
      key: x.key ?? fileKey(remote.name, t.path),
      label: `${remote.name}/${t.path.slice(0, 200)}`,
      immutable: t.c.policy === 'immutable',
      fallbackTtlMs: t.c.ttlMs ?? remote.settings.ttlMs,
      ...(t.c.maxTtlMs === undefined ? {} : { maxTtlMs: t.c.maxTtlMs }),
      expected: x.expected,
      expectedSize: x.expectedSize,
      // `x-checksum-*` headers are checked whatever the layout (Maven repositories, Artifactory, Nexus send them).
      expectFromResponse: checksumHeaders,
      maxBytes: remote.settings.maxArtifactBytes,
      offline: remote.offline,
      negativeTtlMs: remote.settings.negativeTtlMs,
      meta: { ...x.meta, remote: remote.name, path: t.path.slice(0, 512) },
      onCommitted: x.onCommitted,
      fetch: fetcher(remote, x.fetchPath ?? t.encoded),
    });
  }

  /** The digest a Maven release file's `.sha1` (else `.sha256`) sidecar gives, fetched through the cache. */
  private async sidecarDigest(t: Target): Promise<ExpectedDigest[]> {
    for (const { suffix, algo } of SIDECAR_ALGOS) {
      const path = t.path + suffix;
      const side: Target = { ...t, path, encoded: t.encoded + suffix, c: classify('maven', path, this.rulesOf(t.remote)) };
      try {
        const d = parseSidecar(await readSmall(await this.serve(side, {}), MAX_SIDECAR), algo);
        if (d) return [d];
      } catch (err) {
        if (err instanceof LarderError && err.code === 'E_NOT_FOUND') continue;
        return [];
      }
    }
    return [];
  }

  /** A path-addressed apt index: by the hash the cached Release lists, else by path. */
  private async aptIndex(t: Target): Promise<ProtoResponse> {
    const { remote } = t;
    const ref = await this.apt.resolveIndex(remote.name, t.path);
    const onCommitted = (e: Entry): void => this.apt.packagesCommitted(remote.name, e);
    if (!ref) return this.file(t, { meta: AptSupport.packagesMeta(t.path), onCommitted });
    // The upstream moved on since the cached Release: refresh it on its next use.
    const stale = (err: LarderError | undefined): void => {
      if (err?.code === 'E_INTEGRITY') void this.opts.cache.expire(ref.releaseKey);
    };
    const res = await this.file(
      { ...t, c: { ...t.c, policy: 'immutable' } },
      {
        key: hashKey(remote.name, 'sha256', ref.hex),
        fetchPath: ref.fetchPath,
        expected: [{ algo: 'sha256', hex: ref.hex }],
        expectedSize: ref.size,
        meta: AptSupport.packagesMeta(ref.name),
        onCommitted,
      },
    ).catch((err: unknown) => {
      // A small index is verified before it is answered: the mismatch arrives here, not through done().
      if (err instanceof LarderError) stale(err);
      throw err;
    });
    if (res.body.type === 'blob' && res.cache === 'MISS') {
      void res.body.blob.done().then(stale);
    }
    // Path-addressed: clients must revalidate it, whatever key it was served from.
    return { ...res, headers: { ...res.headers, 'cache-control': 'no-cache' } };
  }
}
