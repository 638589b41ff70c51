/**
 * A configured remote as adapters see it: base URL, credentials, timeouts
 * and TTLs, plus request helpers that add the remote's own credentials and
 * never any client's.
 */
import { LarderError } from '../core/errors.js';
import { outgoingVia } from '../core/hops.js';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from '../core/ports.js';
import { drain } from '../core/upstream-status.js';
import type { RemoteConfig } from './remote-kind.js';
import { parentPrefixes, routeThroughParent, type ParentLink, type PrefixPair } from './parent-route.js';

export interface RemoteSettings {
  name: string;
  config: RemoteConfig;
  ttlMs: number;
  negativeTtlMs: number;
  timeoutMs: number;
  maxArtifactBytes: number;
  /** Global offline switch (the tray's "Go offline"). */
  isOffline(): boolean;
  /** Observes every upstream exchange (health tracking). */
  observe?(ok: boolean, detail: string): void;
  /** Mirror hierarchy: every request goes to this parent Larder first (see parent-route.ts). */
  parent?: ParentLink;
  /** This daemon's `Via` name (`larder-<id>`), added to every upstream request. */
  hop?: string;
}

export class Remote {
  readonly base: URL;
  private readonly parentPairs: PrefixPair[];
  /** `${base.origin}/`. */
  private readonly originSlash: string;

  constructor(
    readonly settings: RemoteSettings,
    private readonly client: UpstreamClient,
  ) {
    const url = settings.config.url;
    this.base = new URL(url.endsWith('/') ? url : `${url}/`);
    this.originSlash = `${this.base.origin}/`;
    this.parentPairs = settings.parent ? parentPrefixes(settings.name, settings.config, this.base, settings.parent) : [];
  }

  get name(): string {
    return this.settings.name;
  }

  get offline(): boolean {
    return this.settings.config.offline === true || this.settings.isOffline();
  }

  /** The Authorization header value for this remote, if it has credentials. */
  authorization(): string | undefined {
    const a = this.settings.config.auth;
    if (!a) return undefined;
    if (a.token) return `Bearer ${a.token}`;
    return `Basic ${Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64')}`;
  }

  /** Resolves a path relative to the base URL; refuses anything that leaves the base's origin. */
  resolve(path: string): string {
    const u = new URL(path, this.base);
    if (u.origin !== this.base.origin) {
      throw new LarderError('E_BAD_REQUEST', `refusing to fetch outside remote ${this.name}`);
    }
    return u.toString();
  }

  /** Whether an absolute URL is on this remote's origin, or its parent's (tarball URLs in metadata). */
  owns(url: string): boolean {
    // Most tarball URLs of a packument are on the remote itself: no parse for those (a URL that starts with
    // "<origin>/" has that origin).
    if (url.startsWith(this.originSlash)) return true;
    try {
      const origin = new URL(url).origin;
      return origin === this.base.origin || origin === this.settings.parent?.base.origin;
    } catch {
      return false;
    }
  }

  /**
   * Sends a request upstream with this remote's credentials (never a
   * client's), or, with a parent configured, to the parent's matching
   * endpoint with the parent's credentials only; a parent failure falls back
   * to the upstream when the parent link allows it. A 508 answer (a loop in
   * the hierarchy) is raised as E_LOOP.
   */
  async request(req: UpstreamRequest & { withAuth?: boolean }): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (this.settings.hop) headers.via = outgoingVia(this.settings.hop);
    const parent = this.settings.parent;
    const route = parent ? routeThroughParent(req.url, this.parentPairs, parent.base) : undefined;
    if (!parent || !route) return this.direct(req, headers);
    const toParent: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'authorization') toParent[k] = v;
    if (parent.authorization) toParent.authorization = parent.authorization;
    try {
      const res = await this.exchange({ ...req, url: route.parent, headers: toParent });
      if (!parent.fallback || route.upstream === undefined || res.status < 500 || res.status === 508) return res;
      drain(res);
    } catch (err) {
      const loop = err instanceof LarderError && err.code === 'E_LOOP';
      if (!parent.fallback || route.upstream === undefined || loop || req.signal?.aborted) throw err;
    }
    return this.direct({ ...req, url: route.upstream }, headers);
  }

  private direct(req: UpstreamRequest & { withAuth?: boolean }, headers: Record<string, string>): Promise<UpstreamResponse> {
    const auth = req.withAuth === false ? undefined : this.authorization();
    if (auth && this.ownsUpstream(req.url)) headers.authorization = auth;
    return this.exchange({ ...req, headers });
  }

  private ownsUpstream(url: string): boolean {
    try {
      return new URL(url).origin === this.base.origin;
    } catch {
      return false;
    }
  }

  private async exchange(req: UpstreamRequest): Promise<UpstreamResponse> {
    const res = await this.send(req);
    if (res.status === 508) {
      drain(res);
      throw new LarderError(
        'E_LOOP',
        `request loop: ${new URL(req.url).origin} refused a request that already passed through it (check the parent settings of the mirror hierarchy)`,
      );
    }
    return res;
  }

  private send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const p = this.client.request({ ...req, timeoutMs: req.timeoutMs ?? this.settings.timeoutMs });
    const observe = this.settings.observe;
    if (observe) {
      p.then(
        (res) => observe(res.status < 500 && res.status !== 429, `HTTP ${res.status}`),
        (err: Error) => observe(false, err.message),
      );
    }
    return p;
  }
}
